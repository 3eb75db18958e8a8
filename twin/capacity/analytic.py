"""How busy each station is and how long requests wait there, at a load: the open
network of twin.capacity.traffic solved station by station.

Each pod is its own queue with c = its concurrency (replicas behind a load
balancer are separate queues fed a share of the arrivals each, not one
M/M/(k c)): exact for a RANDOM balancer, an upper bound on the wait for
ROUND_ROBIN and LEAST_REQUEST, which spread better. A pod's slot is held for its
own work, the sidecars' hop and every nested step (a call's slot waits on the
stores and services it calls), so a station's holding time depends on the waits
downstream: the waits are solved as a fixed point, from none. Each queue is M/G/c
by Allen-Cunneen (Erlang C scaled by (1 + cs^2) / 2: exact for M/M/c and M/G/1).

At utilisation 1 or more a station is saturated: its wait is infinite, callers
above it count it as no wait (their figures are then lower bounds) and the routes
through it are named as saturated by it; never NaN. Closed users (ROUTE=users:N)
are solved by MVA with multi-server stations (Seidmann), the open load's
utilisation inflating their demands (Lazowska et al., ch. 7, mixed networks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from twin.capacity.theory import MVAResult, Station, mgc_wait, mva_stations
from twin.capacity.traffic import Demand, Moments, Network, RouteDemand

ROUNDS = 200
CONVERGED = 1e-9


@dataclass
class _Acc:
    rate: float = 0.0  # visits per second, all pods
    busy: float = 0.0  # sum of rate x holding time: busy slots over all pods
    second: float = 0.0  # sum of rate x E[holding^2]
    cpu: float = 0.0  # cores used (work x cpu_share)
    own: float = 0.0  # sum of rate x own work (MVA's demand: nested steps left out)


@dataclass(frozen=True)
class StationState:
    """One station at the load: arrivals, holding time, utilisation, wait."""

    key: str
    rate: float  # visits per second to all its pods
    pods: int
    holding: float  # mean time a visit holds a slot (own work, hop, nested steps)
    scv: float  # of the holding time
    utilisation: float  # busy slots over slots, per pod (an external: rate over its limit)
    wait: float | None  # mean wait for a slot; None when saturated
    cpu_cores: float  # over all pods
    saturated: bool
    bound: bool  # a station below it is saturated: figures are lower bounds
    busy: float  # busy slots over all pods (the offered load, Erlangs)

    @property
    def sojourn(self) -> float | None:
        return None if self.wait is None else self.wait + self.holding


@dataclass(frozen=True)
class RouteState:
    name: str
    rate: float  # arrivals per second (a closed route: the MVA throughput)
    latency: float | None  # mean of the synchronous part; None when saturated
    end_to_end: float | None  # asynchronous routes: accepted to last event
    failing: float  # share of requests failing (error rates, 429s), saturation aside
    saturated_by: tuple[str, ...] = ()
    users: int | None = None  # a closed route
    think: float | None = None


@dataclass
class Solution:
    stations: dict[str, StationState]
    routes: dict[str, RouteState]
    rounds: int


@dataclass
class _Ctx:
    route: RouteDemand
    saturated: set[str] = field(default_factory=set)
    bounded: bool = False
    lost: float = 0.0  # requests per second failing in an asynchronous part


class _Solver:
    def __init__(self, net: Network, rates: Mapping[str, float], replicas: Mapping[str, int]):
        self.net = net
        self.rates = rates
        self.replicas = {k: replicas.get(k, s.replicas) for k, s in net.stations.items()}
        self.waits: dict[str, float] = {}
        self.sat: set[str] = set()
        self.e2e: dict[str, float] = {}
        self.acc: dict[str, _Acc] = {}
        self.bounded: set[str] = set()

    # ------------------------------------------------------------- the walk

    def _add(self, key: str, rate: float, hold: float, hold2: float, cpu: float, own: float,
             ctx: _Ctx) -> None:
        a = self.acc.get(key)
        if a is None:
            a = self.acc[key] = _Acc()
        a.rate += rate
        a.busy += rate * hold
        a.second += rate * hold2
        a.cpu += rate * cpu
        a.own += rate * own
        if ctx.bounded:
            self.bounded.add(key)

    def _wait(self, key: str, ctx: _Ctx) -> float:
        if key in self.sat:
            ctx.saturated.add(key)
            return 0.0
        return self.waits.get(key, 0.0)

    def _split(self, keys: list[str]) -> list[tuple[str, float]]:
        """A balancer picks among every ready pod: each version's share is its pods'."""
        pods = [self.replicas[k] for k in keys]
        total = sum(pods)
        if total == 0:
            return [(k, 1 / len(keys)) for k in keys]
        return [(k, n / total) for k, n in zip(keys, pods, strict=True) if n]

    def seq(self, demands: list[Demand], mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        """Steps one after another: (mean, variance, async done, share that got through)."""
        t = var = done = 0.0
        alive = 1.0
        for d in demands:
            m, v, a, ok = self.site(d, mult * alive, ctx)
            done = max(done, t + a)
            t += m
            var += v
            if d.on_failure == "fail":
                alive *= ok
        return t, var, max(done, t), alive

    def site(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        return getattr(self, f"_{d.how}")(d, mult, ctx)

    def _pods(self, d: Demand, keys: list[str], share: float, mult: float, ctx: _Ctx,
              inside: list[Demand], hop: bool, queued: bool = True
              ) -> tuple[float, float, float, float]:
        """Visits spread over a host's versions; each holds a slot for its work, the hop and
        what runs inside. Returns the share-weighted (mean, E[R^2], done, ok)."""
        mean = second = done = ok = 0.0
        for key, frac in self._split(keys):
            st = self.net.stations[key]
            own = d.work or st.work
            err = st.error_rate if d.error_rate is None else d.error_rate
            m_in, v_in, done_in, ok_in = self.seq(inside, mult * share * frac * (1 - err), ctx)
            extra = (st.hop if hop else 0.0) + (1 - err) * m_in
            hold = own.mean + extra
            hold2 = own.second + 2 * own.mean * extra + extra**2 + (1 - err) * v_in
            self._add(key, mult * share * frac, hold, hold2, own.mean * st.cpu_share,
                      own.mean + (st.hop if hop else 0.0), ctx)
            w = self._wait(key, ctx) if queued else 0.0
            p = share * frac
            mean += p * (w + hold)
            second += p * (2 * w * w + 2 * w * hold + hold2)
            done += p * (w + hold - (1 - err) * m_in + (1 - err) * done_in)
            ok += p * (1 - err) * ok_in
        return mean, second, done, ok

    def _call(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        mean = second = done = ok = 0.0
        reached = 0.0
        for dest in d.destinations:
            keys = self.net.selected(dest.host, dest.labels)
            if not keys:
                continue
            m, s2, a, o = self._pods(d, keys, dest.share, mult, ctx, d.inside, hop=True)
            mean, second, done, ok = mean + m, second + s2, done + a, ok + o
            reached += dest.share
        return mean, max(0.0, second - mean * mean), done, ok

    def _store_op(self, name: str, work: Moments | None, mult: float, ctx: _Ctx
                  ) -> tuple[float, float]:
        key = f"store/{name}"
        st = self.net.stations.get(key)
        if st is None:
            return 0.0, 0.0
        own = work or st.work
        self._add(key, mult, own.mean, own.second, 0.0, own.mean, ctx)
        w = self._wait(key, ctx)
        return w + own.mean, w * w + own.variance

    def _store(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        m, v = self._store_op(d.target, d.work, mult, ctx)
        return m, v, m, 1 - (d.error_rate or 0.0)

    def _external(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        key = f"external/{d.target}"
        st = self.net.stations[key]
        own = d.work or st.work
        delay = own.mean if st.timeout is None else min(own.mean, st.timeout)
        admitted = 1.0
        if st.rate_limit and mult > st.rate_limit:
            admitted = st.rate_limit / mult  # the rest are answered 429 at once
        self._add(key, mult, delay, own.second, 0.0, delay, ctx)
        err = st.error_rate if d.error_rate is None else d.error_rate
        mean = admitted * delay
        return mean, admitted * own.second - mean * mean, mean, admitted * (1 - err)

    def _publish(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        m, v = self._store_op(d.target, None, mult, ctx)  # the broker's write
        done = m
        if d.consumer is not None:
            keys = self.net.groups.get(d.consumer, [])
            _, _, after, ok = self._pods(d, keys, 1.0, mult, ctx, d.inside, hop=False)
            done = m + after
            ctx.lost += mult * (1 - ok)
        return m, v, done, 1.0

    def _stream(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        """A slot held open while the reply runs (at most the client's patience); the
        request goes on at once."""
        hold = d.hold.mean if d.hold else 30.0
        if ctx.route.asynchronous:
            hold = min(hold, self.e2e.get(ctx.route.name, 0.0))
        for key, frac in self._split(self.net.groups.get(d.target, [])):
            self._add(key, mult * frac, hold, hold * hold, 0.0, 0.0, ctx)
        return 0.0, 0.0, 0.0, 1.0

    def _emit(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        n = d.count
        m = v = 0.0
        if d.first is not None:
            one, var = self._store_op(d.first, None, mult * n, ctx)
            m, v = n * one, n * var
        relay = 0.0
        for hop in d.relay:
            if hop.startswith("store/"):
                one, _ = self._store_op(hop.removeprefix("store/"), None, mult * n, ctx)
                relay += one
            else:
                keys = self.net.groups.get(hop, [])
                one, _, _, _ = self._pods(Demand("call"), keys, 1.0, mult * n, ctx, [], hop=True)
                relay += one
        # written to the user's open stream: no slot to wait for (twin.sim.flows.push)
        pushed = d.target in ctx.route.streams
        keys = self.net.groups.get(d.target, [])
        one, _, _, _ = self._pods(Demand("call"), keys, 1.0, mult * n, ctx, [], hop=True,
                                  queued=not pushed)
        return m, v, m + relay + one, 1.0

    def _branch(self, d: Demand, mult: float, ctx: _Ctx) -> tuple[float, float, float, float]:
        mean = second = done = 0.0
        ok = 1.0 - sum(p for p, _ in d.branches)
        for p, steps in d.branches:
            m, v, a, o = self.seq(steps, mult * p, ctx)
            mean += p * m
            second += p * (v + m * m)
            done += p * a
            ok += p * o
        return mean, max(0.0, second - mean * mean), done, ok

    # ------------------------------------------------------------ the queues

    def round(self) -> tuple[dict[str, RouteState], dict[str, StationState]]:
        self.acc = {}
        self.bounded = set()
        routes = {}
        for name, r in self.net.routes.items():
            rate = self.rates.get(name, 0.0)
            ctx = _Ctx(r)
            m, _, done, ok = self.seq(r.steps, rate, ctx)
            if r.asynchronous:
                self.e2e[name] = done
            sat = tuple(sorted(ctx.saturated))
            failing = min(1.0, 1 - ok + (ctx.lost / rate if rate > 0 else 0.0))
            routes[name] = RouteState(
                name, rate, None if sat else m,
                (None if sat else done) if r.asynchronous else None, failing, sat)
        states = {key: self._state(key) for key in self.net.stations}
        return routes, states

    def _state(self, key: str) -> StationState:
        st = self.net.stations[key]
        a = self.acc.get(key, _Acc())
        pods = self.replicas[key] if st.kind in ("service", "worker") else 1
        hold = a.busy / a.rate if a.rate > 0 else st.work.mean + st.hop
        second = a.second / a.rate if a.rate > 0 else st.work.second
        scv = max(0.0, second / hold**2 - 1) if hold > 0 else 0.0
        bound = key in self.bounded
        if st.kind == "external":
            util = a.rate / st.rate_limit if st.rate_limit else 0.0
            return StationState(key, a.rate, 1, hold, scv, util, 0.0, 0.0, util >= 1.0, bound,
                                a.busy)
        if a.rate <= 0:
            return StationState(key, 0.0, pods, hold, scv, 0.0, 0.0, 0.0, False, False, 0.0)
        if pods == 0:
            return StationState(key, a.rate, 0, hold, scv, math.inf, None, a.cpu, True, bound,
                                a.busy)
        per_pod = a.rate / pods
        util = per_pod * hold / st.servers
        wait = mgc_wait(per_pod, hold, scv, st.servers)
        saturated = util >= 1.0 or math.isinf(wait)
        return StationState(key, a.rate, pods, hold, scv, util, None if saturated else wait,
                            a.cpu, saturated, bound, a.busy)

    def solve(self) -> Solution:
        routes: dict[str, RouteState] = {}
        states: dict[str, StationState] = {}
        rounds = 0
        for rounds in range(1, ROUNDS + 1):  # noqa: B007 - reported
            routes, states = self.round()
            waits = {k: s.wait for k, s in states.items() if s.wait is not None}
            sat = {k for k, s in states.items() if s.saturated and not k.startswith("external/")}
            change = max((abs(waits[k] - self.waits.get(k, 0.0)) / max(waits[k], 1e-9)
                          for k in waits), default=0.0)
            stable = sat == self.sat and change < CONVERGED
            self.waits, self.sat = waits, sat
            if stable and rounds > 1:
                break
        return Solution(states, routes, rounds)


def solve(net: Network, rates: Mapping[str, float], replicas: Mapping[str, int] | None = None,
          closed: Mapping[str, tuple[int, float]] | None = None) -> Solution:
    """Every station and route at these open rates (per route) and closed users
    ({route: (users, think)}), with these pods per station (default: the topology's)."""
    replicas = replicas or {}
    if not closed:
        return _Solver(net, rates, replicas).solve()
    background = _Solver(net, {**rates, **{r: 0.0 for r in closed}}, replicas).solve()
    found: dict[str, MVAResult] = {}
    for route, (users, think) in closed.items():
        found[route] = closed_route(net, route, users, think, background, replicas)
    sol = _Solver(net, {**rates, **{r: res.throughput for r, res in found.items()}},
                  replicas).solve()
    for route, res in found.items():
        users, think = closed[route]
        old = sol.routes[route]
        sol.routes[route] = RouteState(route, res.throughput, res.response, old.end_to_end,
                                       old.failing, old.saturated_by, users, think)
    return sol


def closed_route(net: Network, route: str, users: int, think: float, background: Solution,
                 replicas: Mapping[str, int]) -> MVAResult:
    """MVA of one route's users: its own work per station (nested steps are their own
    stations), each pod a station of c servers, the open load's utilisation there
    inflating the demand by 1 / (1 - U)."""
    probe = _Solver(net, {route: 1.0}, replicas)
    probe.round()  # visits and own work per request, no queueing
    stations: list[Station] = []
    for key, acc in sorted(probe.acc.items()):
        st = net.stations[key]
        if acc.rate <= 0:
            continue
        if st.kind == "external":
            stations.append(Station(acc.own, 0))
            continue
        other = background.stations.get(key)
        busy = min(other.utilisation, 0.99) if other is not None else 0.0
        pods = probe.replicas[key] if st.kind in ("service", "worker") else 1
        if pods == 0:
            continue
        stations += [Station(acc.own / pods / (1 - busy), st.servers)] * pods
    return mva_stations(stations, users, think)
