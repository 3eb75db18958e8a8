"""The `sim` backend: a scenario on the embedded simulator, replication by replication.

Each replication is a `twin.sim.engine.Simulation` with Redis answered by its
servers and sentinels (twin.sim.redis_clients), the scenario's timeline
scheduled as faults, and a recorder that keeps, per time bucket, what checks
need: requests, failures and a latency histogram per route, Redis write
errors, ready pods, queue depths. The Result holds the simulator's own
per-replication metrics and their aggregate; the traces feed the checks.
ACTS is the simulator's table of timeline actions: the Redis, node and pod ones
here, the others from twin.scenario.sim_faults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.model.steps import EmitStep, StreamStep, route_walk
from twin.model.topology import Topology
from twin.result.backend import EVERYTHING, BackendRun, Progress, bucket_for
from twin.result.trace import Trace
from twin.scenario.actions import (
    Action,
    KillPod,
    NodeDown,
    Partition,
    RedisMasterCrash,
    RedisRestartEmpty,
    Scale,
    SentinelDown,
    StoreDown,
)
from twin.scenario.model import Scenario
from twin.scenario.sim_faults import ACTS as FAULTS
from twin.scenario.sim_faults import Apply, Later, Stage


class SimRun(BackendRun):
    """The simulator's run: its result.json leaves out what the report carries instead."""

    def to_json(self) -> dict:
        data = self.result.model_dump(mode="json")
        for run in data.get("runs", []):
            run.pop("series", None)
            run.pop("pods", None)
            run.pop("events", None)  # the report's timeline carries them
        return data


def loads_for(scn: Scenario, topo: Topology):
    from twin.sim import load

    out = load.Loads()
    for r in topo.routes:
        if scn.load.only and r.name not in scn.load.rates:
            continue
        rate = scn.load.rates.get(r.name, r.rate) * scn.load.scale
        if scn.load.profile:
            out.open[r.name] = _Profiled(r.name, rate, "scenario", points=tuple(
                (p.at, p.factor) for p in scn.load.profile))
        else:
            out.open[r.name] = load.Load(r.name, rate)
    return out


def _profiled_class():
    from twin.sim.load import Load

    @dataclass(frozen=True)
    class Profiled(Load):
        """The scenario's piecewise-linear rate factor, drawn by thinning."""

        points: tuple = ()

        def rate_at(self, t: float) -> float:
            pts = self.points
            if t <= pts[0][0]:
                return self.rate * pts[0][1]
            for (a, fa), (b, fb) in zip(pts, pts[1:], strict=False):
                if t <= b:
                    return self.rate * (fb if b == a else fa + (fb - fa) * (t - a) / (b - a))
            return self.rate * pts[-1][1]

        @property
        def peak(self) -> float:
            return self.rate * max(f for _, f in self.points)

    return Profiled


def _Profiled(*args, **kw):  # noqa: N802 - a class made on first use (twin.sim imported lazily)
    return _profiled_class()(*args, **kw)


OBSERVES = EVERYTHING


class SimBackend:
    name = "sim"
    observes = OBSERVES

    def run(self, scenario: Scenario, topology: Topology, seed: int, replications: int,
            progress: Progress) -> SimRun:
        from twin.result.replications import replicate
        from twin.sim.saturation import consumers_of, saturation

        run = replicate(lambda rep, step: run_replication(scenario, topology, seed, rep, step),
                        replications, seed, progress,
                        derived=lambda runs: {"saturated": saturation(runs, consumers_of(topology))},
                        topology=str(scenario.topology), scenario=scenario.name,
                        duration=scenario.duration, warmup=scenario.warmup,
                        interval=bucket_for(scenario.duration),
                        loads=loads_for(scenario, topology).describe())
        return SimRun(run.result, run.trace_list)


def backend() -> SimBackend:
    return SimBackend()


# ------------------------------------------------------------- replication


def run_replication(scn: Scenario, topo: Topology, seed: int, rep: int, progress) -> tuple[Any, Trace]:
    from twin.sim.engine import Simulation
    from twin.sim.redis_clients import attach

    iv = bucket_for(scn.duration)
    sim = Simulation(topo, loads_for(scn, topo), duration=scn.duration, seed=seed, replication=rep,
                     warmup=scn.warmup, interval=max(iv, scn.duration / 120))
    stage = Stage(sim, topo, attach(sim))
    for action in scn.timeline:
        sim.schedule(action.at, lambda s, a=action: _act(stage, a))
    canary = None
    if scn.canary is not None:
        from twin.sim.canary import CanaryController

        canary = CanaryController(sim, scn.canary)
        canary.start()
    rec = Recorder(sim, stage.redis, iv, scn.duration)
    sim.env.process(rec.run())
    rr = sim.run(progress=progress, steps=20)
    rec.finish()
    if canary is not None:
        rr = rr.model_copy(update={"canary": canary.outcome()})
    return rr, rec.trace()


