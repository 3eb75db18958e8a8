"""The topology as a tree by tier, namespace and node pool, and what each item shows.

Plain rows for the TUI's topology screen (or any printer): the tree, the detail
of one item (ports, replicas, HPA, placement, the routes through it, the stores
it depends on, its blast radius), the nodes with their pods and headroom, and a
blast radius as marks on the tree's keys. Everything comes from the model and
twin.graph; nothing here knows Textual. One `TopologyView` per loaded topology
keeps the placement and the dependency graph, and each blast radius it has
worked out, so that moving the cursor costs a dictionary lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from twin.graph.blast import OUTCOMES, BlastRadius, blast_radius
from twin.graph.dependencies import dependency_graph
from twin.graph.naming import Component, components, dns_name, resolve
from twin.graph.paths import Hop, call_path
from twin.graph.placement import eligible, nodes
from twin.graph.pods import schedule
from twin.model.topology import Topology
from twin.model.units import format_cpu, format_duration, format_memory
from twin.views.graph import render_path as path_lines
from twin.views.rows import Column
from twin.views.status import ClusterStatus, NodeRow

TIERS = ("business-logic", "worker", "integration", "data", "platform", "observability",
         "infrastructure")
"""Tiers in the order the architecture document lists them."""

MARKS = ("down", "reduced", *OUTCOMES)
"""What a blast radius says of an item: down, reduced (some pods lost), or a route's
outcome (fail, lost, degrade, delayed)."""

ROUTES_THAT = {"fail": "routes that fail", "lost": "routes whose result is lost",
               "degrade": "routes that degrade", "delayed": "routes delayed (messages wait)"}

SECTIONS = {"routes": "routes", "external": "outside the cluster", "pools": "node pools"}


@dataclass(frozen=True)
class Item:
    """One line of the tree: a component (`service/chat-api`) or a group (`tier/data`)."""

    key: str
    name: str
    kind: str
    hint: str = ""
    children: tuple[Item, ...] = ()

    def walk(self) -> list[Item]:
        return [self, *(i for c in self.children for i in c.walk())]


@dataclass(frozen=True)
class Section:
    """A titled block of the detail pane."""

    title: str
    lines: tuple[str, ...]


def by_component(row: NodeRow) -> list[tuple[str, list[str]]]:
    """The pods on a node, grouped by the component they belong to."""
    groups: dict[str, list[str]] = {}
    for pod in row.pods:
        groups.setdefault(pod.workload or pod.namespace, []).append(pod.name)
    return list(groups.items())


NODE_COLUMNS: tuple[Column, ...] = (
    ("node", lambda n: n.name),
    ("CPU", lambda n: _pct(n.cpu_requested, n.cpu)),
    ("mem", lambda n: _pct(n.memory_requested, n.memory)),
    ("free", lambda n: f"{max(n.cpu_free, 0):.2g} {_gib(max(n.memory_free, 0))}"),
    ("pods", lambda n: str(len(n.pods))),
)
"""The model's nodes in the 44 columns the pane has at 80: the share of allocatable their
pods request, the room left, how many pods (twin.views.status has the wide table)."""


@dataclass
class Blast:
    """A blast radius as marks on tree keys, and as text."""

    target: str
    marks: dict[str, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f}Gi" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f}Mi"


class TopologyView:
    """What the topology screen shows of one topology, worked out once."""

    def __init__(self, topo: Topology, source: str = ""):
        self.topo = topo
        self.source = source
        self.placed = schedule(topo)
        self.graph: nx.DiGraph = dependency_graph(topo, self.placed)
        self.paths: dict[str, Hop] = {r.name: call_path(topo, r) for r in topo.routes}
        self._blasts: dict[str, BlastRadius] = {}
        self.status = ClusterStatus.from_model(topo, source)

    # ------------------------------------------------------------------ tree

    def tier_of(self, c: Component) -> str:
        """The `tier` label of a component's pods (a worker's is `worker`, in its domain)."""
        tier = getattr(c.obj, "tier", None)
        if isinstance(tier, str) and c.kind in ("service", "worker"):
            return tier
        ns = self.topo.namespace(getattr(c.obj, "namespace", "") or "")
        return ns.tier if ns is not None else "infrastructure"

    def tree(self) -> list[Item]:
        """Tiers (each namespace under it with its components), routes, externals, pools."""
        topo = self.topo
        placed: dict[tuple[str, str], list[Component]] = {}
        for c in components(topo):
            if c.kind in ("service", "worker", "store", "platform", "daemonset"):
                placed.setdefault((self.tier_of(c), c.obj.namespace), []).append(c)
            elif c.kind == "gateway":
                placed.setdefault((self.tier_of(c), c.obj.namespace), []).append(c)
        out = []
        for tier in TIERS:
            names = [ns.name for ns in topo.namespaces if ns.tier == tier]
            names += [ns for (t, ns) in placed if t == tier and ns not in names]
            if not names:
                continue
            spaces = tuple(self._namespace(ns, placed.get((tier, ns), [])) for ns in names)
            out.append(Item(f"tier/{tier}", tier, "tier", f"{len(spaces)} ns", spaces))
        routes = tuple(Item(f"route/{r.name}", r.name, "route",
                            f"{r.rate * 60:g}/m" if r.rate < 1 else f"{r.rate:g}/s")
                       for r in topo.routes)
        if routes:
            out.append(Item("section/routes", SECTIONS["routes"], "section", "", routes))
        ext = tuple(Item(f"external/{e.name}", e.name, "external") for e in topo.externals)
        if ext:
            out.append(Item("section/external", SECTIONS["external"], "section", "", ext))
        pools = tuple(Item(f"pool/{p.name}", p.name, "pool",
                           f"{len(p.nodes)} node{'s' if len(p.nodes) != 1 else ''}",
                           tuple(Item(f"node/{n.name}", n.name, "node",
                                      f"{len(self.placed.on(n.name))} pods") for n in p.nodes))
                      for p in topo.pools)
        out.append(Item("section/pools", SECTIONS["pools"], "section", "", pools))
        return out

    def _namespace(self, name: str, members: list[Component]) -> Item:
        children = []
        for c in members:
            queues = ()
            if c.kind == "store":
                queues = tuple(Item(f"queue/{q.name}", q.name, "queue")
                               for q in getattr(c.obj, "queues", []))
            children.append(Item(c.key, c.name, c.kind, self._hint(c), queues))
        ns = self.topo.namespace(name)
        hint = f"domain {ns.domain}" if ns is not None and ns.domain not in (None, name) else ""
        return Item(f"namespace/{name}", name, "namespace", hint if children else "empty",
                    tuple(children))

    def _hint(self, c: Component) -> str:
        if c.kind == "daemonset":
            return "DaemonSet"
        if c.kind == "gateway":
            return "Gateway"
        n = len(self.placed.of(c.key))
        extra = f" {c.obj.mode}" if getattr(c.obj, "mode", "single") != "single" else ""
        return f"{n} pod{'s' if n != 1 else ''}{extra}"

    # ---------------------------------------------------------------- detail

    def detail(self, key: str) -> list[Section]:
        """The detail pane of one tree item."""
        kind, _, name = key.partition("/")
        if kind == "tier":
            return self._tier(name)
        if kind == "section":
            return [Section(SECTIONS.get(name, name), ("Select an item below.",))]
        if kind == "namespace":
            return self._namespace_detail(name)
        c = resolve(self.topo, key)
        head = [Section(c.key, tuple(self._about(c)))]
        if kind == "route":
            return [*head, Section("call path", tuple(path_lines(self.paths[name])))]
        body = [*head, *self._placement(c)]
        through = self.routes_through(c.key)
        if kind not in ("node", "pool"):
            body.append(Section("routes through it", tuple(through) or ("none",)))
        stores = self.stores_needed(c.key)
        if kind not in ("store", "node", "pool"):
            body.append(Section("stores it depends on", tuple(stores) or ("none",)))
        if kind in ("store", "queue"):
            users = sorted(u for u, _ in self.graph.in_edges(c.key)
                           if u.split("/", 1)[0] in ("service", "worker", "route", "queue"))
            body.append(Section("used by", tuple(users) or ("none",)))
        body.append(Section("blast radius (b: show in the tree)", tuple(self.blast_summary(c.key))))
        return body

    def _tier(self, tier: str) -> list[Section]:
        spaces = [ns.name for ns in self.topo.namespaces if ns.tier == tier]
        pods = [p for p in self.placed.pods.values() if p.tier == tier]
        return [Section(f"tier {tier}", (f"namespaces: {', '.join(spaces) or 'none of its own'}",
                                        f"pods: {len(pods)}"))]

    def _namespace_detail(self, name: str) -> list[Section]:
        ns = self.topo.namespace(name)
        lines = [f"tier {ns.tier}" + (f", domain {ns.domain}" if ns.domain else "")]
        labels = self.topo.namespace_labels(ns)
        lines += [f"label {k}={v}" for k, v in labels.items()]
        lines.append("Istio sidecar injected" if ns.sidecar_injection else "no sidecar injection")
        members = [c.key for c in components(self.topo)
                   if c.kind != "namespace" and getattr(c.obj, "namespace", None) == name]
        lines.append(f"holds: {', '.join(members) or 'nothing (no workload names it)'}")
        return [Section(f"namespace/{name}", tuple(lines))]

    def _about(self, c: Component) -> list[str]:
        o, topo = c.obj, self.topo
        lines: list[str] = []
        if hasattr(o, "namespace"):
            lines.append(f"namespace {o.namespace}, tier {self.tier_of(c)}")
        if c.kind == "service":
            lines.append(f"{o.protocol} port {o.port}, {dns_name(topo, o.name)}")
        elif c.kind == "store":
            mode = getattr(o, "mode", "single")
            ports = f"port {o.port}" + (f", management {o.management_port}"
                                        if hasattr(o, "management_port") else "")
            lines.append(f"{o.kind} {mode}, {ports}, {dns_name(topo, o.name)}")
            if getattr(o, "sentinel", None) is not None:
                s = o.sentinel
                lines.append(f"{o.servers} servers, {s.sentinels} sentinels (port {s.port}), "
                             f"quorum {s.quorum}, down-after {format_duration(s.down_after)}")
            if hasattr(o, "replicas") and o.kind == "postgres":
                lines.append(f"{o.replicas} servers, max_connections {o.max_connections}")
            p = o.persistence
            lines.append(f"persistence {format_memory(p.size)} ({p.storage_class or 'default'})"
                         if p.enabled else "no persistence")
        elif c.kind == "queue":
            broker = topo.queue(o.name)
            worker = topo.consumer(o.name)
            lines.append(f"in store/{broker[0].name}, {'durable' if o.durable else 'transient'}"
                         + (f", max length {o.max_length} ({o.overflow})" if o.max_length else ""))
            lines.append(f"consumed by {'worker/' + worker.name if worker else 'nobody'}")
        elif c.kind == "route":
            lines.append(f"rate {c.obj.rate:g}/s, entry {o.entry}"
                         + (", asynchronous (accepted, then delivered)" if o.asynchronous else ""))
        elif c.kind == "external":
            lines.append(f"latency {format_duration(o.latency.expected)} mean"
                         + (f", rate limit {o.rate_limit:g}/s" if o.rate_limit else ""))
        elif c.kind == "gateway":
            lines.append(f"Istio Gateway, port {o.port} (NodePort {o.node_port}), "
                         f"served by platform/{o.workload}")
        elif c.kind in ("node", "pool"):
            lines += self._node_about(c)
        if hasattr(o, "replicas") and c.kind in ("service", "worker", "platform"):
            lines.append(self._replicas(o))
        if getattr(o, "hpa", None) is not None:
            h = o.hpa
            what = f"{h.queue} length" if h.metric == "queue_length" else "CPU"
            lines.append(f"HPA {h.min}-{h.max} pods on {what}, target {h.target:g}")
        elif c.kind in ("service", "worker"):
            lines.append("HPA off")
        if c.kind == "worker":
            lines.append(f"queue {o.queue}, concurrency {o.concurrency}, prefetch x{o.prefetch}, "
                         f"acks_late {str(o.acks_late).lower()}")
        elif c.kind == "service":
            lines.append(f"concurrency {o.concurrency} per pod, service time "
                         f"{format_duration(o.service_time.expected)} mean")
        r = getattr(o, "resources", None)
        if r is not None and c.kind not in ("node", "pool"):
            lines.append(f"requests {format_cpu(r.requests.cpu)} CPU, "
                         f"{format_memory(r.requests.memory)}"
                         + (f"; limits {format_cpu(r.limits.cpu)}, {format_memory(r.limits.memory)}"
                            if r.limits else ""))
        return lines

    @staticmethod
    def _replicas(o: Any) -> str:
        if getattr(o, "versions", None):
            each = [(v.name, v.replicas if v.replicas is not None else o.replicas)
                    for v in o.versions]
            return (f"replicas {sum(n for _, n in each)} ("
                    + ", ".join(f"{v} {n}" for v, n in each) + ")")
        return f"replicas {o.replicas}"

    def _node_about(self, c: Component) -> list[str]:
        rows = [r for r in self.nodes() if (r.pool if c.kind == "pool" else r.name) == c.name]
        first = rows[0]
        cpu, mem = sum(r.cpu for r in rows), sum(r.memory for r in rows)
        cpu_req, mem_req = sum(r.cpu_requested for r in rows), sum(r.memory_requested for r in rows)
        lines = [f"pool {first.pool}, role {first.role}" if c.kind == "node"
                 else f"{len(rows)} nodes: {', '.join(r.name for r in rows)}",
                 f"CPU {format_cpu(cpu_req)} of {format_cpu(cpu)} requested ({_pct(cpu_req, cpu)}),"
                 f" {format_cpu(max(cpu - cpu_req, 0))} free",
                 f"memory {format_memory(mem_req)} of {format_memory(mem)} requested "
                 f"({_pct(mem_req, mem)}), {format_memory(max(mem - mem_req, 0))} free"]
        lines += [f"taint {t}" for t in first.taints]
        return lines

    def _placement(self, c: Component) -> list[Section]:
        if c.kind in ("node", "pool"):
            rows = [r for r in self.nodes() if (r.pool if c.kind == "pool" else r.name) == c.name]
            n = sum(len(r.pods) for r in rows)
            return [Section(f"pods on {r.name} ({len(r.pods)})",
                            tuple(f"{comp}: {', '.join(pods)}" for comp, pods in by_component(r))
                            or ("none",)) for r in rows] if n else [Section("pods", ("none",))]
        pods = self.placed.of(c.key)
        placement = getattr(c.obj, "placement", None)
        if not pods and placement is None:
            return []
        lines = [f"{p.name} on {self.placed.where[p.name] or 'nothing: Pending (no room)'}"
                 for p in pods]
        if placement is not None:
            sel = ", ".join(f"{k}={v}" for k, v in placement.node_selector.items())
            if sel:
                lines.append(f"nodeSelector {sel}")
            tol = ", ".join(f"{t.key or '*'}{'=' + t.value if t.value else ''}"
                            f"{':' + t.effect if t.effect else ''}" for t in placement.tolerations)
            if tol:
                lines.append(f"tolerates {tol}")
            fits = [n.name for n in nodes(self.topo) if eligible(placement, n)]
            lines.append(f"may run on {', '.join(fits) or 'no node'}")
        return [Section("placement", tuple(lines))]

    def routes_through(self, key: str) -> list[str]:
        """Routes whose call path passes through the component."""
        def keys(h: Hop) -> set[str]:
            return {h.component, *(k for child in h.children for k in keys(child))}

        return [f"route/{r}" for r, hop in self.paths.items() if key in keys(hop)]

    def stores_needed(self, key: str) -> list[str]:
        """The stores a component needs: directly (how), then through what it calls."""
        if key not in self.graph:
            return []
        direct = {v: d["how"] for _, v, d in self.graph.out_edges(key, data=True)
                  if v.startswith("store/")}
        lines = [f"{s} ({how})" for s, how in direct.items()]
        further = sorted(n for n in nx.descendants(self.graph, key)
                         if n.startswith("store/") and n not in direct)
        lines += [f"{s} (through what it calls)" for s in further]
        return lines

    # ----------------------------------------------------------------- nodes

    def nodes(self) -> list[NodeRow]:
        return self.status.nodes

    def pending(self) -> list[str]:
        return self.status.pending

    # ---------------------------------------------------------- blast radius

    def blast_radius(self, key: str) -> BlastRadius:
        if key not in self._blasts:
            self._blasts[key] = blast_radius(self.topo, key)
        return self._blasts[key]

    def blast(self, key: str) -> Blast:
        """The marks to put on the tree: what is down, reduced, and each route's outcome."""
        br = self.blast_radius(key)
        marks = dict.fromkeys(br.reduced, "reduced")
        marks.update(dict.fromkeys(br.down, "down"))
        for outcome in OUTCOMES:
            for route in br.routes(outcome):
                marks.setdefault(f"route/{route}", outcome)
        return Blast(br.target.key, marks, self.blast_summary(key))

    def blast_summary(self, key: str) -> list[str]:
        """A few lines: what goes down with it, each outcome's routes, stores that lose data."""
        kind = key.partition("/")[0]
        if kind in ("tier", "section"):
            return ["select a component"]
        br = self.blast_radius(key)
        down = [k for k in br.down if k != br.target.key]
        lines = [f"also down: {', '.join(down)}" if down else "nothing else goes down"]
        if br.reduced:
            lines.append(f"reduced: {', '.join(br.reduced)}")
        for outcome in OUTCOMES:
            routes = br.routes(outcome)
            if routes:
                lines.append(f"{ROUTES_THAT[outcome]}: {', '.join(routes)}")
        lines.append(f"routes unaffected: {', '.join(br.unaffected) or 'none'}")
        for s in br.stores_lost:
            lines.append(f"store/{s.store} loses all {s.copies} "
                         f"cop{'y' if s.copies == 1 else 'ies'}: {s.data}")
        return lines
