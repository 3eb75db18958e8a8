"""Each route's call path: a tree of hops from the gateway to the last store write.

A hop is a component and how the request meets it (`call`, `write`, `publish`,
`consume`, `emit`, ...), with whether the caller waits for it (`sync`) and the
share of requests that reach it (branch probabilities multiplied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.graph.naming import key, resolve, target_key
from twin.model.steps import (
    BranchStep,
    CallStep,
    EmitStep,
    ExternalStep,
    PublishStep,
    StepBase,
    StepContext,
    StoreStep,
    StreamStep,
    route_walk,
)
from twin.model.topology import Route, Topology
from twin.model.units import format_duration


@dataclass
class Hop:
    """One step of a route's call path, with the steps it runs inside it."""

    component: str
    how: str
    sync: bool = True
    on_failure: str = "fail"
    share: float = 1.0
    note: str = ""
    children: list[Hop] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"component": self.component, "how": self.how, "sync": self.sync}
        if self.on_failure != "fail":
            out["on_failure"] = self.on_failure
        if self.share < 1.0:
            out["share"] = round(self.share, 6)
        if self.note:
            out["note"] = self.note
        if self.children:
            out["steps"] = [c.to_dict() for c in self.children]
        return out


def _entry_note(topo: Topology, route: Route) -> str:
    if topo.mesh is None:
        return route.entry
    for vs in topo.mesh.virtual_services:
        if vs.name == route.entry:
            dests = [d for http in vs.http for d in http.route]
            total = sum(d.weight for d in dests) or 1
            parts = [f"{d.host}{' ' + d.subset if d.subset else ''} {100 * d.weight / total:g}%"
                     for d in dests]
            return f"VirtualService {vs.name}: " + ", ".join(parts)
    return route.entry


def call_path(topo: Topology, route: Route | str) -> Hop:
    """The route as a tree of hops, from the gateway down to the last store write."""
    r = topo.route(route) if isinstance(route, str) else route
    if r is None:
        resolve(topo, f"route/{route}")  # raises with the candidates
        raise AssertionError
    root = Hop(key("route", r.name), "route", sync=not r.asynchronous,  # `(async)` in text
               note=format_rate(r.rate))
    gw = Hop(key("gateway", topo.mesh.gateway.name) if topo.mesh else key("route", r.name),
             "enter", note=_entry_note(topo, r))
    root.children.append(gw)
    gw.children = _hops(topo, r)
    return root


def format_rate(rate: float) -> str:
    return f"{rate:g}/s" if rate >= 1 else f"{rate * 60:g}/m"


def _step_hops(topo: Topology, s: StepBase, ctx: StepContext) -> list[Hop]:
    """The hops one step adds where it stands: most one, a branch one per choice,
    an emit the first of its relay chain."""
    common = {"sync": ctx.sync, "on_failure": s.on_failure, "share": ctx.share}
    if isinstance(s, CallStep):
        return [Hop(key("service", s.call), "call", **common)]
    if isinstance(s, StoreStep):
        return [Hop(key("store", s.store), s.op or "use", **common)]
    if isinstance(s, ExternalStep):
        return [Hop(key("external", s.external), "external", **common)]
    if isinstance(s, StreamStep):
        note = f"SSE, {format_duration(s.duration.expected)} mean" if s.duration else "SSE"
        return [Hop(key("service", s.stream), "stream", **common, note=note)]
    if isinstance(s, PublishStep):
        hop = Hop(key("queue", s.publish), "publish", **common)
        worker = topo.consumer(s.publish)
        if worker is not None:
            hop.children.append(Hop(key("worker", worker.name), "consume", sync=False,
                                    share=ctx.share))
        return [hop]
    if isinstance(s, EmitStep):
        chain = [*[target_key(topo, v) for v in s.via], key("service", s.emit)]
        top = Hop(chain[0], "emit", **common, note=f"{s.count} events")
        cur = top
        for k in chain[1:]:
            nxt = Hop(k, "relay", sync=ctx.sync, share=ctx.share)
            cur.children.append(nxt)
            cur = nxt
        return [top]
    assert isinstance(s, BranchStep)
    return [Hop("branch", "branch", sync=ctx.sync, share=ctx.share * b.probability,
                note=f"{100 * b.probability:g}% of requests") for b in s.branch]


def _hops(topo: Topology, route: Route) -> list[Hop]:
    """The route's steps as hops: a call's inner steps under its hop, a publish's under
    the consumer, a branch choice's under its own hop, and a fallback under a `fallback`
    hop after the step's own inner ones."""
    top: list[Hop] = []
    made: dict[tuple, list[Hop]] = {}  # a step's path -> its hops
    under: dict[tuple, list[Hop]] = {}  # (a step's path, slot, choice) -> where inner hops go
    walk = route_walk(topo, route)
    for s, ctx in walk:
        if ctx.runs_in is None:  # after a publish nobody consumes: nothing runs it
            walk.prune()
            continue
        hops = _step_hops(topo, s, ctx)
        made[ctx.path] = hops
        if isinstance(s, CallStep):
            under[(ctx.path, "steps", None)] = hops[0].children
        elif isinstance(s, PublishStep) and hops[0].children:
            under[(ctx.path, "steps", None)] = hops[0].children[0].children
        elif isinstance(s, BranchStep):
            for bi, h in enumerate(hops):
                under[(ctx.path, "branch", bi)] = h.children
        if ctx.parent is None:
            top.extend(hops)
            continue
        slot = (ctx.parent.path, ctx.slot, ctx.choice)
        if slot not in under:  # the first fallback step: its hop goes on the step's last one
            fallback = Hop("fallback", "fallback", sync=ctx.sync, share=ctx.share)
            made[ctx.parent.path][-1].children.append(fallback)
            under[slot] = fallback.children
        under[slot].extend(hops)
    return top
