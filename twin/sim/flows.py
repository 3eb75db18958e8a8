"""Route steps compiled into plans, and the interpreter that runs them per request.

Each step of the model becomes a plan object with everything resolved at build
time (the mesh route, the store, the queue, the samplers), so that running a
request is direct method calls and SimPy events, nothing looked up by name.
A plan's `run(req, pod)` is a SimPy generator returning None or the root cause
of its failure; `pod` is the pod the step runs in (None at the gateway).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

from twin.sim import causes
from twin.sim.cluster import Pod
from twin.sim.stats import Histogram, Level

if TYPE_CHECKING:
    from twin.sim.broker import Queue
    from twin.sim.mesh import Backend, MeshRoute
    from twin.sim.stores import Store

OK = (None, False)
TIMED_OUT = (causes.TIMEOUT, False)
REFUSED = (causes.RESET, False)
STORE_DOWN = causes.STORE_DOWN


class Request:
    """One user request in flight: what the end-to-end measurement needs, nothing more."""

    __slots__ = ("route", "t0", "pending", "failed", "stream_pod", "synced", "last", "degraded",
                 "accepted", "closed")

    def __init__(self, route: RouteRuntime, t0: float):
        self.route = route
        self.t0 = t0
        self.pending = 0
        self.failed: str | None = None
        self.stream_pod: Pod | None = None
        self.synced = False
        self.accepted = False  # the synchronous part answered without error
        self.last = t0
        self.degraded = 0
        self.closed: simpy.Event | None = None  # fires when an asynchronous request ends


class RouteRuntime:
    """A route's plans and meters (reset at the end of the warm-up)."""

    def __init__(self, name: str, asynchronous: bool, plans: list | None = None):
        self.name = name
        self.component = f"route/{name}"
        self.asynchronous = asynchronous
        self.plans = plans or []
        self.inflight = Level()
        self.latency = Histogram()
        self.e2e = Histogram()
        self.interval = Histogram()
        self.open = 0  # asynchronous requests begun and not yet ended: a level, never reset
        self.reset_meters(0.0)

    def reset_meters(self, now: float) -> None:
        self.inflight.reset(now)
        self.latency.reset()
        self.e2e.reset()
        self.arrivals = 0
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.e2e_ok = 0
        self.e2e_errors: dict[str, int] = {}
        self.turns_failed = 0  # accepted (the API answered), then failed in an asynchronous part
        self.degraded = 0
        self.iv_errors = 0
        self.events_lost = 0        # SSE events that never reached the user's stream
        self.events_duplicated = 0  # SSE events delivered twice (stream entries redelivered)


class Plan:
    __slots__ = ("flows", "on_failure", "fallback")

    def __init__(self, flows: Flows, on_failure: str = "fail", fallback: list | None = None):
        self.flows = flows
        self.on_failure = on_failure
        self.fallback = fallback or []