def _act(stage: Stage, a: Action) -> None:
    """One timeline action, through the simulator's own fault hooks."""
    sim = stage.sim
    target = getattr(a, "target", None)
    sim.emit(sim.env.now, target or "scenario", f"scenario:{a.action}", f"id={a.id}" if a.id else "")
    later: Later = ((lambda fn: sim.schedule(a.end, lambda _s: fn())) if a.end is not None
                    else (lambda fn: None))
    ACTS[a.action](stage, a, later)


def _redis_target(stage: Stage, target: str | None):
    if target is not None:
        return stage.redis[stage.name(target)]
    return next(iter(stage.redis.values()))


def _redis_crash(stage: Stage, a: RedisMasterCrash | RedisRestartEmpty, later: Later) -> None:
    rc = _redis_target(stage, a.target)
    empty = a.action == "redis-restart-empty"
    back = a.for_ if a.for_ is not None else (rc.model.restart if empty else None)
    rc.crash(back_after=back, empty=empty)


def _sentinel_down(stage: Stage, a: SentinelDown, later: Later) -> None:
    rc = _redis_target(stage, a.target)
    n = len(rc.group.sentinels)
    idx = list(range(n - 1, n - 1 - (a.count or 1), -1))
    for i in idx:
        rc.group.kill_sentinel(i)
    later(lambda: [rc.group.restart_sentinel(i, new_address=False) for i in idx])


def _partition(stage: Stage, a: Partition, later: Later) -> None:
    stores = [_redis_target(stage, a.target)] if a.target else list(stage.redis.values())
    cut: set[str] = set()
    for rc in stores:
        cut |= rc.partition(a.isolate)
    if a.target is None:
        _cut_other_stores(stage, cut, later)
    later(lambda: [rc.heal() for rc in stores])


def _node_down(stage: Stage, a: NodeDown, later: Later) -> None:
    sim = stage.sim
    node = stage.name(a.target)
    sim.node_down(node)
    crashed = []
    for rc in stage.redis.values():
        for server in rc.group.servers:
            pod = sim.cluster.pod(server)
            if pod is not None and pod.node is not None and pod.node.name == node:
                rc.group.crash(server)
                crashed.append((rc, server))
    later(lambda: (sim.node_up(node), [rc.group.restart(s) for rc, s in crashed]))


def _store_down(stage: Stage, a: StoreDown, later: Later) -> None:
    name = stage.name(a.target)
    if name in stage.redis:
        rc = stage.redis[name]
        servers = [s for s, srv in rc.group.servers.items() if srv.up]
        for s in servers:
            rc.group.crash(s)
        later(lambda: [rc.group.restart(s) for s in servers])
    else:
        stage.sim.stores[name].crash("scenario store-down", a.for_ if a.for_ is not None else -1)


def _kill_pod(stage: Stage, a: KillPod, later: Later) -> None:
    sim = stage.sim
    pods = sorted((p for p in sim.pods(stage.name(a.target)) if p.alive), key=lambda p: p.name)
    for p in pods[: a.count or 1]:
        sim.kill(f"pod/{p.name}", "scenario kill-pod")


def _scale(stage: Stage, a: Scale, later: Later) -> None:
    name = stage.name(a.target)
    deps = [d for d in stage.sim.cluster.deployments.values() if d.workload == name]
    if deps:
        deps[0].scale(a.replicas, "scenario")


def _cut_other_stores(stage: Stage, cut: set[str], later: Later) -> None:
    """A partition with no target cuts every store: pods on one side lose the stores
    whose servers are on the other."""
    from twin.sim.redis_clients import CutAccess

    sim = stage.sim
    isolated_pods = set(cut)
    for name, store in sim.stores.items():
        if name in stage.redis:
            continue
        server_side = store.primary is not None and store.primary.name in isolated_pods
        clients = {p.name for p in sim.cluster.pods} - isolated_pods if server_side else isolated_pods
        previous = store.access
        store.use(CutAccess(store, clients))
        later(lambda store=store, previous=previous: setattr(store, "access", previous))


ACTS: dict[str, Apply] = {
    "redis-master-crash": _redis_crash,
    "redis-restart-empty": _redis_crash,
    "sentinel-down": _sentinel_down,
    "partition": _partition,
    "node-down": _node_down,
    "store-down": _store_down,
    "kill-pod": _kill_pod,
    "scale": _scale,
    **FAULTS,
}
"""The simulator applies every action: name -> what it does."""


# ---------------------------------------------------------------- recorder


