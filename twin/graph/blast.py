"""The blast radius of a component: what goes down with it, and what that does.

It says which routes FAIL, which DEGRADE (a step with on_failure degrade or
fallback), which are accepted but whose result is DELAYED (the consumer is down,
messages wait in the queue) or LOST (a step of the asynchronous part fails), and
which data stores lose every copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.graph.dependencies import needs
from twin.graph.naming import Component, components, key, resolve
from twin.graph.placement import eligible
from twin.graph.pods import schedule
from twin.model.steps import BranchStep, CallStep, PublishStep, StepBase, route_walk
from twin.model.topology import Route, Topology
from twin.model.units import format_duration

OUTCOMES = ("fail", "lost", "degrade", "delayed")
"""Route outcomes, worst first."""


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


def _step_targets(topo: Topology, s: StepBase) -> list[str]:
    """What a step stops on: what it needs, and for a publish the queue's broker too."""
    targets = [k for k, _ in needs(topo, s)]
    if isinstance(s, PublishStep):
        found = topo.queue(s.publish)
        targets += [key("store", found[0].name)] if found else []
    return targets


def _until(why: str) -> str:
    return why.split("; down ", 1)[1] if "; down " in why else ""


def _route_impacts(topo: Topology, r: Route, down: dict[str, str]) -> list[Impact]:
    out: list[Impact] = []
    if topo.mesh is not None:
        gw = key("gateway", topo.mesh.gateway.name)
        if gw in down:  # the steps are walked too: what else stays broken once it is back
            out.append(Impact(r.name, "fail", 1.0, gw, "every request enters through it",
                              _until(down[gw])))
    _walk(topo, r, down, out)
    return out


def _walk(topo: Topology, r: Route, down: dict[str, str], out: list[Impact]) -> None:
    """Record impacts along the steps, as far as a request gets.

    A step that fails stops the rest of its part of the request: up to the route, or
    to the branch choice or the asynchronous task (after a publish) it is in; the
    other choices and the caller of a task go on. A fallback runs only when its step
    failed, and a step whose failure is taken (degrade, fallback) is not entered.
    """
    part: dict[tuple, tuple] = {}  # a step's path -> the part of the request it is in
    stopped: set[tuple] = set()
    publishes: set[tuple] = set()
    falls_back: set[tuple] = set()  # steps that failed into their fallback
    walk = route_walk(topo, r)
    for s, ctx in walk:
        parent = ctx.parent
        if parent is None:
            mine: tuple = ()
        elif ctx.slot == "branch" or ctx.slot == "steps" and parent.path in publishes:
            mine = (*parent.path, ctx.slot, ctx.choice)
        else:
            mine = part[parent.path]
        part[ctx.path] = mine
        if mine in stopped or ctx.slot == "fallback" and parent.path not in falls_back:
            walk.prune()
            continue
        hit = next((t for t in _step_targets(topo, s) if t in down), None)
        if hit is not None:
            where = f"{s.target_field} step in {ctx.runs_in}"
            if s.on_failure == "degrade":
                out.append(Impact(r.name, "degrade", ctx.share, hit,
                                  where + " (on_failure: degrade)", _until(down[hit])))
                walk.prune()
            elif s.on_failure == "fallback":
                out.append(Impact(r.name, "degrade", ctx.share, hit, where + " (falls back)",
                                  _until(down[hit])))
                falls_back.add(ctx.path)
                walk.prune("steps", "branch")
            else:
                out.append(Impact(r.name, "fail" if ctx.sync else "lost", ctx.share, hit, where,
                                  _until(down[hit])))
                stopped.add(mine)
                walk.prune()
            continue
        if isinstance(s, PublishStep):
            publishes.add(ctx.path)
            worker = topo.consumer(s.publish)
            wkey = key("worker", worker.name) if worker is not None else None
            if wkey in down:
                out.append(Impact(r.name, "delayed", ctx.share, wkey,
                                  f"messages wait in queue/{s.publish} for its consumer",
                                  _until(down[wkey])))
            if worker is None or wkey in down:
                walk.prune()
        elif not isinstance(s, CallStep | BranchStep):
            walk.prune()