class CallPlan(Plan):
    """A synchronous call through the mesh: weighted destination, retries, timeouts."""

    __slots__ = ("route", "steps", "sample", "error_rate", "error_cause", "timeout", "per_try",
                 "simple")

    def run(self, req: Request, caller: Pod | None):
        flows = self.flows
        env = flows.env
        route: MeshRoute = self.route
        fault = route.fault
        backend = None
        if fault is not None and fault.subset is not None:  # only the tries bound for it
            backend = route.choose()
            if backend.subset != fault.subset:
                fault = None
        if fault is not None:
            fault.calls += 1
            if fault.delay and flows.draw() * 100 < fault.delay_percent:
                yield env.timeout(fault.delay)
            if fault.abort_status and flows.draw() * 100 < fault.abort_percent:
                return causes.FAULT_ABORT
        if backend is None:
            backend = route.choose()
        host = backend.host
        if self.simple and host.outlier is None and not host.limit:
            pod = backend.endpoints[0] if len(backend.endpoints) == 1 else backend.pick()
            if pod is None:
                return causes.NO_ENDPOINT
            route.attempts += 1
            return (yield from self.serve(pod, req, backend))[0]
        timeout = self.timeout
        deadline = env.now + timeout if timeout is not None else None
        per_try = self.per_try
        prev = None
        err = None
        retry_on = route.retry_on
        for attempt in range(route.tries):
            if attempt:
                route.retries += 1
                if route.backoff:
                    yield env.timeout(route.backoff)
                if deadline is not None and env.now >= deadline:
                    return causes.TIMEOUT
            route.attempts += 1
            pod = backend.pick(prev)
            prev = pod
            nested = False
            if pod is None:
                err = causes.NO_ENDPOINT
            elif host.limit and host.inflight >= host.limit:
                err = causes.OVERFLOW
            else:
                limit = per_try
                if deadline is not None:
                    left = deadline - env.now
                    if limit is None or left < limit:
                        limit = left
                if limit is None:
                    err, nested = yield from self.serve(pod, req, backend)
                else:
                    err, nested = yield from self.serve_within(pod, req, backend, limit)
                if host.outlier is not None:
                    host.observe(pod, err)
            if err is None:
                return None
            if deadline is not None and env.now >= deadline - 1e-12:
                return causes.TIMEOUT
            if (causes.UPSTREAM_KIND if nested else err) not in retry_on:
                break
        return err

    def serve_within(self, pod: Pod, req: Request, backend: Backend, limit: float):
        env = self.flows.env
        done = simpy.Event(env)

        def finish(ev: simpy.Event) -> None:
            if not done.triggered:
                done.succeed(ev._value)

        def expire(_ev: simpy.Event) -> None:
            if not done.triggered:
                done.succeed(TIMED_OUT)

        env.process(self.serve(pod, req, backend)).callbacks.append(finish)
        env.timeout(limit).callbacks.append(expire)
        result = yield done
        return result

    def serve(self, pod: Pod, req: Request, backend: Backend):
        """One try at one pod: queue for a slot, work, run the nested steps, answer."""
        env = self.flows.env
        host = backend.host
        host.inflight += 1
        if not pod.reachable:  # its node is gone: the connect attempt times out
            yield env.timeout(self.flows.connect_timeout)
            host.inflight -= 1
            return (causes.CONNECT_FAILURE, False)
        if not pod.listening:  # its listener is closed: the kernel answers the SYN with RST
            host.inflight -= 1
            return (causes.CONNECT_FAILURE, False)
        arrived = env._now
        inside = pod.inside
        inside.move(arrived, 1)
        incarnation = pod.incarnation
        if pod.busy < pod.concurrency:
            pod.busy += 1
            wait = pod.wait  # Histogram.add(0.0), inlined: the common case
            wait.count += 1
            wait.zeros += 1
        else:
            ev = simpy.Event(env)
            pod.waiting.append(ev)
            granted = yield ev
            if not granted:
                inside.move(env.now, -1)
                host.inflight -= 1
                return REFUSED
            pod.wait.add(env.now - arrived)
        sample = self.sample or pod.sample
        work = sample()
        yield env.timeout(work + backend.hop + pod.lag)
        pod.cpu_seconds += work * pod.cpu_share
        rate = pod.error_rate if self.error_rate is None else self.error_rate
        result = OK
        if rate and pod.draw() < rate:
            result = (self.error_cause or pod.error_cause, False)
        elif self.steps:
            err = yield from self.flows.run_steps(req, self.steps, pod)
            if err is not None:
                result = (err, True)
        if pod.incarnation == incarnation:
            waiting = pod.waiting
            if waiting:
                waiting.popleft().succeed(True)
            else:
                pod.busy -= 1
        now = env._now
        inside.move(now, -1)
        pod.visits += 1
        pod.sojourn += now - arrived
        host.inflight -= 1
        if result is not OK:
            pod.errors += 1
        if pod.incarnation != incarnation or not pod.alive:
            return REFUSED if pod.reachable else TIMED_OUT
        return result


class StorePlan(Plan):
    """An operation on a data store, through the calling pod's connection pool."""

    __slots__ = ("store", "write", "sample", "error_rate", "error_cause")

    def run(self, req: Request, pod: Pod | None):
        return (yield from self.flows.store_op(self.store, self.write, pod, self.sample,
                                               self.error_rate, self.error_cause))


class PublishPlan(Plan):
    """A message to a RabbitMQ queue; `steps` run later in the consuming worker."""

    __slots__ = ("queue", "broker", "steps")

    def run(self, req: Request, pod: Pod | None):
        flows = self.flows
        err = yield from flows.store_op(self.broker, True, pod, None, None, None)
        if err is not None:
            return err
        req.pending += 1
        if not self.queue.publish([req, self, flows.env.now]):
            req.pending -= 1
            return causes.QUEUE_FULL
        return None


class ExternalPlan(Plan):
    __slots__ = ("external", "sample", "error_rate", "error_cause", "timeout")

    def run(self, req: Request, pod: Pod | None):
        return (yield from self.external.call(self.sample, self.error_rate, self.error_cause,
                                              self.timeout))


class StreamPlan(Plan):
    """An SSE stream held open on a service pod; the request goes on.

    On an asynchronous route the user keeps it open until the reply's last event
    (the request ends), for at most `duration` (the client gives up); elsewhere it
    stays open for `duration`. So streams pile up when replies are slow."""

    __slots__ = ("backend", "duration")

    def run(self, req: Request, pod: Pod | None):
        target = self.backend.pick()
        if target is None:
            return causes.NO_ENDPOINT
        req.stream_pod = target
        env = self.flows.env
        if req.route.asynchronous and req.closed is None:
            req.closed = simpy.Event(env)
        env.process(self.flows.hold(target, self.duration(), req.closed))
        return None
        yield  # a generator, like every plan


