"""Where a route's requests go, and how often: the traffic equations over the step structure.

Each route's steps (twin.model.steps, walked by its `route_walk`) compile into a tree of Demands that
mirrors what the simulator's plans do (twin.sim.flows), resolved once per topology:

- call: a weighted choice of destinations (the VirtualService's `route[].weight`,
  or the host itself), each destination the pods its subset's labels select. A pod
  holds a slot for its own work, the sidecars' hop and every nested step.
- store: one operation on a store's single queue; publish: a write to the broker,
  then (later) a task on the consuming worker, whose slot holds the task's steps;
  external: a delay (and a rate limit); stream: a slot held on the stream's
  service while the reply runs; emit: `count` XADDs the emitter waits for, each
  event then relayed asynchronously (event-router, Pub/Sub) to the stream's pod.
- branch: each list of steps with its probability.

The Stations are the places requests queue: each version of a workload (every pod
its own queue with c = its concurrency: pods behind a load balancer are separate
queues), each store, each external. Visit counts multiply down the tree, so a
station's arrival rate is the sum over routes of rate x visits: the traffic
equations of an open network whose routing is a tree per route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from twin.model.base import Distribution
from twin.model.steps import (
    BranchStep,
    CallStep,
    EmitStep,
    ExternalStep,
    PublishStep,
    StepBase,
    StoreStep,
    StreamStep,
    route_walk,
)
from twin.model.topology import (
    HTTPRoute,
    Route,
    Topology,
    Workload,
)


@dataclass(frozen=True)
class Moments:
    """Mean and second moment of a duration, in seconds: all the queueing formulas need."""

    mean: float
    second: float

    @classmethod
    def of(cls, dist: Distribution) -> Moments:
        return cls(dist.expected, dist.second_moment)

    @property
    def variance(self) -> float:
        return max(0.0, self.second - self.mean**2)

    @property
    def scv(self) -> float:
        """Squared coefficient of variation (1 for an exponential, 0 for a constant)."""
        return self.variance / self.mean**2 if self.mean > 0 else 0.0


StationKind = Literal["service", "worker", "store", "external"]


@dataclass(frozen=True)
class Station:
    """A place where requests wait: one pod group (a workload's version), a store, an external.

    `key` is the component's name (`service/chat-api`), with `@VERSION` for a
    workload that has versions (`service/chat-api@v2`).
    """

    key: str
    component: str
    kind: StationKind
    servers: int  # c: slots per pod, or the store's concurrency (0: an external, no queue)
    replicas: int  # pods at the topology's numbers (1 for a store or an external)
    work: Moments  # own work per visit
    hop: float = 0.0  # the sidecars' latency per try
    workload: str | None = None
    version: str | None = None
    primary: bool = True  # the version an HPA scales (the first), or the only one
    labels: tuple[tuple[str, str], ...] = ()
    cpu_share: float = 0.0
    cpu_request: float = 0.0  # per pod, the sidecar's included (what the HPA divides by)
    rate_limit: float | None = None
    timeout: float | None = None
    prefetch: int = 0  # a worker pod's prefetch limit (messages it holds beyond running ones)
    error_rate: float = 0.0  # a pod's (or the external's) share of failed visits


@dataclass(frozen=True)
class Destination:
    """A call's destination: its share of the tries and the pods its subset selects."""

    share: float
    host: str
    labels: tuple[tuple[str, str], ...] = ()


@dataclass
class Demand:
    """One step of a route, as the analytical model needs it."""

    how: Literal["call", "store", "external", "publish", "stream", "emit", "branch"]
    target: str = ""  # the service, store, queue or external it names
    destinations: list[Destination] = field(default_factory=list)
    work: Moments | None = None  # the step's own service_time, over the target's
    inside: list[Demand] = field(default_factory=list)  # nested steps, or the consumer's task
    branches: list[tuple[float, list[Demand]]] = field(default_factory=list)
    consumer: str | None = None  # publish: the worker consuming the queue
    count: int = 1  # emit: events
    first: str | None = None  # emit: the store each event is XADDed to (the emitter waits)
    relay: list[str] = field(default_factory=list)  # emit: station targets after the XADD
    hold: Moments | None = None  # stream: how long the client keeps it open at most
    error_rate: float | None = None  # the step's own, over the target's
    on_failure: str = "fail"  # degrade and fallback go on with the next step


@dataclass
class RouteDemand:
    name: str
    rate: float  # the nominal rate
    asynchronous: bool
    steps: list[Demand]
    streams: frozenset[str] = frozenset()  # services the route holds an SSE stream on


@dataclass
class Network:
    """A topology as stations and route trees, ready for twin.capacity.analytic."""

    stations: dict[str, Station]
    routes: dict[str, RouteDemand]
    groups: dict[str, list[str]]  # a workload or service name -> its stations (versions)

    def selected(self, host: str, labels: tuple[tuple[str, str], ...] = ()) -> list[str]:
        """The stations (versions) of `host` whose pods carry every label of the subset."""
        return [k for k in self.groups.get(host, [])
                if all(dict(self.stations[k].labels).get(a) == b for a, b in labels)]


# ------------------------------------------------------------------- compile


def _hop(topo: Topology, workload: Workload) -> float:
    """Envoy's latency per try: client and server sidecars, or the client's alone
    (twin.sim.mesh.Mesh.hop)."""
    if topo.mesh is None:
        return 0.0
    ns = topo.namespace(workload.namespace)
    injected = ns.sidecar_injection if ns else True
    return (2 if injected else 1) * topo.mesh.sidecar.latency


def _sidecar_cpu(topo: Topology, workload: Workload) -> float:
    ns = topo.namespace(workload.namespace)
    if topo.mesh is None or (ns is not None and not ns.sidecar_injection):
        return 0.0
    return topo.mesh.sidecar.resources.requests.cpu


def _workload_stations(topo: Topology, w: Workload, kind: StationKind) -> list[Station]:
    """One station per version, labelled as the simulator labels the version's pods."""
    out = []
    versions = w.versions or [None]
    for i, v in enumerate(versions):
        vname = v.name if v is not None else "v1"
        labels = {"app": w.name, "version": vname, **w.labels, **(v.labels if v else {})}
        dist = v.service_time if v is not None and v.service_time else w.service_time
        replicas = v.replicas if v is not None and v.replicas is not None else w.replicas
        component = f"{kind}/{w.name}"
        out.append(Station(
            key=f"{component}@{v.name}" if v is not None else component, component=component,
            kind=kind, servers=w.concurrency, replicas=replicas, work=Moments.of(dist),
            hop=_hop(topo, w) if kind == "service" else 0.0, workload=w.name,
            version=v.name if v is not None else None, primary=i == 0,
            labels=tuple(sorted(labels.items())), cpu_share=w.cpu_share,
            cpu_request=w.resources.requests.cpu + _sidecar_cpu(topo, w),
            prefetch=getattr(w, "prefetch", 0) * w.concurrency,
            error_rate=v.error_rate if v is not None and v.error_rate is not None else w.error_rate))
    return out


def stations(topo: Topology) -> tuple[dict[str, Station], dict[str, list[str]]]:
    found: list[Station] = []
    groups: dict[str, list[str]] = {}
    for w in topo.services:
        mine = _workload_stations(topo, w, "service")
        groups[w.name] = [s.key for s in mine]
        found += mine
    for w in topo.workers:
        mine = _workload_stations(topo, w, "worker")
        groups[w.name] = [s.key for s in mine]
        found += mine
    for s in topo.stores:
        found.append(Station(
            key=f"store/{s.name}", component=f"store/{s.name}", kind="store",
            servers=s.concurrency, replicas=1, work=Moments.of(s.service_time),
))
    for e in topo.externals:
        found.append(Station(
            key=f"external/{e.name}", component=f"external/{e.name}", kind="external",
            servers=0, replicas=1, work=Moments.of(e.latency), rate_limit=e.rate_limit,
            timeout=e.timeout, error_rate=e.error_rate))
    return {s.key: s for s in found}, groups


def _subset_labels(topo: Topology, host: str, subset: str | None) -> tuple[tuple[str, str], ...]:
    if subset is None or topo.mesh is None:
        return ()
    rule = next((r for r in topo.mesh.destination_rules if r.host == host), None)
    if rule is None:
        return ()
    found = next((s.labels for s in rule.subsets if s.name == subset), {})
    return tuple(sorted(found.items()))


def _destinations(topo: Topology, http: HTTPRoute) -> list[Destination]:
    weighted = [d for d in http.route if d.weight > 0] or http.route[:1]
    total = sum(d.weight for d in weighted) or 1
    return [Destination(d.weight / total if len(weighted) > 1 else 1.0, d.host,
                        _subset_labels(topo, d.host, d.subset)) for d in weighted]


def _entry_http(topo: Topology, vs_name: str, uri: str | None) -> HTTPRoute | None:
    """The gateway's HTTP route for a user route (twin.sim.mesh.Mesh.entry's match)."""
    if topo.mesh is None:
        return None
    vs = next((v for v in topo.mesh.virtual_services if v.name == vs_name), None)
    if vs is None:
        return None
    for http in vs.http:
        if not http.match:
            return http
        for m in http.match:
            if m.uri_exact is not None and uri == m.uri_exact:
                return http
            if m.uri_prefix is not None and uri is not None and uri.startswith(m.uri_prefix):
                return http
    return vs.http[0]


def _internal(topo: Topology, service: str) -> list[Destination]:
    """A call from inside the mesh: a mesh-bound VirtualService for the host, or the host."""
    if topo.mesh is not None:
        vs = next((v for v in topo.mesh.virtual_services
                   if service in v.hosts and ("mesh" in v.gateways or not v.gateways)), None)
        if vs is not None:
            return _destinations(topo, vs.http[0])
    return [Destination(1.0, service)]


def _demand(topo: Topology, step: StepBase, entry: HTTPRoute | None) -> Demand:
    """One step's Demand, its nested lists still empty (the walk fills them)."""
    made = _made(topo, step, entry)
    made.on_failure = step.on_failure
    if isinstance(step, CallStep | StoreStep | ExternalStep):
        made.error_rate = step.error_rate
    return made


def _made(topo: Topology, step: StepBase, entry: HTTPRoute | None) -> Demand:
    if isinstance(step, CallStep | StoreStep | ExternalStep):
        work = Moments.of(step.service_time) if step.service_time else None
    if isinstance(step, CallStep):
        dests = None
        if entry is not None and any(d.host == step.call for d in entry.route):
            dests = _destinations(topo, entry)
        return Demand("call", step.call, dests or _internal(topo, step.call), work)
    if isinstance(step, StoreStep):
        return Demand("store", step.store, work=work)
    if isinstance(step, ExternalStep):
        return Demand("external", step.external, work=work)
    if isinstance(step, PublishStep):
        found = topo.queue(step.publish)
        broker = found[0].name if found else ""
        consumer = topo.consumer(step.publish)
        return Demand("publish", broker, consumer=consumer.name if consumer else None)
    if isinstance(step, StreamStep):
        dist = step.duration or step.service_time
        return Demand("stream", step.stream, hold=Moments.of(dist) if dist else Moments(30.0, 900.0))
    if isinstance(step, EmitStep):
        first: str | None = None
        relay: list[str] = []
        for via in step.via:  # as twin.sim.engine builds an EmitPlan's hops
            if topo.store(via) is not None:
                if first is None and not relay:
                    first = via
                else:
                    relay.append(f"store/{via}")
            else:
                relay.append(via)
                if first is not None:
                    relay.append(f"store/{first}")  # out again through Pub/Sub
        return Demand("emit", step.emit, count=step.count, first=first, relay=relay)
    assert isinstance(step, BranchStep)
    return Demand("branch", branches=[(b.probability, []) for b in step.branch])


def _route_demands(topo: Topology, route: Route) -> tuple[list[Demand], set[str]]:
    """The route's demand tree (a call's and a publish's steps `inside`, a branch's in its
    `branches`; fallbacks left out: the model follows the first try) and the services
    it holds a stream on. Only the route's own steps enter through its VirtualService."""
    entry = _entry_http(topo, route.entry, route.match)
    top: list[Demand] = []
    made: dict[tuple, Demand] = {}
    streams: set[str] = set()
    walk = route_walk(topo, route)
    for step, ctx in walk:
        walk.prune("fallback")
        made[ctx.path] = demand = _demand(topo, step, entry if ctx.parent is None else None)
        if isinstance(step, StreamStep):
            streams.add(step.stream)
        if ctx.parent is None:
            top.append(demand)
        elif ctx.slot == "branch":
            made[ctx.parent.path].branches[ctx.choice][1].append(demand)
        else:
            made[ctx.parent.path].inside.append(demand)
    return top, streams


def compile_network(topo: Topology) -> Network:
    """The topology's stations and every route's demand tree."""
    table, groups = stations(topo)
    routes = {}
    for r in topo.routes:
        steps, streams = _route_demands(topo, r)
        routes[r.name] = RouteDemand(r.name, r.rate, r.asynchronous, steps, frozenset(streams))
    return Network(table, routes, groups)

