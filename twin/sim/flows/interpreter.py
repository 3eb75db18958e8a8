"""The interpreter: runs a route's plans for each request, a worker's task for each message.

A plan is one step of the model compiled with everything resolved at build time
(the mesh route, the store, the queue, the samplers), so that running a request
is direct method calls and SimPy events, nothing looked up by name. `run(req,
pod)` is a SimPy generator returning None or the root cause of its failure;
`pod` is the pod the step runs in (None at the gateway); `on_failure` says what
the steps around it do then (fail, degrade, or run the fallback).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from twin.sim import causes
from twin.sim.flows.meters import Request, RouteRuntime
from twin.sim.stats import Level

if TYPE_CHECKING:
    from twin.sim.broker import Queue
    from twin.sim.pod import Pod
    from twin.sim.stores import Store

STORE_DOWN = causes.STORE_DOWN

Run = Generator[simpy.Event, Any, str | None]
"""What a plan's run yields to SimPy, and returns: None, or why it failed."""
Process = Generator[simpy.Event, Any, None]


class Plan:
    """One compiled step (twin.sim.flows.plans, twin.sim.flows.delivery)."""

    __slots__ = ("flows", "on_failure", "fallback")

    def __init__(self, flows: Flows, on_failure: str = "fail", fallback: list[Plan] | None = None):
        self.flows = flows
        self.on_failure = on_failure
        self.fallback = fallback or []

    def run(self, req: Request, pod: Pod | None) -> Run:
        raise NotImplementedError


class Flows:
    """Runs plans for requests and worker tasks; holds what every plan shares."""

    def __init__(self, env: simpy.Environment, draw: Callable[[], float]):
        self.env = env
        self.draw = draw
        self.connect_timeout = 10.0
        self.streams_open = Level()
        self.on_e2e: Callable[[Request, str | None], None] = lambda req, err: None
        # by store name: Redis Streams and Pub/Sub as the store's clients see them
        # (twin.sim.redis_clients.EventLog: added, read, heard, acked), and the time
        # a client's operations wait behind its server's reconnect work
        self.event_logs: dict[str, Any] = {}
        self.stalls: dict[str, Callable[[str], float]] = {}

    def run_steps(self, req: Request, plans: list[Plan], pod: Pod | None) -> Run:
        for p in plans:
            err = yield from p.run(req, pod)
            if err is not None:
                mode = p.on_failure
                if mode == "degrade":
                    req.degraded += 1
                    continue
                if mode == "fallback":
                    err = yield from self.run_steps(req, p.fallback, pod)
                    if err is None:
                        req.degraded += 1
                        continue
                return err
        return None

    # ------------------------------------------------------------ requests

    def run_route(self, rt: RouteRuntime, req: Request) -> Process:
        env = self.env
        rt.arrivals += 1
        rt.open += 1
        rt.inflight.move(env._now, 1)
        plans = rt.plans
        if len(plans) == 1 and plans[0].on_failure == "fail":  # one generator less per request
            err = yield from plans[0].run(req, None)
        else:
            err = yield from self.run_steps(req, plans, None)
        now = env._now
        rt.inflight.move(now, -1)
        latency = now - req.t0
        rt.latency.add(latency)
        rt.interval.add(latency)
        if req.degraded:
            rt.degraded += 1
        if err is None:
            rt.ok += 1
            if rt.outages.failing:
                rt.outages.ok(now)
        else:
            rt.errors[err] = rt.errors.get(err, 0) + 1
            rt.iv_errors += 1
            rt.outages.failed(now)
            if req.failed is None:
                req.failed = err
        req.synced = True
        req.accepted = err is None
        if rt.asynchronous and req.pending == 0:
            self.done(req)

    def done(self, req: Request) -> None:
        """Every asynchronous part of the request has ended: record end to end."""
        if req.closed is not None and not req.closed.triggered:
            req.closed.succeed()
        rt = req.route
        rt.open -= 1
        rt.e2e.add(max(req.last, self.env._now if req.failed else req.last) - req.t0)
        if req.failed is None:
            rt.e2e_ok += 1
        else:
            rt.e2e_errors[req.failed] = rt.e2e_errors.get(req.failed, 0) + 1
            if req.accepted:
                rt.turns_failed += 1

    def settle(self, req: Request, err: str | None) -> None:
        """One asynchronous part of the request (a task, an event) ended."""
        req.pending -= 1
        if err is not None and req.failed is None:
            req.failed = err
        if req.pending == 0 and req.synced and req.route.asynchronous:
            self.done(req)

    # -------------------------------------------------------------- stores

    def store_op(self, store: Store, write: bool, pod: Pod | None, sample: Callable[[], float] | None,
                 error_rate: float | None, error_cause: str | None, publish: bool = False) -> Run:
        """One operation: a connection from the pod's pool, then a slot of the store."""
        env = self.env
        client = pod.name if pod is not None else "gateway"
        ok = (store.publishable(client) if publish else store.writable(client) if write
              else store.reachable(client))
        if not ok:
            store.errors[STORE_DOWN] = store.errors.get(STORE_DOWN, 0) + 1
            return STORE_DOWN
        stall = self.stalls.get(store.name)
        if stall is not None:
            stalled = stall(client)
            if stalled > 0:
                yield env.timeout(stalled)
        pool = pod.pools.get(store.name) if pod is not None else None
        if pool is not None:
            if not pool.capacity:
                return causes.CONNECTION_LIMIT
            queued = pool.take(env)
            if queued is not None and not (yield queued):
                return causes.RESET
        arrived = env._now
        meters = store.meters
        meters.inside.move(arrived, 1)
        slots = store.slots
        queued = slots.take(env)
        if queued is None:
            wait = meters.wait  # Histogram.add(0.0), inlined: the common case
            wait.count += 1
            wait.zeros += 1
        else:
            yield queued
            meters.wait.add(env._now - arrived)
        yield env.timeout((sample or store.sample)())
        slots.give()
        now = env._now  # Station.leave, inlined: every operation passes here
        meters.inside.move(now, -1)
        meters.visits += 1
        meters.sojourn += now - arrived
        if pool is not None:
            pool.give()
        if error_rate and self.draw() < error_rate:
            store.errors[error_cause] = store.errors.get(error_cause, 0) + 1
            return error_cause
        return None

    # ------------------------------------------------------------- workers

    def task(self, queue: Queue) -> Callable[[Pod, list], Run]:
        """The task body for a queue's consumers: (pod, message) -> generator. The broker
        gave it one of the pod's slots (twin.sim.broker.Queue.start) and takes it back."""
        env = self.env

        def run(pod: Pod, msg: list) -> Run:
            req, plan = msg[0], msg[1]
            incarnation = pod.incarnation
            arrived = env._now
            meters = pod.meters
            meters.inside.move(arrived, 1)
            meters.wait.add(0.0)
            work = pod.sample()
            yield env.timeout(work)
            meters.cpu_seconds += work * pod.cpu_share
            if pod.error_rate and pod.draw() < pod.error_rate:
                err = pod.error_cause
            else:
                err = yield from self.run_steps(req, plan.steps, pod)
            meters.leave(env._now, arrived)
            pod.served.record(env._now - arrived, err is not None)
            if err is not None:
                meters.errors += 1
            if queue.finished(pod, msg, incarnation):
                self.settle(req, err)
            return None

        return run

    def lost(self, msg: list) -> None:
        self.settle(msg[0], causes.MESSAGE_LOST)