class EmitPlan(Plan):
    """`count` events: XADD to the first store (the emitter waits for it), then through
    the other hops (event-router, Pub/Sub) to the pod holding the user's stream."""

    __slots__ = ("count", "first", "hops", "target")

    def run(self, req: Request, pod: Pod | None):
        flows = self.flows
        env = flows.env
        for _ in range(self.count):
            if self.first is not None:
                err = yield from flows.store_op(self.first, True, pod, None, None, None)
                if err is not None:
                    return err
            log = flows.event_logs.get(self.first.name) if self.first is not None else None
            entry = log.added(pod, req) if log is not None else None
            req.pending += 1
            env.process(flows.deliver(req, self, entry))
        return None


class BranchPlan(Plan):
    __slots__ = ("cumulative", "branches", "draw")

    def run(self, req: Request, pod: Pod | None):
        x = self.draw()
        for c, plans in zip(self.cumulative, self.branches, strict=True):
            if x < c:
                return (yield from self.flows.run_steps(req, plans, pod))
        return None


class Flows:
    """The interpreter: runs plans for requests, worker tasks and event deliveries."""

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

    def run_steps(self, req: Request, plans: list, pod: Pod | None):
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

    def run_route(self, rt: RouteRuntime, req: Request):
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
        else:
            rt.errors[err] = rt.errors.get(err, 0) + 1
            rt.iv_errors += 1
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
        rt.e2e.add(max(req.last, self.env.now if req.failed else req.last) - req.t0)
        if req.failed is None:
            rt.e2e_ok += 1
        else:
            rt.e2e_errors[req.failed] = rt.e2e_errors.get(req.failed, 0) + 1
            if req.accepted:
                rt.turns_failed += 1

    def settle(self, req: Request, err: str | None) -> None:
        req.pending -= 1
        if err is not None and req.failed is None:
            req.failed = err
        if req.pending == 0 and req.synced and req.route.asynchronous:
            self.done(req)

    # -------------------------------------------------------------- stores

    def store_op(self, store: Store, write: bool, pod: Pod | None, sample, error_rate, error_cause,
                 publish: bool = False):
        env = self.env
        client = pod.name if pod is not None else "gateway"
        ok = (store.publishable(client) if publish else store.writable(client) if write
              else store.reachable(client))
        if not ok:
            store.errors[STORE_DOWN] = store.errors.get(STORE_DOWN, 0) + 1
            return STORE_DOWN
        stall = self.stalls.get(store.name)
        if stall is not None:
            wait = stall(client)
            if wait > 0:
                yield env.timeout(wait)
        pool = pod.pools.get(store.name) if pod is not None else None
        if pool is not None:
            if pool[0] == 0:
                return causes.CONNECTION_LIMIT
            if pool[1] < pool[0]:
                pool[1] += 1
            else:
                ev = simpy.Event(env)
                pool[2].append(ev)
                if not (yield ev):
                    return causes.RESET
        arrived = env.now
        store.inside.move(arrived, 1)
        if store.busy < store.concurrency:
            store.busy += 1
            store.wait.add(0.0)
        else:
            ev = simpy.Event(env)
            store.waiting.append(ev)
            yield ev
            store.wait.add(env.now - arrived)
        yield env.timeout((sample or store.sample)())
        if store.waiting:
            store.waiting.popleft().succeed(True)
        else:
            store.busy -= 1
        now = env.now
        store.inside.move(now, -1)
        store.ops += 1
        store.sojourn += now - arrived
        if pool is not None and pod.pools.get(store.name) is pool:
            if pool[2]:
                pool[2].popleft().succeed(True)
            else:
                pool[1] -= 1
        if error_rate and self.draw() < error_rate:
            store.errors[error_cause] = store.errors.get(error_cause, 0) + 1
            return error_cause
        return None

    # ------------------------------------------------------------- workers

    def task(self, queue: Queue):
        """The task body for a queue's consumers: (pod, message) -> generator."""
        env = self.env

        def run(pod: Pod, msg: list):
            req, plan = msg[0], msg[1]
            incarnation = pod.incarnation
            arrived = env.now
            pod.inside.move(arrived, 1)
            pod.wait.add(0.0)
            work = pod.sample()
            yield env.timeout(work)
            pod.cpu_seconds += work * pod.cpu_share
            if pod.error_rate and pod.draw() < pod.error_rate:
                err = pod.error_cause
            else:
                err = yield from self.run_steps(req, plan.steps, pod)
            now = env.now
            pod.inside.move(now, -1)
            pod.visits += 1
            pod.sojourn += now - arrived
            if err is not None:
                pod.errors += 1
            if queue.finished(pod, msg, incarnation):
                self.settle(req, err)

        return run

    def lost(self, msg: list) -> None:
        self.settle(msg[0], causes.MESSAGE_LOST)

    # -------------------------------------------------------------- events

    def hold(self, pod: Pod, duration: float, closed: simpy.Event | None = None):
        """An open SSE stream occupies a slot of its pod until `closed` fires or
        `duration` passes, whichever is first."""
        env = self.env
        if pod.busy < pod.concurrency:
            pod.busy += 1
        else:
            ev = simpy.Event(env)
            pod.waiting.append(ev)
            if not (yield ev):
                return
        incarnation = pod.incarnation
        held = pod.held
        self.streams_open.move(env.now, 1)
        held.move(env.now, 1)
        if closed is None or closed.triggered:
            yield env.timeout(duration) if closed is None else closed
        else:
            yield env.timeout(duration) | closed
        self.streams_open.move(env.now, -1)
        held.move(env.now, -1)
        if pod.incarnation == incarnation:
            if pod.waiting:
                pod.waiting.popleft().succeed(True)
            else:
                pod.busy -= 1

    def deliver(self, req: Request, plan: EmitPlan, entry: Any = None):
        """One event from the stream to the user: the remaining hops, then the stream's pod.
        With an event log: the router reads the stream entry (gone if a promoted replica
        never had it), PUBLISHes it and XACKs it; only a live subscription hears it."""
        pod: Pod | None = None
        log = self.event_logs.get(plan.first.name) if entry is not None else None
        published: tuple | None = None
        for kind, hop in plan.hops:
            if kind == "store":
                # PUBLISH (not a write: a replica takes it), then the XACK (a write)
                err = yield from self.store_op(hop, False, pod, None, None, None, publish=True)
                if err is None and log is not None:
                    published = (pod, self.env.now)
                    log.acked(entry, pod)
            else:
                pod = hop.pick()
                if pod is not None and log is not None and not log.read(entry):
                    err = causes.MESSAGE_LOST
                else:
                    err = causes.NO_ENDPOINT if pod is None else (yield from self.work(pod, hop.hop))
            if err is not None:
                self._undelivered(req, entry, log, err)
                return
        target = req.stream_pod
        if target is None or not target.alive:
            target = plan.target.pick()
        if published is not None and target is not None and not log.heard(published[0], target,
                                                                          published[1]):
            self._undelivered(req, entry, log, causes.MESSAGE_LOST)
            return
        if target is None:
            err = causes.NO_ENDPOINT
        elif target is req.stream_pod:  # written to the user's open stream: no new slot
            err = yield from self.push(target, plan.target.hop)
        else:
            err = yield from self.work(target, plan.target.hop)
        if err is None:
            req.last = self.env.now
        else:
            req.route.events_lost += 1
        self.settle(req, err)

    def _undelivered(self, req: Request, entry: Any, log: Any, err: str) -> None:
        req.route.events_lost += 1
        if log is not None:
            log.failed(entry)
        self.settle(req, err)

    def push(self, pod: Pod, hop: float):
        """An event written to a stream the pod already holds open: the write's own time,
        without queueing for a slot (the stream holds one). Queueing it behind new
        streams would stall every reply once the streams fill the slots."""
        env = self.env
        incarnation = pod.incarnation
        arrived = env.now
        pod.inside.move(arrived, 1)
        work = pod.sample()
        yield env.timeout(work + hop + pod.lag)
        pod.cpu_seconds += work * pod.cpu_share
        now = env.now
        pod.inside.move(now, -1)
        pod.visits += 1
        pod.sojourn += now - arrived
        if pod.incarnation != incarnation or not pod.alive:
            return causes.RESET
        return None

    def work(self, pod: Pod, hop: float):
        """A pod handles one event: its own service time, no nested steps."""
        env = self.env
        if not pod.listening:  # refused at once (RST)
            return causes.CONNECT_FAILURE
        arrived = env.now
        pod.inside.move(arrived, 1)
        incarnation = pod.incarnation
        if pod.busy < pod.concurrency:
            pod.busy += 1
            pod.wait.add(0.0)
        else:
            ev = simpy.Event(env)
            pod.waiting.append(ev)
            if not (yield ev):
                pod.inside.move(env.now, -1)
                return causes.RESET
            pod.wait.add(env.now - arrived)
        work = pod.sample()
        yield env.timeout(work + hop + pod.lag)
        pod.cpu_seconds += work * pod.cpu_share
        if pod.incarnation == incarnation:
            if pod.waiting:
                pod.waiting.popleft().succeed(True)
            else:
                pod.busy -= 1
        now = env.now
        pod.inside.move(now, -1)
        pod.visits += 1
        pod.sojourn += now - arrived
        if pod.incarnation != incarnation:
            return causes.RESET
        if pod.error_rate and pod.draw() < pod.error_rate:
            pod.errors += 1
            return pod.error_cause
        return None
