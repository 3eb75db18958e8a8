"""What depends on what: every component a node, an edge u -> v when u needs v.

Edges carry how (`calls`, `read`, `publishes`, `consumes`, `runs on`, ...).
Routes need the gateway and the steps they take; workers need their queue;
queues need their broker; pods need the nodes the placement puts them on (a
deterministic fit, see twin.graph.pods).
"""

from __future__ import annotations

import networkx as nx

from twin.graph.naming import components, key, target_key
from twin.graph.pods import Schedule, schedule
from twin.model.steps import (
    CallStep,
    EmitStep,
    ExternalStep,
    PublishStep,
    StepBase,
    StoreStep,
    StreamStep,
    route_walk,
)
from twin.model.topology import Topology


def needs(topo: Topology, s: StepBase) -> list[tuple[str, str]]:
    """The components one step needs, as (key, how), in the order it meets them."""
    if isinstance(s, CallStep):
        return [(key("service", s.call), "calls")]
    if isinstance(s, StoreStep):
        return [(key("store", s.store), s.op or "uses")]
    if isinstance(s, ExternalStep):
        return [(key("external", s.external), "calls")]
    if isinstance(s, StreamStep):
        return [(key("service", s.stream), "streams")]
    if isinstance(s, PublishStep):
        return [(key("queue", s.publish), "publishes")]
    if isinstance(s, EmitStep):
        return [*[(target_key(topo, v), "emits through") for v in s.via],
                (key("service", s.emit), "emits to")]
    return []  # a branch needs only what its choices do


def dependency_graph(topo: Topology, placed: Schedule | None = None) -> nx.DiGraph:
    """Every component as a node; u -> v when u needs v (attribute `how`)."""
    g = nx.DiGraph()
    for c in components(topo):
        if c.kind != "namespace":
            g.add_node(c.key, kind=c.kind, name=c.name)
    gateway = key("gateway", topo.mesh.gateway.name) if topo.mesh else None
    if topo.mesh is not None and topo.mesh.gateway.workload in {p.name for p in topo.platform}:
        g.add_edge(gateway, key("platform", topo.mesh.gateway.workload), how="served by")
    for r in topo.routes:
        if gateway:
            g.add_edge(key("route", r.name), gateway, how="enters through")
        walk = route_walk(topo, r)
        for s, ctx in walk:
            if ctx.runs_in is None:  # after a publish nobody consumes
                walk.prune()
                continue
            for target, how in needs(topo, s):
                g.add_edge(ctx.runs_in, target, how=how)
    for w in topo.workloads:
        kind = "service" if topo.service(w.name) is not None else "worker"
        for c in w.clients:
            if not g.has_edge(key(kind, w.name), key("store", c.store)):
                g.add_edge(key(kind, w.name), key("store", c.store),
                           how=f"client via {c.via}")
    for w in topo.workers:
        g.add_edge(key("worker", w.name), key("queue", w.queue), how="consumes")
    for s in topo.stores:
        for q in getattr(s, "queues", []):
            g.add_edge(key("queue", q.name), key("store", s.name), how="lives in")
    placed = placed or schedule(topo)
    for pool in topo.pools:
        for n in pool.nodes:
            g.add_edge(key("node", n.name), key("pool", pool.name), how="member of")
    runs: dict[tuple[str, str], int] = {}
    for pod, node in placed.where.items():
        if node is not None:
            k = (placed.pods[pod].component, key("node", node))
            runs[k] = runs.get(k, 0) + 1
    for (comp, node), n in runs.items():
        g.add_edge(comp, node, how="runs on", pods=n)
    return g
