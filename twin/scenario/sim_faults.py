"""The simulator's faults beyond Redis and pods: each calls the mechanism the real system has.

control-plane-down stops the node lifecycle controller, the HPAs, the scheduler
and the ReplicaSets (twin.sim.node_lifecycle.ControlPlane); worker-crash
SIGKILLs the worker containers holding the most tasks (an OOM kill: the kubelet
restarts them in place, the broker requeues or loses their tasks by acks_late);
broker-down stops RabbitMQ; rabbitmq-memory-alarm takes every connection slot
of the broker so that publishes wait (a blocked connection, not an error);
postgres-primary-down stops the primary under Patroni (HA fails over, single
mode waits for someone); external-slow / external-rate-limit change the LLM
provider; mesh-fault is an Istio fault injection on the routes to a service,
spent in the caller's sidecar before the try starts; service-slow makes the
service itself slow (a dependency it waits on, a long GC), so that the callers'
per-try timeouts fire and the retries of every hop multiply on it; drain is
`kubectl drain` against the PodDisruptionBudgets and rolling-update a
Deployment rollout with or without preStop (twin.sim.node_lifecycle);
poison-message publishes a message whose task crashes the worker container
that runs it (the broker requeues it with acks_late, or it is lost); the kubelet
restarts that container under CrashLoopBackOff (twin.sim.cluster.Cluster.crash).

ACTS maps each of these actions' names to its function; twin.scenario.sim_backend
adds the Redis, node and pod actions to make the simulator's one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import simpy

from twin.model.topology import RabbitMQ, Topology
from twin.scenario.actions import (
    BrokerDown,
    ControlPlaneDown,
    Drain,
    ExternalRateLimit,
    ExternalSlow,
    MeshFault,
    PoisonMessage,
    PostgresPrimaryDown,
    RabbitmqMemoryAlarm,
    RollingUpdate,
    ServiceSlow,
    WorkerCrash,
)
from twin.sim.mesh import InjectedFault

Later = Callable[[Callable[[], Any]], None]
"""later(fn): fn runs when the action's `for` ends (never, for an action without one)."""


@dataclass(frozen=True)
class Stage:
    """One replication as a timeline action finds it."""

    sim: Any                 # twin.sim.engine.Simulation
    topo: Topology
    redis: dict[str, Any]    # Redis store name -> its twin.sim.redis_clients.RedisClients

    def name(self, target: str) -> str:
        """The component a target names (`service/chat-api` -> `chat-api`)."""
        return _name(self.topo, target)


Apply = Callable[[Stage, Any, Later], None]
"""apply(stage, action, later): the action at the current simulated time."""


def _name(topo: Topology, target: str) -> str:
    from twin.graph.naming import resolve

    return resolve(topo, target).name


def _broker(sim: Any, topo: Topology, target: str | None) -> Any:
    if target is not None:
        return sim.stores[_name(topo, target)]
    name = next(s.name for s in topo.stores if isinstance(s, RabbitMQ))
    return sim.stores[name]


def _control_plane_down(stage: Stage, a: ControlPlaneDown, later: Later) -> None:
    cp = stage.sim.control_plane
    cp.down("scenario control-plane-down")
    later(lambda: cp.up("scenario control-plane back"))


def _worker_crash(stage: Stage, a: WorkerCrash, later: Later) -> None:
    sim, now = stage.sim, stage.sim.env.now
    pods = sorted((p for p in sim.pods(stage.name(a.target)) if p.alive),
                  key=lambda p: (-(p.busy + len(p.buffer)), p.name))
    for p in pods[: a.count or 1]:
        sim.emit(now, p.component, "WorkerCrash",
                 f"{p.busy} tasks running, {len(p.buffer)} prefetched")
        sim.crash(f"pod/{p.name}", "scenario worker-crash (SIGKILL)")


def _broker_down(stage: Stage, a: BrokerDown, later: Later) -> None:
    store = _broker(stage.sim, stage.topo, a.target)
    store.crash("scenario broker-down", a.for_ if a.for_ is not None else -1)


def _memory_alarm(stage: Stage, a: RabbitmqMemoryAlarm, later: Later) -> None:
    sim = stage.sim
    store = _broker(sim, stage.topo, a.target)
    until = a.end if a.end is not None else sim.duration
    watermark = getattr(store.model, "memory_high_watermark", 0.4)
    sim.emit(sim.env.now, store.component, "MemoryAlarm",
             f"vm_memory_high_watermark {watermark:g} reached: publishers blocked")
    for _ in range(store.concurrency):
        sim.env.process(_hold(sim.env, store, until))
    later(lambda: sim.emit(sim.env.now, store.component, "MemoryAlarmCleared",
                           "publishers unblocked"))


