"""Who talks to whom, from the routes' steps: the edges strict NetworkPolicies allow
and the work each stand-in does per route.

A route's top-level steps are the client's, through the Istio ingress gateway
(`GATEWAY`): `call: chat-api`, `stream: sse-gateway`; a top-level store or
publish step runs in the service the route's VirtualService enters. `call`
steps run their sub-steps inside the callee; `publish` steps run theirs later
inside the queue's consumer; `emit` passes through the Redis stores in `via`
(every service on the way is a Redis client) and the `via` services.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.model.steps import (
    BranchStep,
    CallStep,
    EmitStep,
    PublishStep,
    StepBase,
    StoreStep,
    StreamStep,
)
from twin.model.steps import walk as steps_walk
from twin.model.topology import Route, Topology

GATEWAY = "gateway"
CLIENT_SIDE = (CallStep, StreamStep, BranchStep)
"""A route's own steps of these kinds are the client's; the others run in its entry service."""


@dataclass
class CallGraph:
    edges: set[tuple[str, str]] = field(default_factory=set)
    """(caller, callee) by model name; callee is a service, worker or store."""
    work: dict[tuple[str, str], list[StepBase]] = field(default_factory=dict)
    """(workload, route) -> the steps that workload runs for one request of the route."""

    def callers(self, callee: str) -> set[str]:
        return {a for a, b in self.edges if b == callee}


def entry_services(topo: Topology, route: Route) -> list[str]:
    """The services the route's VirtualService sends traffic to."""
    names: list[str] = []
    if topo.mesh is not None:
        for vs in topo.mesh.virtual_services:
            if vs.name == route.entry:
                for http in vs.http:
                    for dest in http.route:
                        if dest.host not in names and topo.service(dest.host) is not None:
                            names.append(dest.host)
    if not names and topo.service(route.entry) is not None:
        names.append(route.entry)
    return names


def build(topo: Topology) -> CallGraph:
    graph = CallGraph()
    for route in topo.routes:
        entries = entry_services(topo, route)
        for entry in entries:
            graph.edges.add((GATEWAY, entry))
        client_side = [s for s in route.steps if isinstance(s, CLIENT_SIDE)]
        in_entry = [s for s in route.steps if not isinstance(s, CLIENT_SIDE)]
        _walk(topo, graph, route.name, GATEWAY, client_side)
        if in_entry and entries:
            _walk(topo, graph, route.name, entries[0], in_entry)
    for wl in topo.workloads:
        for client in wl.clients:
            graph.edges.add((wl.name, client.store))
    for wk in topo.workers:  # a consumer connects to its broker
        found = topo.queue(wk.queue)
        if found is not None:
            graph.edges.add((wk.name, found[0].name))
    return graph


def _walk(topo: Topology, graph: CallGraph, route: str, who: str, steps: list[StepBase]) -> None:
    """Collect the edges of `steps` run by `who`, and record each workload's own steps the
    first time it serves this route (a call's in the callee, a publish's in the consumer;
    a branch's and a fallback's stay with their step, which records them)."""
    runs: dict[tuple, tuple[str, bool]] = {}  # (a step's path, slot) -> who runs it, record?

    def serves(name: str) -> bool:
        """Record this workload's steps for the route: only the first time it is entered."""
        if (name, route) in graph.work:
            return False
        graph.work[(name, route)] = []
        return True

    top = (who, serves(who))
    walk = steps_walk(topo, steps)
    for step, ctx in walk:
        runs_it = top if ctx.parent is None else runs.get((ctx.parent.path, ctx.slot))
        if runs_it is None:  # a publish nobody consumes, or a `call: X` opening X's own route
            walk.prune()
            continue
        me, record = runs_it
        mine = graph.work[(me, route)] if record else []
        runs[(ctx.path, "fallback")] = (me, False)
        if isinstance(step, CallStep) and step.call == me:  # `call: X` opening X's own route
            mine.extend(step.steps)
            runs[(ctx.path, "steps")] = (me, False)
            del runs[(ctx.path, "fallback")]
            continue
        mine.append(step)
        if isinstance(step, CallStep):
            graph.edges.add((me, step.call))
            runs[(ctx.path, "steps")] = (step.call, serves(step.call))
        elif isinstance(step, StoreStep):
            graph.edges.add((me, step.store))
        elif isinstance(step, PublishStep):
            found = topo.queue(step.publish)
            if found is not None:
                graph.edges.add((me, found[0].name))
            consumer = topo.consumer(step.publish)
            if consumer is not None:
                runs[(ctx.path, "steps")] = (consumer.name, serves(consumer.name))
        elif isinstance(step, EmitStep):
            via_stores = [v for v in step.via if topo.store(v) is not None]
            hops = [me, *(v for v in step.via if topo.store(v) is None), step.emit]
            if via_stores:
                graph.edges.update((h, s) for h in hops for s in via_stores)
            else:
                graph.edges.update((a, b) for a, b in zip(hops, hops[1:], strict=False) if a != b)
        elif isinstance(step, StreamStep) and step.stream != me:
            graph.edges.add((me, step.stream))
        elif isinstance(step, BranchStep):
            runs[(ctx.path, "branch")] = (me, False)
