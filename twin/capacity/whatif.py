"""The capacity answer: a topology and a load in, rows per component, pool and HPA out.

    from twin.capacity.whatif import answer
    a = answer(topology, ["chat=x3"])          # or {"chat": 6.0}, scale=3
    a.bottleneck, a.warnings, a.components, a.pools, a.hpas, a.fit, a.connections

Pure and quick (a few milliseconds for Eco2 prod, tens with the placement
questions): the TUI calls it as the user types; nothing here imports Textual,
Typer or Rich. The steps: the HPAs settle at the load (twin.capacity.hpa), the
pods they ask for are placed (twin.capacity.fit: those that find no node serve
nothing), and the open network is solved at the pods that run
(twin.capacity.analytic). Utilisation at or above 1 is "saturated" with the pods
needed to bring it under the threshold, never NaN.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from twin.capacity import fit as fitting
from twin.capacity.analytic import Solution, StationState, solve
from twin.capacity.hpa import HpaState, settle
from twin.capacity.replicas import by_workload, placed, with_replicas
from twin.capacity.theory import servers_for
from twin.capacity.traffic import Network, Station, compile_network
from twin.model.errors import ModelError, Problem, no_such
from twin.model.topology import Topology
from twin.sim import load as simload

THRESHOLD = 0.8
Status = Literal["idle", "ok", "high", "saturated"]


@dataclass(frozen=True)
class ComponentRow:
    """One station: a workload's version, a store or an external, at the load."""

    component: str  # service/chat-api, worker/chat-worker, store/redis, external/llm
    version: str | None
    kind: str
    pods: int  # serving: after the HPA, those the pool holds (1 for a store or an external)
    replicas: int  # the topology's
    concurrency: int  # slots per pod (a store's concurrency; 0 for an external)
    rate: float  # visits per second, all pods
    utilisation: float  # busy slots over slots per pod; an external: rate over its limit
    holding: float  # mean time a visit holds a slot, nested steps included
    wait: float | None  # mean wait for a slot (None: saturated)
    latency: float | None  # wait + holding
    cpu_cores: float
    status: Status
    saturates_at: float | None  # this load times this factor brings utilisation to 1
    needed: int | None  # pods (a store: slots; an external: req/s of limit) for the threshold
    bound: bool = False  # something below it is saturated: its figures are lower bounds

    @property
    def name(self) -> str:
        return f"{self.component}@{self.version}" if self.version else self.component


@dataclass(frozen=True)
class RouteRow:
    route: str
    rate: float
    latency: float | None  # mean, synchronous part
    end_to_end: float | None  # asynchronous: accepted to last event
    failing: float
    saturated_by: tuple[str, ...] = ()
    users: int | None = None
    think: float | None = None


@dataclass(frozen=True)
class PoolRow:
    """A pool at the answer's replicas: requests against allocatable, and CPU the model
    says its pods use."""

    pool: str
    nodes: int
    cpu_allocatable: float
    cpu_requested: float
    cpu_used: float
    memory_allocatable: float
    memory_requested: float
    pending: tuple[str, ...] = ()

    @property
    def requested_share(self) -> float:
        return self.cpu_requested / self.cpu_allocatable if self.cpu_allocatable else 0.0

    @property
    def memory_share(self) -> float:
        return self.memory_requested / self.memory_allocatable if self.memory_allocatable else 0.0

    @property
    def used_share(self) -> float:
        return self.cpu_used / self.cpu_allocatable if self.cpu_allocatable else 0.0


