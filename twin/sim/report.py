"""From a finished simulation's meters to the Result shape (twin.result)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Protocol

from twin.result.model import (
    Event,
    ExternalMetrics,
    NodeMetrics,
    PodMetrics,
    QueueMetrics,
    ReplicationResult,
    RouteMetrics,
    Series,
    StoreMetrics,
    Summary,
    WorkloadMetrics,
)
from twin.sim.flows import RouteRuntime
from twin.sim.pod import PENDING, READY, TERMINAL
from twin.sim.stats import Histogram

if TYPE_CHECKING:
    import simpy

    from twin.model.topology import Topology
    from twin.sim.broker import Queue
    from twin.sim.cluster import Cluster
    from twin.sim.externals import External
    from twin.sim.flows import Flows
    from twin.sim.pod import Pod
    from twin.sim.stores import Store


class Simulation(Protocol):
    """What the report reads of a run (a twin.sim.engine.Simulation): the engine imports
    the report, never the other way round."""

    env: simpy.Environment
    topology: Topology
    cluster: Cluster
    routes: dict[str, RouteRuntime]
    stores: dict[str, Store]
    queues: dict[str, Queue]
    externals: dict[str, External]
    flows: Flows
    events: list[tuple[float, str, str, str]]
    events_dropped: int
    series: dict[str, list[float]]
    replication: int
    seed: int
    duration: float
    warmup: float
    interval: float


def summary(h: Histogram) -> Summary:
    return Summary(count=h.count, mean=h.mean, p50=h.quantile(0.5), p95=h.quantile(0.95),
                   p99=h.quantile(0.99), max=h.max)


def replication_result(sim: Simulation) -> ReplicationResult:
    now = sim.env.now
    span = max(now - sim.warmup, 1e-9)
    routes = {}
    for name, rt in sim.routes.items():
        completed = rt.latency.count
        failed = sum(rt.errors.values())
        e2e = None
        if rt.asynchronous:
            e2e = summary(rt.e2e)
        routes[name] = RouteMetrics(
            arrivals=rt.arrivals, completed=completed, ok=rt.ok, errors=dict(sorted(rt.errors.items())),
            error_rate=failed / completed if completed else 0.0, throughput=completed / span,
            latency=summary(rt.latency), in_flight=rt.inflight.mean(now), degraded=rt.degraded,
            end_to_end=e2e, end_to_end_ok=rt.e2e_ok,
            end_to_end_errors=dict(sorted(rt.e2e_errors.items())),
            end_to_end_open=rt.open if rt.asynchronous else 0,
        )
    pods = {}
    for pod in sim.cluster.pods:
        cap = pod.slots.capacity if pod.kind in ("service", "worker") else 0
        pods[pod.name] = _pod_metrics(pod, now, span, cap, pod.meters.cpu_seconds / span)
    workloads = {}
    for w in sim.topology.workloads:
        ps = [p for p in sim.cluster.pods if p.workload == w.name]
        ready = [p for p in ps if p.phase == READY]
        visits = sum(p.meters.visits for p in ps)
        cpu = sum(p.meters.cpu_seconds for p in ps) / span
        req = sum(p.cpu for p in ready) or 1e-9
        workloads[w.name] = WorkloadMetrics(
            kind="worker" if w in sim.topology.workers else "service",
            pods_ready=len(ready), pods_pending=sum(p.phase == PENDING for p in ps), visits=visits,
            throughput=visits / span, errors=sum(p.meters.errors for p in ps),
            mean_sojourn=sum(p.meters.sojourn for p in ps) / visits if visits else 0.0,
            mean_wait=sum(p.meters.wait.total for p in ps) / max(1, sum(p.meters.wait.count
                                                                       for p in ps)),
            utilisation=sum(pods[p.name].utilisation for p in ready) / len(ready) if ready else 0.0,
            cpu_cores=cpu, cpu_utilisation=cpu / req,
        )
    nodes = {}
    for node in sim.cluster.node_list:
        used = sum(p.meters.cpu_seconds for p in sim.cluster.pods if p.node is node) / span
        nodes[node.name] = NodeMetrics(
            pool=node.spec.pool, ready=node.ready and node.reachable,
            pods=sum(p.phase not in TERMINAL for p in node.pods),
            cpu_allocatable=node.spec.cpu, cpu_requested=node.cpu_requested,
            memory_allocatable=node.spec.memory, memory_requested=node.memory_requested,
            cpu_used=used, cpu_utilisation=used / node.spec.cpu if node.spec.cpu else 0.0)
    queues = {name: QueueMetrics(
        published=q.published, delivered=q.delivered, dropped=q.dropped, rejected=q.rejected,
        lost=q.lost, requeued=q.requeued, mean_depth=q.depth.mean(now), max_depth=q.depth.peak,
        final_depth=len(q.ready), mean_wait=q.wait.mean, wait_p95=q.wait.quantile(0.95))
        for name, q in sim.queues.items()}
    stores = {name: _store_metrics(s, now, span) for name, s in sim.stores.items()}
    externals = {name: ExternalMetrics(calls=e.calls, errors=dict(sorted(e.errors.items())),
                                       latency=summary(e.latency))
                 for name, e in sim.externals.items()}
    events = [Event(time=t, source=s, event=e, detail=d) for t, s, e, d in sim.events]
    return ReplicationResult(
        replication=sim.replication, seed=sim.seed, duration=sim.duration, warmup=sim.warmup,
        events=events, events_dropped=sim.events_dropped, routes=routes, workloads=workloads,
        pods=pods, nodes=nodes, queues=queues, stores=stores, externals=externals,
        streams_open=sim.flows.streams_open.mean(now),
        pending_pods=[p.name for p in sim.cluster.pods if p.phase == PENDING],
        series=Series(interval=sim.interval, t=sim.series["t"],
                      values={k: v for k, v in sim.series.items() if k != "t"}),
    )


def _store_metrics(s: Store, now: float, span: float) -> StoreMetrics:
    m = s.meters
    inside = m.inside.mean(now)
    busy = max(0.0, inside - m.wait.total / span)  # L - Lq, as a pod's (not min(L, c))
    return StoreMetrics(
        kind=s.model.kind, up=s.reachable("report"), ops=m.visits,
        errors=dict(sorted(s.errors.items())), in_system=inside,
        mean_sojourn=m.sojourn / m.visits if m.visits else 0.0, mean_wait=m.wait.mean,
        utilisation=min(1.0, busy / s.concurrency),
        connections=s.connections, max_connections=s.max_connections)


def _pod_metrics(pod: Pod, now: float, span: float, cap: int, cpu_cores: float) -> PodMetrics:
    m = pod.meters
    visits = m.visits
    inside = m.inside.mean(now)
    # busy slots = L - Lq, with Lq = (total wait) / span by Little's law on the queue
    busy = max(0.0, inside - m.wait.total / span) + m.held.mean(now)  # and open streams
    return PodMetrics(
        workload=pod.workload, kind=pod.kind,
        version=pod.version if pod.kind in ("service", "worker") else "",
        node=pod.node.name if pod.node else None, phase=pod.phase, visits=visits,
        throughput=visits / span, in_system=inside,
        mean_sojourn=m.sojourn / visits if visits else 0.0,
        mean_wait=m.wait.mean,
        p_wait=(m.wait.count - m.wait.zeros) / m.wait.count if m.wait.count else 0.0,
        wait_p95=m.wait.quantile(0.95),
        utilisation=min(1.0, busy / cap) if cap else 0.0,
        cpu_cores=cpu_cores, cpu_request=pod.cpu,
        cpu_utilisation=cpu_cores / pod.cpu if pod.cpu else 0.0, errors=m.errors)


class _Since:
    """What a route's cumulative end-to-end meters held at the last sample, so that each
    interval gets its own quantiles without a second histogram in the flows."""

    __slots__ = ("buckets", "snapshot", "zeros", "errors")

    def __init__(self) -> None:
        self.buckets: dict[int, int] | None = None  # the live dict (identity: a reset replaces it)
        self.snapshot: dict[int, int] = {}
        self.zeros = 0
        self.errors = 0


_since: weakref.WeakKeyDictionary[RouteRuntime, _Since] = weakref.WeakKeyDictionary()


def _e2e_interval(rt: RouteRuntime) -> tuple[Histogram, int]:
    """The end-to-end latencies and failures recorded since the previous sample."""
    last = _since.get(rt)
    if last is None:
        last = _since[rt] = _Since()
    h = rt.e2e
    failed = sum(rt.e2e_errors.values())
    if last.buckets is not h.buckets:  # first sample, or the meters were reset at the warm-up
        last.snapshot, last.zeros, last.errors = {}, 0, 0
    part = Histogram()
    for i, n in h.buckets.items():
        d = n - last.snapshot.get(i, 0)
        if d:
            part.buckets[i] = d
    part.zeros = h.zeros - last.zeros
    part.count = sum(part.buckets.values()) + part.zeros
    part.max = h.max
    errors = max(0, failed - last.errors)
    last.buckets, last.snapshot, last.zeros, last.errors = h.buckets, dict(h.buckets), h.zeros, failed
    return part, errors


def sample_series(sim: Simulation) -> None:
    """Append one point per metric: per-interval throughput, errors and latency quantiles;
    asynchronous routes also get end-to-end quantiles (route/NAME/e2e_p95) and their
    error_rate counts failures of any part (the summary's errors column does too)."""
    s = sim.series
    now = sim.env.now
    iv = sim.interval

    def put(key: str, value: float) -> None:
        lst = s.get(key)
        if lst is None:
            lst = s[key] = [0.0] * (len(s["t"]) - 1)
        lst.append(value)

    s["t"].append(now)
    for name, rt in sim.routes.items():
        h = rt.interval
        put(f"route/{name}/throughput", h.count / iv)
        put(f"route/{name}/errors", rt.iv_errors / iv)
        put(f"route/{name}/p50", h.quantile(0.5))
        put(f"route/{name}/p95", h.quantile(0.95))
        put(f"route/{name}/in_flight", float(rt.inflight.n))
        if rt.asynchronous:
            e2e, failed = _e2e_interval(rt)
            put(f"route/{name}/e2e_p50", e2e.quantile(0.5))
            put(f"route/{name}/e2e_p95", e2e.quantile(0.95))
            put(f"route/{name}/e2e_throughput", e2e.count / iv)  # turns completed per second
            put(f"route/{name}/error_rate", failed / e2e.count if e2e.count else 0.0)
        else:
            put(f"route/{name}/error_rate", rt.iv_errors / h.count if h.count else 0.0)
        h.reset()
        rt.iv_errors = 0
    for name, q in sim.queues.items():
        put(f"queue/{name}/depth", float(len(q.ready)))
    for w in sim.topology.workloads:
        ready = [p for p in sim.cluster.pods if p.workload == w.name and p.phase == READY]
        put(f"workload/{w.name}/ready", float(len(ready)))
        put(f"workload/{w.name}/busy", float(sum(p.slots.busy for p in ready)))
    put("streams/open", float(sim.flows.streams_open.n))
