"""Issue 6's faults on the simulator: each calls the mechanism the real system has.

control-plane-down stops the node lifecycle controller, the HPAs, the scheduler
and the ReplicaSets (twin.sim.node_lifecycle.ControlPlane); worker-crash
SIGKILLs the worker pods holding the most tasks (the broker requeues or loses
them by acks_late); broker-down stops RabbitMQ; rabbitmq-memory-alarm takes every
connection slot of the broker so that publishes wait (a blocked connection, not
an error); postgres-primary-down stops the primary under Patroni (HA fails over,
single mode waits for someone); external-slow / external-rate-limit change the
LLM provider; mesh-fault is an Istio fault injection on the routes to a service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from twin.model.topology import FaultInjection, RabbitMQ, Topology
from twin.scenario.model import Action

Later = Callable[[Callable[[], Any]], None]

ACTIONS = frozenset({
    "control-plane-down", "worker-crash", "broker-down", "rabbitmq-memory-alarm",
    "postgres-primary-down", "external-slow", "external-rate-limit", "mesh-fault",
})


def _name(topo: Topology, target: str) -> str:
    from twin.graph.naming import resolve

    return resolve(topo, target).name


def _broker(sim: Any, topo: Topology, target: str | None) -> Any:
    if target is not None:
        return sim.stores[_name(topo, target)]
    name = next(s.name for s in topo.stores if isinstance(s, RabbitMQ))
    return sim.stores[name]


def apply(sim: Any, a: Action, topo: Topology, later: Later) -> None:
    """One of ACTIONS at the current simulated time; `later(fn)` runs fn when it ends."""
    now = sim.env.now
    if a.action == "control-plane-down":
        cp = sim.control_plane
        cp.down("scenario control-plane-down")
        later(lambda: cp.up("scenario control-plane back"))
    elif a.action == "worker-crash":
        name = _name(topo, a.target)
        pods = sorted((p for p in sim.pods(name) if p.alive),
                      key=lambda p: (-(p.busy + len(p.buffer)), p.name))
        for p in pods[: a.count or 1]:
            sim.emit(now, p.component, "WorkerCrash",
                     f"{p.busy} tasks running, {len(p.buffer)} prefetched")
            sim.kill(f"pod/{p.name}", "scenario worker-crash (SIGKILL)")
    elif a.action == "broker-down":
        store = _broker(sim, topo, a.target)
        store.crash("scenario broker-down", a.for_ if a.for_ is not None else -1)
    elif a.action == "rabbitmq-memory-alarm":
        store = _broker(sim, topo, a.target)
        until = a.end if a.end is not None else sim.duration
        watermark = getattr(store.model, "memory_high_watermark", 0.4)
        sim.emit(now, store.component, "MemoryAlarm",
                 f"vm_memory_high_watermark {watermark:g} reached: publishers blocked")
        for _ in range(store.concurrency):
            sim.env.process(_hold(sim.env, store, until))
        later(lambda: sim.emit(sim.env.now, store.component, "MemoryAlarmCleared",
                               "publishers unblocked"))
    elif a.action == "postgres-primary-down":
        pg = sim.postgres[_name(topo, a.target)] if a.target else next(iter(sim.postgres.values()))
        pg.fail()
        later(pg.restart)
    elif a.action == "external-slow":
        ext = sim.externals[_name(topo, a.target)]
        ext.slow = a.factor
        later(lambda: setattr(ext, "slow", 1.0))
    elif a.action == "external-rate-limit":
        ext = sim.externals[_name(topo, a.target)]
        before = (ext.rate, ext.capacity)
        _limit(ext, a.rate)
        later(lambda: _limit(ext, before[0], before[1]))
    elif a.action == "mesh-fault":
        _mesh_fault(sim, a, topo, later)
    else:
        raise ValueError(f"not an issue-6 fault: {a.action}")


def _hold(env: simpy.Environment, store: Any, until: float):  # noqa: ANN202 - a SimPy process
    """Take one of the broker's slots until the alarm clears: publishes queue behind it."""
    if store.busy < store.concurrency:
        store.busy += 1
    else:
        ev = simpy.Event(env)
        store.waiting.append(ev)
        yield ev
    yield env.timeout(max(0.0, until - env.now))
    if store.waiting:
        store.waiting.popleft().succeed(True)
    else:
        store.busy -= 1


def _limit(ext: Any, rate: float, capacity: float | None = None) -> None:
    """A new token bucket: `rate` per second, one second's worth at most."""
    ext.rate = rate
    ext.capacity = capacity if capacity is not None else max(1.0, rate)
    ext.tokens = min(ext.tokens, ext.capacity)
    ext.last = ext.env.now


def _mesh_fault(sim: Any, a: Action, topo: Topology, later: Later) -> None:
    """Istio HTTPFaultInjection on every route whose destinations include the service."""
    service = _name(topo, a.target)
    pct = 100.0 if a.percent is None else a.percent
    fault = FaultInjection(delay=a.delay, delay_percent=pct, abort_status=a.abort_status,
                           abort_percent=pct)
    routes = [r for r in sim.mesh.routes.values() if any(b.service == service for b in r.backends)]
    if not routes:
        raise ValueError(f"mesh-fault: no mesh route leads to {service}")
    previous = [(r, r.fault) for r in routes]
    for r in routes:
        r.fault = fault
    for p in _call_plans(sim):
        if p.route in routes:
            p.simple = False  # the short path skips fault injection
    what = " ".join(x for x in (f"delay {a.delay:g}s" if a.delay else "",
                                f"abort {a.abort_status}" if a.abort_status else "") if x)
    sim.emit(sim.env.now, f"service/{service}", "FaultInjected", f"{what} on {pct:g}%")
    tries = sum(r.attempts for r in routes)

    def end() -> None:
        for r, f in previous:
            r.fault = f
        sim.emit(sim.env.now, f"service/{service}", "FaultRemoved",
                 f"{sum(r.attempts for r in routes) - tries} tries reached it during the fault")

    later(end)


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