def _postgres_primary_down(stage: Stage, a: PostgresPrimaryDown, later: Later) -> None:
    sim = stage.sim
    pg = sim.postgres[stage.name(a.target)] if a.target else next(iter(sim.postgres.values()))
    pg.fail()
    later(pg.restart)


def _external_slow(stage: Stage, a: ExternalSlow, later: Later) -> None:
    ext = stage.sim.externals[stage.name(a.target)]
    ext.slow = a.factor
    later(lambda: setattr(ext, "slow", 1.0))


def _external_rate_limit(stage: Stage, a: ExternalRateLimit, later: Later) -> None:
    ext = stage.sim.externals[stage.name(a.target)]
    before = (ext.rate, ext.capacity)
    _limit(ext, a.rate)
    later(lambda: _limit(ext, before[0], before[1]))


def _rolling_update(stage: Stage, a: RollingUpdate, later: Later) -> None:
    sim, topo = stage.sim, stage.topo
    name = _name(topo, a.target)
    workload = next(w for w in topo.workloads if w.name == name)
    dname = f"{name}-{workload.versions[0].name}" if workload.versions else name
    pre_stop = a.pre_stop if a.pre_stop is not None else workload.pre_stop
    sim.node_lifecycle.rolling_update(sim.cluster.deployments[dname], pre_stop=pre_stop)


def _hold(env: simpy.Environment, store: Any, until: float):  # noqa: ANN202 - a SimPy process
    """Take one of the broker's slots until the alarm clears: publishes queue behind it."""
    queued = store.slots.take(env)
    if queued is not None:
        yield queued
    yield env.timeout(max(0.0, until - env.now))
    store.slots.give()


def _limit(ext: Any, rate: float, capacity: float | None = None) -> None:
    """A new token bucket: `rate` per second, one second's worth at most."""
    ext.rate = rate
    ext.capacity = capacity if capacity is not None else max(1.0, rate)
    ext.tokens = min(ext.tokens, ext.capacity)
    ext.last = ext.env.now


def _mesh_fault(stage: Stage, a: MeshFault, later: Later) -> None:
    """Istio HTTPFaultInjection on every route whose destinations include the service."""
    sim, topo = stage.sim, stage.topo
    service = _name(topo, a.target)
    pct = 100.0 if a.percent is None else a.percent
    fault = InjectedFault(delay=a.delay, delay_percent=pct, abort_status=a.abort_status,
                          abort_percent=pct if a.abort_percent is None else a.abort_percent,
                          subset=a.subset)
    routes = [r for r in sim.mesh.routes.values() if any(b.service == service for b in r.backends)]
    if not routes:
        raise ValueError(f"mesh-fault: no mesh route leads to {service}")
    previous = [(r, r.fault) for r in routes]
    for r in routes:
        r.fault = fault
    for p in _call_plans(sim):
        if p.route in routes:
            p.simple = False  # the short path skips fault injection
    what = " ".join(x for x in (f"delay {a.delay:g}s on {pct:g}%" if a.delay else "",
                                f"abort {a.abort_status} on {fault.abort_percent:g}%"
                                if a.abort_status else "",
                                f"of the tries to subset {a.subset}" if a.subset else "") if x)
    sim.emit(sim.env.now, f"service/{service}", "FaultInjected", what)
    def end() -> None:
        for r, f in previous:
            r.fault = f
        to = f" to subset {a.subset}" if a.subset else ""
        sim.emit(sim.env.now, f"service/{service}", "FaultRemoved",
                 f"{fault.calls} calls{to} met it during the fault")

    later(end)


def _service_slow(stage: Stage, a: ServiceSlow, later: Later) -> None:
    """Every pod of the workload, new ones included, takes `delay` longer per request."""
    sim, topo = stage.sim, stage.topo
    name = _name(topo, a.target)
    deployments = [d for d in sim.cluster.deployments.values() if d.workload == name]
    makers = [(d, d.make_pod) for d in deployments]

    def slowed(make: Callable[[str], Any]) -> Callable[[str], Any]:
        def make_slow(pod_name: str) -> Any:
            pod = make(pod_name)
            pod.lag = a.delay
            return pod
        return make_slow

    for d, make in makers:
        d.make_pod = slowed(make)
        for p in d.pods:
            p.lag = a.delay
    sim.emit(sim.env.now, f"service/{name}", "ServiceSlow", f"{a.delay:g}s longer per request")

    def end() -> None:
        for d, make in makers:
            d.make_pod = make
            for p in d.pods:
                p.lag = 0.0
        sim.emit(sim.env.now, f"service/{name}", "ServiceRecovered", "back to its own pace")

    later(end)