class Recorder:
    """Per bucket: deltas of the core's cumulative meters, and gauges sampled."""

    def __init__(self, sim, redis: dict, interval: float, duration: float) -> None:  # noqa: ANN001
        self.sim = sim
        self.redis = redis
        self.iv = interval
        self.n = int(math.ceil(duration / interval - 1e-9))
        self.counters: dict[str, np.ndarray] = {}
        self.gauges: dict[str, np.ndarray] = {}
        self.hists: dict[str, list] = {}
        self.prev: dict[str, float] = {}
        self.prev_hist: dict[str, tuple] = {}
        self.i = 0
        topo = sim.topology
        self.emitting = {r.name for r in topo.routes
                         if any(isinstance(s, EmitStep) for s, _ in route_walk(topo, r))}
        # the core counts open SSE streams across the cluster: they are one service's
        # only when one service holds them all (else the metric is left out: n/a)
        held = {s.stream for r in topo.routes for s, _ in route_walk(topo, r)
                if isinstance(s, StreamStep)}
        self.stream_host = next(iter(held)) if len(held) == 1 else None

    def _count(self, key: str, total: float) -> None:
        prev = self.prev.get(key, 0.0)
        delta = total - prev if total >= prev else total  # a meter reset at the warm-up
        self.prev[key] = total
        arr = self.counters.setdefault(key, np.zeros(self.n))
        if self.i < self.n:
            arr[self.i] += delta

    def _gauge(self, key: str, value: float) -> None:
        arr = self.gauges.setdefault(key, np.full(self.n, np.nan))
        if self.i < self.n:
            arr[self.i] = value

    def _hist(self, key: str, h) -> None:  # noqa: ANN001 - a twin.sim.stats.Histogram
        from twin.sim.stats import Histogram

        prev = self.prev_hist.get(key)
        out = Histogram()
        if prev is None or h.count < prev[0]:
            prev = (0, 0, 0.0, 0.0, {})
        out.count = h.count - prev[0]
        out.zeros = h.zeros - prev[1]
        out.total = h.total - prev[2]
        out.total_sq = h.total_sq - prev[3]
        out.max = h.max
        pb = prev[4]
        out.buckets = {k: v - pb.get(k, 0) for k, v in h.buckets.items() if v - pb.get(k, 0) > 0}
        if out.buckets:
            out.max = min(h.max, math.exp((max(out.buckets) + 1) / (1.0 / math.log1p(0.01))))
        self.prev_hist[key] = (h.count, h.zeros, h.total, h.total_sq, dict(h.buckets))
        lst = self.hists.setdefault(key, [None] * self.n)
        if self.i < self.n:
            lst[self.i] = out

    def sample(self) -> None:
        sim = self.sim
        for name, rt in sim.routes.items():
            key = f"route/{name}"
            self._count(f"{key}.requests", rt.latency.count)
            self._count(f"{key}.failed", sum(rt.errors.values()))
            if rt.asynchronous:
                self._count(f"{key}.turns_incomplete", rt.turns_failed)
            if name in self.emitting:
                self._count(f"{key}.events_lost", rt.events_lost)
                self._count(f"{key}.events_duplicated", rt.events_duplicated)
            self._gauge(f"{key}.in_flight", rt.inflight.n)
            self._hist(f"{key}.latency", rt.latency)
        for w in sim.topology.workloads:
            self._workload(w)
        for key, weight in self._weights():
            self._gauge(key, weight)
        if self.stream_host is not None:
            self._gauge(f"service/{self.stream_host}.open_streams", sim.flows.streams_open.n)
        for name, q in sim.queues.items():
            self._gauge(f"queue/{name}.length", len(q.ready))
            self._count(f"queue/{name}.published", q.published)
            self._count(f"queue/{name}.dropped", q.dropped)
            self._count(f"queue/{name}.requeued", q.requeued)
            self._count(f"queue/{name}.lost", q.lost)
        for name, rc in self.redis.items():
            key = f"store/{name}"
            self._count(f"{key}.writes", rc.group.acknowledged + rc.write_errors)
            self._count(f"{key}.write_errors", rc.write_errors)
            self._count(f"{key}.reads", rc.reads)
            self._count(f"{key}.read_errors", rc.read_errors)
            self._count(f"{key}.readonly_errors", rc.errors.get("READONLY", 0))
            self._count(f"{key}.connection_errors",
                        rc.errors.get("refused", 0) + rc.errors.get("timeout", 0))
            self._count(f"{key}.reconnects", rc.reconnects)
            self._count(f"{key}.connections_opened", rc.connections_opened)
            self._count(f"{key}.sentinel_queries", rc.sentinel_queries)
            self._count(f"{key}.subscriptions_dropped", rc.subscriptions_dropped)
            now = self.sim.env.now  # the fraction of the bucket writes failed
            self._gauge(f"{key}.write_failing", rc.failing_time(now - self.iv, now) / self.iv)
        for name, store in sim.stores.items():
            if name not in self.redis:
                self._gauge(f"store/{name}.unavailable", 0.0 if store.reachable("report") else 1.0)
            if store.max_connections:
                self._gauge(f"store/{name}.connections", store.connections)
        for name, node in sim.cluster.nodes.items():
            self._gauge(f"node/{name}.ready", 1.0 if node.ready else 0.0)

    def _workload(self, w) -> None:  # noqa: ANN001 - a topology workload
        """Ready pods, desired replicas, busy slots and what it served: the workload's and,
        for a workload with versions, each version's (`service/chat-api/v2.ready`)."""
        from twin.sim.cluster import READY

        sim = self.sim
        kind = "worker" if w in sim.topology.workers else "service"
        ready = [p for p in sim.cluster.pods if p.workload == w.name and p.phase == READY]
        deps = [d for d in sim.cluster.deployments.values() if d.workload == w.name]
        groups: dict[str, tuple[list, list]] = {"": (ready, deps)}
        for v in w.versions or ():
            groups[f"/{v.name}"] = ([p for p in ready if p.version == v.name],
                                    [d for d in deps if d.name == f"{w.name}-{v.name}"])
        for suffix, (pods, ds) in groups.items():
            key = f"{kind}/{w.name}{suffix}"
            self._gauge(f"{key}.ready", len(pods))
            self._gauge(f"{key}.replicas", sum(d.desired for d in ds))
            cap = sum(p.slots.capacity for p in pods)
            self._gauge(f"{key}.utilisation", sum(p.slots.busy for p in pods) / cap if cap else float("nan"))
            if kind == "service":
                self._gauge(f"{key}.in_flight", sum(p.meters.inside.n for p in pods))
        self._served(w, kind)

    def _served(self, w, kind: str) -> None:  # noqa: ANN001 - a topology workload
        """A service's tries as its callers' sidecars saw them (retries included; those
        that reached no pod count for the service, as Istio's have no version), a worker's
        tasks and their wait in the queue; per version when it has them."""
        from twin.sim.stats import Histogram

        sim = self.sim
        host = sim.mesh.hosts.get(w.name) if kind == "service" else None
        tries = failed = host.unserved if host is not None else 0
        latency, wait = Histogram(), Histogram()
        count = "requests" if kind == "service" else "tasks"
        for (name, version), served in sim.served.items():
            if name != w.name:
                continue
            tries += served.tries
            failed += served.failed
            latency.merge(served.latency)
            wait.merge(served.wait)
            if w.versions:
                key = f"{kind}/{w.name}/{version}"
                self._count(f"{key}.{count}", served.tries)
                self._count(f"{key}.failed", served.failed)
                self._hist(f"{key}.latency", served.latency)
                if kind == "worker":
                    self._hist(f"{key}.queue_wait", served.wait)
        key = f"{kind}/{w.name}"
        self._count(f"{key}.{count}", tries)
        self._count(f"{key}.failed", failed)
        self._hist(f"{key}.latency", latency)
        if kind == "worker":
            self._hist(f"{key}.queue_wait", wait)

    def _weights(self) -> list[tuple[str, float]]:
        """Each VirtualService subset's share of new requests, in per cent: as the mesh
        routes them now (a canary moves them), else as the topology sets them."""
        mesh = self.sim.mesh
        out: dict[str, float] = {}
        for vs in (mesh.model.virtual_services if mesh.model is not None else ()):
            live = next((r for r in mesh.routes.values() if r.name == f"vs/{vs.name}"), None)
            dests = ([(b.service, b.subset, w) for b, w in live.destinations] if live is not None
                     else [(d.host, d.subset, d.weight) for d in vs.http[0].route])
            total = sum(w for *_, w in dests) or 1
            for service, subset, weight in dests:
                if subset is not None:
                    out.setdefault(f"service/{service}/{subset}.weight", 100.0 * weight / total)
        return list(out.items())

    def run(self):
        env = self.sim.env
        while self.i < self.n:
            yield env.timeout(self.iv)
            self.sample()
            self.i += 1

    def finish(self) -> None:
        """Acknowledged writes lost, judged once at the end (asking earlier would draw
        replication lags from the servers' streams and change the run)."""
        for name, rc in self.redis.items():
            arr = np.zeros(self.n)
            arr[-1] = max(0, rc.group.lost_acknowledged_writes)
            self.counters[f"store/{name}.writes_lost"] = arr

    def trace(self) -> Trace:
        events = [{"t": t, "source": s, "event": e, "detail": d} for t, s, e, d in self.sim.events]
        end = self.sim.env.now
        spans = {f"store/{name}.write_failing": rc.failing_spans(end) for name, rc in self.redis.items()}
        spans.update({f"route/{name}.failing": rt.outages.until(end) for name, rt in self.sim.routes.items()})
        return Trace(self.iv, self.counters, self.gauges, self.hists, events, spans=spans)


__all__ = ["ACTS", "SimBackend", "SimRun", "backend"]
