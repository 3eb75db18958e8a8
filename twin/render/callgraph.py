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

from twin.model.topology import Route, Step, Topology

GATEWAY = "gateway"


@dataclass
class CallGraph:
    edges: set[tuple[str, str]] = field(default_factory=set)
    """(caller, callee) by model name; callee is a service, worker or store."""
    work: dict[tuple[str, str], list[Step]] = field(default_factory=dict)
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
        client_side = [s for s in route.steps if s.call or s.stream or s.branch]
        in_entry = [s for s in route.steps if not (s.call or s.stream or s.branch)]
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


def _walk(
    topo: Topology, graph: CallGraph, route: str, ctx: str, steps: list[Step], record: bool = True
) -> None:
    """Collect edges; record `ctx`'s own steps (the first time it serves this route)."""
    key = (ctx, route)
    if record and key in graph.work:
        record = False
    mine = graph.work.setdefault(key, []) if record else []

    def enter(callee: str, sub: list[Step]) -> None:
        _walk(topo, graph, route, callee, sub, record=(callee, route) not in graph.work)

    for step in steps:
        if step.call is not None and step.call == ctx:  # `call: X` opening X's own route
            _walk(topo, graph, route, ctx, step.steps, record=False)
            mine.extend(step.steps)
            continue
        mine.append(step)
        if step.call is not None:
            graph.edges.add((ctx, step.call))
            enter(step.call, step.steps)
        elif step.store is not None:
            graph.edges.add((ctx, step.store))
        elif step.publish is not None:
            found = topo.queue(step.publish)
            if found is not None:
                graph.edges.add((ctx, found[0].name))
            consumer = topo.consumer(step.publish)
            if consumer is not None:
                enter(consumer.name, step.steps)
        elif step.emit is not None:
            via_stores = [v for v in step.via if topo.store(v) is not None]
            hops = [ctx, *(v for v in step.via if topo.store(v) is None), step.emit]
            if via_stores:
                graph.edges.update((h, s) for h in hops for s in via_stores)
            else:
                graph.edges.update((a, b) for a, b in zip(hops, hops[1:], strict=False) if a != b)
        elif step.stream is not None and step.stream != ctx:
            graph.edges.add((ctx, step.stream))
        elif step.branch is not None:
            for branch in step.branch:
                _walk(topo, graph, route, ctx, branch.steps, record=False)
        if step.fallback:
            _walk(topo, graph, route, ctx, step.fallback, record=False)