def _drain(stage: Stage, a: Drain, later: Later) -> None:
    """`kubectl drain NODE` (no timeout): evictions a PDB refuses are retried every 5 s;
    `for`: uncordoned when it ends."""
    sim, topo = stage.sim, stage.topo
    node = _name(topo, a.target)
    pdbs = {w.name: w.pdb for w in topo.workloads if w.pdb is not None}
    sim.node_lifecycle.drain(node, pdbs)

    def uncordon() -> None:
        sim.cluster.nodes[node].ready = True
        sim.emit(sim.env.now, f"node/{node}", "NodeSchedulable", "uncordoned")
        sim.cluster.control_plane_restored()  # the scheduler places what waited

    later(uncordon)


class _Crash:
    """A task step that crashes what runs it after `after` seconds (a segfault in a
    native library, an OOM kill on a huge payload).

    kills=pod: the worker container dies, its channel closes, the broker requeues
    its unacked deliveries (acks_late) or the task is gone (acked at start); the
    kubelet restarts the container in the same pod after its CrashLoopBackOff delay.
    kills=process: one prefork child dies and the pod lives on; Celery then fails
    the task (WorkerLostError, the message acked) unless acks_late and
    reject_on_worker_lost are both on, when it rejects it back to the queue.
    """

    on_failure = "fail"

    def __init__(self, sim: Any, after: float, kills: str, queue: Any, reject: bool):
        self.sim = sim
        self.after = after
        self.kills = kills
        self.queue = queue
        self.reject = reject

    def run(self, req: Any, pod: Any):  # noqa: ANN201 - a SimPy generator
        from twin.sim import causes

        incarnation = pod.incarnation
        yield self.sim.env.timeout(self.after)
        if pod.incarnation != incarnation or not pod.alive:
            return causes.MESSAGE_LOST
        now = self.sim.env.now
        if self.kills == "pod":
            self.sim.emit(now, pod.component, "PoisonMessage", "the task crashed its worker")
            self.sim.crash(f"pod/{pod.name}", "poison message")
            return causes.MESSAGE_LOST
        back = self.reject and self.queue.acks_late
        self.sim.emit(now, pod.component, "PoisonMessage",
                      "the task killed its pool process (WorkerLostError): "
                      + ("rejected back to the queue" if back else "the message is acked"))
        if back:
            delivery = next((d for d in self.queue.running.get(pod, {}).values() if d[0] is req),
                            None)
            if delivery is not None:
                self.queue.reject(pod, delivery)
        return causes.SERVER_ERROR


class _Poisoned:
    """What a PublishPlan carries to the worker: the steps of the task."""

    def __init__(self, steps: list):
        self.steps = steps


def _poison(stage: Stage, a: PoisonMessage, later: Later) -> None:
    from twin.sim.flows import Request, RouteRuntime

    sim, topo = stage.sim, stage.topo

    name = _name(topo, a.target)
    worker = next(w for w in topo.workers if w.name == name)
    queue = sim.queues[worker.queue]
    route = RouteRuntime("poison-message", asynchronous=False)
    crash = _Crash(sim, a.delay if a.delay is not None else 1.0, a.kills or "pod", queue,
                   worker.reject_on_worker_lost)
    plan = _Poisoned([crash])
    for _ in range(a.count or 1):
        req = Request(route, sim.env.now)
        req.pending = 1
        queue.publish([req, plan, sim.env.now])
    sim.emit(sim.env.now, queue.component, "PoisonPublished",
             f"{a.count or 1} message(s) that crash the worker running them")


def _call_plans(sim: Any) -> list:
    from twin.sim.flows import CallPlan

    out, stack = [], [p for rt in sim.routes.values() for p in rt.plans]
    while stack:
        p = stack.pop()
        if isinstance(p, CallPlan):
            out.append(p)
        stack.extend(getattr(p, "fallback", None) or [])
        stack.extend(getattr(p, "steps", None) or [])
        for branch in getattr(p, "branches", None) or []:
            stack.extend(branch)
    return out


ACTS: dict[str, Apply] = {
    "control-plane-down": _control_plane_down,
    "worker-crash": _worker_crash,
    "broker-down": _broker_down,
    "rabbitmq-memory-alarm": _memory_alarm,
    "postgres-primary-down": _postgres_primary_down,
    "external-slow": _external_slow,
    "external-rate-limit": _external_rate_limit,
    "mesh-fault": _mesh_fault,
    "service-slow": _service_slow,
    "drain": _drain,
    "rolling-update": _rolling_update,
    "poison-message": _poison,
}
