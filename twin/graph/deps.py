"""What depends on what: the dependency graph, each route's call path, blast radius.

The graph's nodes are component keys (`service/chat-api`, `store/redis`, ...);
an edge u -> v says "u needs v" and carries how (`calls`, `read`, `publish`,
`consumes`, `runs-on`, ...). Routes need the gateway and the steps they take;
workers need their queue; queues need their broker; pods need the nodes the
placement puts them on (a deterministic fit, see twin.graph.pods).

The blast radius of a component says which routes FAIL, which DEGRADE (a step
with on_failure degrade or fallback), which are accepted but whose result is
DELAYED (the consumer is down, messages wait in the queue) or LOST (a step of
the asynchronous part fails), and which data stores lose every copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from twin.graph.naming import Component, components, resolve
from twin.graph.placement import eligible
from twin.graph.pods import Schedule, schedule
from twin.model.topology import Route, Step, Topology
from twin.model.units import format_duration

OUTCOMES = ("fail", "lost", "degrade", "delayed")
"""Route outcomes, worst first."""


def key(kind: str, name: str) -> str:
    return f"{kind}/{name}"


def _target(topo: Topology, name: str) -> str:
    """A `via` or step target name as a component key."""
    if topo.service(name) is not None:
        return key("service", name)
    if topo.store(name) is not None:
        return key("store", name)
    if topo.worker(name) is not None:
        return key("worker", name)
    return key("external", name)


# ---------------------------------------------------------------- call paths


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
    gw.children = _hops(topo, r.steps, sync=True, share=1.0)
    return root


def format_rate(rate: float) -> str:
    return f"{rate:g}/s" if rate >= 1 else f"{rate * 60:g}/m"


def _hops(topo: Topology, steps: list[Step], sync: bool, share: float) -> list[Hop]:
    out: list[Hop] = []
    for s in steps:
        common = {"sync": sync, "on_failure": s.on_failure, "share": share}
        if s.call is not None:
            out.append(Hop(key("service", s.call), "call", **common,
                           children=_hops(topo, s.steps, sync, share)))
        elif s.store is not None:
            out.append(Hop(key("store", s.store), s.op or "use", **common))
        elif s.external is not None:
            out.append(Hop(key("external", s.external), "external", **common))
        elif s.stream is not None:
            note = f"SSE, {format_duration(s.duration.expected)} mean" if s.duration else "SSE"
            out.append(Hop(key("service", s.stream), "stream", **common, note=note))
        elif s.publish is not None:
            worker = topo.consumer(s.publish)
            hop = Hop(key("queue", s.publish), "publish", **common)
            if worker is not None:
                hop.children.append(Hop(key("worker", worker.name), "consume", sync=False,
                                        share=share,
                                        children=_hops(topo, s.steps, False, share)))
            out.append(hop)
        elif s.emit is not None:
            chain = [*[_target(topo, v) for v in s.via], key("service", s.emit)]
            top = Hop(chain[0], "emit", **common, note=f"{s.count} events")
            cur = top
            for k in chain[1:]:
                nxt = Hop(k, "relay", sync=sync, share=share)
                cur.children.append(nxt)
                cur = nxt
            out.append(top)
        elif s.branch is not None:
            for b in s.branch:
                out.append(Hop("branch", "branch", sync=sync, share=share * b.probability,
                               note=f"{100 * b.probability:g}% of requests",
                               children=_hops(topo, b.steps, sync, share * b.probability)))
        if s.fallback:
            out[-1].children.append(Hop("fallback", "fallback", sync=sync, share=share,
                                        children=_hops(topo, s.fallback, sync, share)))
    return out


def render_path(hop: Hop, indent: int = 0) -> list[str]:
    """A call path as indented text lines."""
    bits = [hop.component] if hop.component not in ("branch", "fallback") else [hop.how]
    if hop.how not in ("route", "branch", "fallback"):
        bits.append(hop.how)
    if not hop.sync and hop.how != "consume":
        bits.append("(async)")
    if hop.on_failure != "fail":
        bits.append(f"[on failure: {hop.on_failure}]")
    if hop.note:
        bits.append(f"- {hop.note}")
    lines = ["  " * indent + " ".join(b for b in bits if b)]
    for child in hop.children:
        lines += render_path(child, indent + 1)
    return lines


# ---------------------------------------------------------- dependency graph


def _step_edges(topo: Topology, g: nx.DiGraph, ctx: str, steps: list[Step]) -> None:
    for s in steps:
        if s.call is not None:
            g.add_edge(ctx, key("service", s.call), how="calls")
            _step_edges(topo, g, key("service", s.call), s.steps)
        elif s.store is not None:
            g.add_edge(ctx, key("store", s.store), how=s.op or "uses")
        elif s.external is not None:
            g.add_edge(ctx, key("external", s.external), how="calls")
        elif s.stream is not None:
            g.add_edge(ctx, key("service", s.stream), how="streams")
        elif s.publish is not None:
            g.add_edge(ctx, key("queue", s.publish), how="publishes")
            worker = topo.consumer(s.publish)
            if worker is not None:
                _step_edges(topo, g, key("worker", worker.name), s.steps)
        elif s.emit is not None:
            for v in s.via:
                g.add_edge(ctx, _target(topo, v), how="emits through")
            g.add_edge(ctx, key("service", s.emit), how="emits to")
        elif s.branch is not None:
            for b in s.branch:
                _step_edges(topo, g, ctx, b.steps)
        _step_edges(topo, g, ctx, s.fallback)


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
        _step_edges(topo, g, key("route", r.name), r.steps)
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


# -------------------------------------------------------------- blast radius


@dataclass
class Impact:
    """What a down component does to one route."""

    route: str
    outcome: str  # fail, lost, degrade, delayed
    share: float
    cause: str
    where: str
    until: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "outcome": self.outcome, "share": round(self.share, 6),
                "cause": self.cause, "where": self.where, "until": self.until}


@dataclass
class StoreLoss:
    store: str
    copies: int
    data: str

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "copies": self.copies, "data": self.data}


@dataclass
class BlastRadius:
    target: Component
    down: dict[str, str] = field(default_factory=dict)
    """Component key -> why it is down and until when."""
    reduced: dict[str, str] = field(default_factory=dict)
    """Components that lose some pods but keep serving."""
    impacts: list[Impact] = field(default_factory=list)
    stores_lost: list[StoreLoss] = field(default_factory=list)
    pods: list[dict[str, Any]] = field(default_factory=list)
    """For node and pool targets: each pod lost and what becomes of it."""
    unaffected: list[str] = field(default_factory=list)

    def verdict(self, route: str) -> Impact | None:
        """The worst impact on a route (fail, then lost, degrade, delayed; larger share first)."""
        mine = [i for i in self.impacts if i.route == route]
        return min(mine, key=lambda i: (OUTCOMES.index(i.outcome), -i.share), default=None)

    def routes(self, outcome: str) -> list[str]:
        """Routes whose worst impact is this outcome, in file order."""
        seen: list[str] = []
        for i in self.impacts:
            if i.route not in seen and self.verdict(i.route).outcome == outcome:
                seen.append(i.route)
        return seen

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target.key,
            "down": self.down,
            "reduced": self.reduced,
            "routes": {o: self.routes(o) for o in OUTCOMES},
            "unaffected": self.unaffected,
            "impacts": [i.to_dict() for i in self.impacts],
            "stores_lost": [s.to_dict() for s in self.stores_lost],
            "pods": self.pods,
        }


def blast_radius(topo: Topology, name: str) -> BlastRadius:
    """What goes down with `name`, and what that does to every route and store."""
    target = resolve(topo, name)
    br = BlastRadius(target)
    if target.kind in ("node", "pool"):
        _node_loss(topo, br)
    elif target.kind == "namespace":
        for c in components(topo):
            if getattr(c.obj, "namespace", None) == target.name and c.kind != "namespace":
                br.down[c.key] = f"in namespace {target.name}"
    elif target.kind == "route":
        br.down[target.key] = "down"
        br.impacts.append(Impact(target.name, "fail", 1.0, target.key, "the route itself"))
    else:
        br.down[target.key] = "down"
    _derived(topo, br)
    for r in topo.routes:
        if target.kind != "route":
            br.impacts += _route_impacts(topo, r, br.down)
    hit = {i.route for i in br.impacts}
    br.unaffected = [r.name for r in topo.routes if r.name not in hit]
    return br


def _derived(topo: Topology, br: BlastRadius) -> None:
    """Queues die with their broker, the gateway with the pods that serve it."""
    for s in topo.stores:
        if key("store", s.name) in br.down:
            for q in getattr(s, "queues", []):
                br.down.setdefault(key("queue", q.name), f"its broker store/{s.name} is down")
    if topo.mesh is not None:
        serving = key("platform", topo.mesh.gateway.workload)
        if serving in br.down:
            br.down.setdefault(key("gateway", topo.mesh.gateway.name),
                               f"{serving} serves it: {br.down[serving]}")


def _node_loss(topo: Topology, br: BlastRadius) -> None:
    t = br.target
    lost = frozenset(n.name for n in t.obj.nodes) if t.kind == "pool" else frozenset({t.name})
    for n in sorted(lost):
        br.down[key("node", n)] = "lost"
    before = schedule(topo)
    after = schedule(topo, lost=lost, fixed=before)
    delay = topo.cluster.grace_period + topo.cluster.default_toleration_seconds
    groups: dict[str, list[str]] = {}
    for pod_name, node in before.where.items():
        pod = before.pods[pod_name]
        if pod.controller == "DaemonSet":
            continue
        if node in lost or node is None:
            groups.setdefault(pod.component, []).append(pod_name)
    for comp, names in groups.items():
        total = before.of(comp)
        fates: list[tuple[str, str]] = []
        on_node = pending = 0
        for p in names:
            pod = before.pods[p]
            node = before.where[p]
            others = [n for n in after.nodes if eligible(pod.placement, n)]
            if node is None:
                homes = {n.name for n in before.nodes if eligible(pod.placement, n)}
                if not homes or not homes <= lost:
                    continue  # Pending for want of room elsewhere: this loss changes nothing
                pending += 1
                fate, until = "was Pending (no room); every node it may use is lost", \
                    "until the node returns"
            elif pod.controller == "StatefulSet":
                on_node += 1
                fate, until = "not replaced by itself (StatefulSet)", "until the node returns"
            elif not others:
                on_node += 1
                fate, until = "Pending: no other eligible node", "until the node returns"
            elif after.where.get(p) is None:
                on_node += 1
                fate, until = "Pending: no room on the eligible nodes", "until room is made"
            else:
                on_node += 1
                fate = f"rescheduled to {after.where[p]}"
                until = f"about {format_duration(delay)} (grace + tolerationSeconds) + start-up"
            fates.append((until, fate))
            br.pods.append({"pod": p, "component": comp, "node": node,
                            "controller": pod.controller, "fate": fate})
        if not fates:
            continue
        running = [p for p in total if before.where[p.name] not in lost and
                   before.where[p.name] is not None]
        untils = sorted({u for u, _ in fates})
        where = ", ".join(sorted(lost))
        parts = [f"{on_node} of {len(total)} pods on {where}"] if on_node else []
        if pending:
            parts.append(f"{pending} of {len(total)} Pending (no room) with only {where} to go to")
        why = ", ".join(parts)
        if running:
            br.reduced[comp] = f"{why}; {len(running)} still running"
        else:
            worst = next((u for u in untils if "node returns" in u), untils[0])
            br.down[comp] = f"{why}; down {worst}"
        if comp.startswith("store/") and not running:
            store = topo.store(comp.split("/", 1)[1])
            if store.persistence.enabled:
                sc = store.persistence.storage_class or "default"
                data = (f"data only on its PersistentVolumes ({sc}): kept if the volumes survive "
                        "the node, unreachable until the pods run again")
            else:
                data = "no persistence: the data is gone"
            br.stores_lost.append(StoreLoss(store.name, len(total), data))


def _step_targets(topo: Topology, s: Step) -> list[str]:
    if s.call is not None:
        return [key("service", s.call)]
    if s.store is not None:
        return [key("store", s.store)]
    if s.external is not None:
        return [key("external", s.external)]
    if s.stream is not None:
        return [key("service", s.stream)]
    if s.publish is not None:
        found = topo.queue(s.publish)
        return [key("queue", s.publish)] + ([key("store", found[0].name)] if found else [])
    if s.emit is not None:
        return [*[_target(topo, v) for v in s.via], key("service", s.emit)]
    return []


def _until(why: str) -> str:
    return why.split("; down ", 1)[1] if "; down " in why else ""


def _route_impacts(topo: Topology, r: Route, down: dict[str, str]) -> list[Impact]:
    out: list[Impact] = []
    if topo.mesh is not None:
        gw = key("gateway", topo.mesh.gateway.name)
        if gw in down:  # the steps are walked too: what else stays broken once it is back
            out.append(Impact(r.name, "fail", 1.0, gw, "every request enters through it",
                              _until(down[gw])))
    _walk(topo, r, r.steps, down, out, sync=True, share=1.0, ctx=key("route", r.name))
    return out


def _walk(topo: Topology, r: Route, steps: list[Step], down: dict[str, str], out: list[Impact],
          sync: bool, share: float, ctx: str) -> bool:
    """Record impacts along the steps; False when the request (or task) stops here."""
    for s in steps:
        hit = next((t for t in _step_targets(topo, s) if t in down), None)
        if hit is not None:
            where = f"{s.target_field} step in {ctx}"
            failed = "fail" if sync else "lost"
            if s.on_failure == "degrade":
                out.append(Impact(r.name, "degrade", share, hit, where + " (on_failure: degrade)",
                                  _until(down[hit])))
                continue
            if s.on_failure == "fallback":
                sub: list[Impact] = []
                ok = _walk(topo, r, s.fallback, down, sub, sync, share, ctx)
                out.append(Impact(r.name, "degrade", share, hit, where + " (falls back)",
                                  _until(down[hit])))
                out.extend(sub)
                if not ok:
                    return False
                continue
            out.append(Impact(r.name, failed, share, hit, where, _until(down[hit])))
            return False
        if s.call is not None:
            if not _walk(topo, r, s.steps, down, out, sync, share, key("service", s.call)):
                return False
        elif s.publish is not None:
            worker = topo.consumer(s.publish)
            if worker is None:
                continue
            wkey = key("worker", worker.name)
            if wkey in down:
                out.append(Impact(r.name, "delayed", share, wkey,
                                  f"messages wait in queue/{s.publish} for its consumer",
                                  _until(down[wkey])))
            else:
                _walk(topo, r, s.steps, down, out, False, share, wkey)
        elif s.branch is not None:
            for b in s.branch:
                if not _walk(topo, r, b.steps, down, out, sync, share * b.probability, ctx):
                    pass  # only this branch's share stops; the rest go on
    return True


def render_blast(br: BlastRadius, topo: Topology) -> list[str]:
    """The blast radius as text lines for a terminal."""
    t = br.target
    lines = [f"Blast radius of {t.key}", ""]
    lines.append("Down:")
    for comp, why in br.down.items():
        lines.append(f"  {comp}: {why}")
    if br.reduced:
        lines.append("Reduced (some pods lost, still serving):")
        for comp, why in br.reduced.items():
            lines.append(f"  {comp}: {why}")
    if br.pods:
        lines.append("Pods on the lost node(s):")
        for p in br.pods:
            on = f"on {p['node']}" if p["node"] else "(Pending)"
            lines.append(f"  {p['pod']} ({p['component']}, {p['controller']}) {on}: "
                         f"{p['fate']}")
    headings = {
        "fail": "Routes that FAIL",
        "lost": "Routes accepted, result LOST",
        "degrade": "Routes that DEGRADE",
        "delayed": "Routes accepted, result DELAYED",
    }
    for outcome in OUTCOMES:
        names = br.routes(outcome)
        lines.append("")
        lines.append(f"{headings[outcome]}: {', '.join(names) if names else 'none'}")
        for route in names:
            for i in br.impacts:
                if i.route != route:
                    continue
                pct = f"{100 * i.share:g}% of requests"
                until = f"; {i.until}" if i.until else ""
                lines.append(f"  {route}: {i.outcome} ({pct}): {i.cause}, {i.where}{until}")
    lines.append("")
    lines.append(f"Routes unaffected: {', '.join(br.unaffected) if br.unaffected else 'none'}")
    lines.append("")
    if br.stores_lost:
        lines.append("Data stores that lose ALL their copies:")
        for s in br.stores_lost:
            lines.append(f"  store/{s.store}: all {s.copies} cop{'y' if s.copies == 1 else 'ies'}; "
                         f"{s.data}")
    elif t.kind in ("node", "pool"):
        lines.append("Data stores that lose ALL their copies: none")
    return lines


# ----------------------------------------------------------------- rendering


_SHAPES = {"route": "oval", "service": "box", "worker": "box", "store": "cylinder",
           "queue": "cds", "external": "octagon", "node": "box3d", "pool": "folder",
           "gateway": "diamond", "platform": "component", "daemonset": "component"}


def to_dot(g: nx.DiGraph, blast: BlastRadius | None = None) -> str:
    """Graphviz DOT; with a blast radius, down components red, hurt routes by outcome."""
    colors = {"fail": "red", "lost": "firebrick", "degrade": "orange", "delayed": "gold"}
    lines = ["digraph eco2 {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for n, data in g.nodes(data=True):
        attrs = [f'shape={_SHAPES.get(data.get("kind", ""), "box")}']
        if blast is not None:
            if n in blast.down:
                attrs.append('style=filled, fillcolor="red"')
            elif n in blast.reduced:
                attrs.append('style=filled, fillcolor="pink"')
            elif data.get("kind") == "route":
                v = blast.verdict(data["name"])
                if v is not None:
                    attrs.append(f'style=filled, fillcolor="{colors[v.outcome]}"')
        lines.append(f'  "{n}" [{", ".join(attrs)}];')
    for u, v, data in g.edges(data=True):
        lines.append(f'  "{u}" -> "{v}" [label="{data.get("how", "")}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(g: nx.DiGraph) -> dict[str, Any]:
    return {
        "nodes": [{"id": n, **d} for n, d in g.nodes(data=True)],
        "edges": [{"from": u, "to": v, **d} for u, v, d in g.edges(data=True)],
    }


def render_graph(g: nx.DiGraph) -> list[str]:
    """Each component and what it needs, one line each."""
    lines = []
    for n in g.nodes:
        needs = [f"{v} ({d['how']})" for _, v, d in g.out_edges(n, data=True)]
        if needs:
            lines.append(f"{n} -> " + ", ".join(needs))
    return lines


def path_dot(hop: Hop) -> str:
    """A route's call path as a DOT tree (asynchronous hops dashed)."""
    lines = ["digraph path {", "  rankdir=LR;"]
    counter = iter(range(10**6))

    def visit(h: Hop) -> str:
        me = f"n{next(counter)}"
        label = h.component if h.component not in ("branch", "fallback") else h.note or h.how
        lines.append(f'  {me} [label="{label}"];')
        for child in h.children:
            other = visit(child)
            style = ", style=dashed" if not child.sync else ""
            lines.append(f'  {me} -> {other} [label="{child.how}"{style}];')
        return me

    visit(hop)
    lines.append("}")
    return "\n".join(lines) + "\n"