@dataclass(frozen=True)
class Answer:
    loads: dict[str, str]  # route -> what it runs at ("6/s", "20 users, think 1s")
    threshold: float
    components: list[ComponentRow]
    routes: list[RouteRow]
    pools: list[PoolRow]
    hpas: list[HpaState]
    fit: list[fitting.FitCase] = field(default_factory=list)
    connections: list[fitting.Connections] = field(default_factory=list)
    bottleneck: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def saturated(self) -> list[ComponentRow]:
        return [c for c in self.components if c.status == "saturated"]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every row, with inf written as null."""
        def clean(x: Any) -> Any:
            if isinstance(x, float) and not math.isfinite(x):
                return None
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [clean(v) for v in x]
            return x
        return clean(dataclasses.asdict(self))


# ---------------------------------------------------------------------- loads


@dataclass(frozen=True)
class Loads:
    open: dict[str, float]
    closed: dict[str, tuple[int, float]]
    described: dict[str, str]


def resolve_loads(topo: Topology, loads: Sequence[str] | Mapping[str, Any] | None = None,
                  scale: float = 1.0) -> Loads:
    """Every route at its nominal rate, with the given ones changed, all times `scale`.

    ROUTE=RATE as `twin sim --load` takes it (300, 300/s, 5/m, users:N:think=2s; a
    profile answers at its peak), or ROUTE=xF (also F x): F times the nominal rate.
    Raises ModelError naming every bad one.
    """
    given: dict[str, Any] = {}
    problems: list[Problem] = []
    items = loads.items() if isinstance(loads, Mapping) else [
        tuple(t.split("=", 1)) if "=" in t else (t, None) for t in (loads or [])]
    names = [r.name for r in topo.routes]
    for route, spec in items:
        route = str(route).strip()
        where = f"--load {route}={spec}" if spec is not None else f"--load {route}"
        if spec is None:
            problems.append(Problem(where, 0, 0, "", "expected ROUTE=RATE (e.g. chat=6/s or chat=x3)"))
            continue
        r = topo.route(route)
        if r is None:
            problems.append(Problem(where, 0, 0, route, no_such("route", route, names)))
            continue
        factor = _factor(spec)
        if factor is not None:
            given[route] = ("open", r.rate * factor)
            continue
        if isinstance(spec, int | float):
            given[route] = ("open", float(spec))
            continue
        try:
            parsed = simload.parse_load(f"{route}={spec}")[route]
        except ModelError as e:
            problems += e.problems
            continue
        if isinstance(parsed, simload.ClosedUsers):
            given[route] = ("closed", (parsed.users, parsed.think))
        else:
            given[route] = ("open", parsed.peak)
    if scale < 0 or not math.isfinite(scale):
        problems.append(Problem("--scale", 0, 0, "scale", "must be a number >= 0"))
    if problems:
        raise ModelError(problems)
    out_open: dict[str, float] = {}
    closed: dict[str, tuple[int, float]] = {}
    described: dict[str, str] = {}
    for r in topo.routes:
        kind, value = given.get(r.name, ("open", r.rate))
        if kind == "closed":
            users, think = value
            closed[r.name] = (users, think)
            described[r.name] = f"{users} users, think {think:g}s"
        else:
            out_open[r.name] = value * scale
            described[r.name] = f"{value * scale:g}/s"
    return Loads(out_open, closed, described)


def _factor(spec: Any) -> float | None:
    if not isinstance(spec, str):
        return None
    text = spec.strip().lower()
    for body in (text[1:] if text.startswith("x") else None, text[:-1] if text.endswith("x") else None):
        if body:
            try:
                value = float(body)
            except ValueError:
                continue
            if value >= 0 and math.isfinite(value):
                return value
    return None


# --------------------------------------------------------------------- answer


def answer(topology: Topology, loads: Sequence[str] | Mapping[str, Any] | Loads | None = None, *,
           scale: float = 1.0, threshold: float = THRESHOLD, placement: bool = True,
           network: Network | None = None) -> Answer:
    """Capacity at a load: per component, route, pool and HPA, the bottleneck and warnings.

    placement=False skips the N-1 and HPA-maximum placement questions (the HPAs'
    replicas are still placed), for callers that want only the queues. `network`:
    a compile_network(topology) to reuse across calls on the same topology.
    """
    topo = topology
    ld = loads if isinstance(loads, Loads) else resolve_loads(topo, loads, scale)
    net = network or compile_network(topo)
    start = {k: s.replicas for k, s in net.stations.items() if s.kind in ("service", "worker")}

    def at(replicas: Mapping[str, int]) -> Solution:
        return solve(net, ld.open, replicas, ld.closed)

    desired, hpas = settle(topo, net, at, start)
    scaled = with_replicas(topo, by_workload(net, desired)) if desired != start else topo
    here, where = fitting.case(scaled, "at the HPAs' replicas" if hpas else "now")
    serving = placed(net, where)
    sol = at(serving)
    components = [_row(net.stations[k], sol.stations[k], threshold) for k in net.stations]
    routes = [RouteRow(r.name, r.rate, r.latency, r.end_to_end, r.failing, r.saturated_by,
                       r.users, r.think) for r in sol.routes.values()]
    pools = _pools(topo, where, here, net, sol)
    cases: list[fitting.FitCase] = []
    conns: list[fitting.Connections] = []
    if placement:
        now, now_placed = (here, where) if scaled is topo else fitting.case(topo, "now")
        top = fitting.at_hpa_max(topo)
        cases = [dataclasses.replace(now, name="now")]
        if top is not topo:
            peak, peak_placed = fitting.case(top, "at HPA maximum")
            cases.append(peak)
        cases += fitting.without_each_node(topo, now_placed, "now")
        if top is not topo:
            cases += fitting.without_each_node(top, peak_placed, "at HPA maximum")
        conns = fitting.connections(topo, top)
    bottleneck = _bottleneck(components)
    return Answer(ld.described, threshold, components, routes, pools, hpas, cases, conns,
                  bottleneck, _warnings(components, routes, pools, hpas, here, cases, conns,
                                        threshold))


def _row(st: Station, s: StationState, threshold: float) -> ComponentRow:
    util = s.utilisation
    if s.rate <= 0:
        status: Status = "idle"
    elif s.saturated:
        status = "saturated"
    elif util >= threshold:
        status = "high"
    else:
        status = "ok"
    saturates = 1 / util if util > 0 and math.isfinite(util) else None
    needed: int | None = None
    if s.rate > 0:
        if st.kind in ("service", "worker"):
            needed = servers_for(s.busy, st.servers, threshold)
        elif st.kind == "store":
            needed = math.ceil(s.busy / threshold) if s.busy > 0 else 1
        elif st.rate_limit:
            needed = math.ceil(s.rate / threshold)
    if st.kind == "external" and not st.rate_limit:
        saturates = None
    return ComponentRow(
        st.component, st.version, st.kind, s.pods, st.replicas, st.servers, s.rate, util,
        s.holding, s.wait, s.sojourn, s.cpu_cores, status, saturates, needed, s.bound)


def _pools(topo: Topology, where: Any, here: fitting.FitCase, net: Network,
           sol: Solution) -> list[PoolRow]:
    used: dict[str, float] = {}
    pool_of = {n.name: n.pool for n in where.nodes}
    share: dict[str, dict[str, int]] = {}
    for name, node in where.where.items():
        if node is None:
            continue
        pod = where.pods[name]
        key = pod.component if pod.version is None else f"{pod.component}@{pod.version}"
        if key in net.stations:
            share.setdefault(key, {}).setdefault(pool_of[node], 0)
            share[key][pool_of[node]] += 1
    for key, per in share.items():
        total = sum(per.values())
        for pool, n in per.items():
            used[pool] = used.get(pool, 0.0) + sol.stations[key].cpu_cores * n / total
    return [PoolRow(p.pool, p.nodes, p.cpu_allocatable, p.cpu_requested, used.get(p.pool, 0.0),
                    p.memory_allocatable, p.memory_requested, p.pending) for p in here.pools]


def _bottleneck(rows: list[ComponentRow]) -> str | None:
    """The component that saturates first as the load grows (the highest utilisation)."""
    busy = [r for r in rows if r.rate > 0 and r.saturates_at is not None]
    if not busy:
        return None
    return min(busy, key=lambda r: (r.saturates_at, r.name)).name


def _pct(x: float) -> str:
    return f"{x * 100:.0f} %" if math.isfinite(x) else "no pods"


def _some(names: Sequence[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _warnings(rows: list[ComponentRow], routes: list[RouteRow], pools: list[PoolRow],
              hpas: list[HpaState], here: fitting.FitCase, cases: list[fitting.FitCase],
              conns: list[fitting.Connections], threshold: float) -> list[str]:
    out = []
    for r in rows:
        if r.status == "saturated":
            what = {"service": "pods", "worker": "pods", "store": "slots (concurrency)",
                    "external": "req/s of rate limit"}[r.kind]
            out.append(f"{r.name} is saturated ({_pct(r.utilisation)}): about {r.needed} {what} "
                       f"would bring it under {threshold * 100:.0f} %")
        elif r.status == "high":
            out.append(f"{r.name} runs at {_pct(r.utilisation)}, above {threshold * 100:.0f} %; "
                       f"saturates at {r.saturates_at:.2f}x this load")
    for p in pools:
        if p.requested_share >= threshold:
            out.append(f"pool {p.pool}: {_pct(p.requested_share)} of its CPU is requested")
        if p.memory_share >= threshold:
            out.append(f"pool {p.pool}: {_pct(p.memory_share)} of its memory is requested")
        if p.used_share >= threshold:
            out.append(f"pool {p.pool}: its pods use {_pct(p.used_share)} of its CPU")
    for h in hpas:
        if h.limited and h.desired >= h.max:
            out.append(f"HPA {h.workload} is at its max ({h.max}) and wants "
                       + ("more (the backlog grows)" if h.wanted is None else f"{h.wanted}"))
    if here.pending:
        out.append(f"{len(here.pending)} pods stay Pending (no node fits): {_some(here.pending)}")
    for c in cases:
        if c.pending and c.lost is None and not (c.name == "now" and c.pending == here.pending):
            out.append(f"{c.name}: {len(c.pending)} pods find no node ({_some(c.pending)})")
    for label in ("now", "at HPA maximum"):
        short = [c.lost for c in cases if c.lost is not None and c.pending
                 and c.name.startswith(label + " without")]
        if short:
            out.append(f"{label}, losing any one of {_some(short)} leaves pods without a node "
                       "(N-1 does not fit)")
    for c in conns:
        if not c.fits:
            out.append(f"{c.store}: {c.at_max} connections at HPA maximum, max_connections "
                       f"{c.max_connections}")
    return out
