"""The plans of a request's synchronous path: calls through the mesh, store operations,
publishes, external calls and branches."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import simpy

from twin.sim import causes
from twin.sim.flows.interpreter import Plan, Run
from twin.sim.flows.meters import Request

if TYPE_CHECKING:
    from twin.sim.broker import Queue
    from twin.sim.externals import External
    from twin.sim.mesh import Backend, MeshRoute
    from twin.sim.pod import Pod
    from twin.sim.stores import Store

OK = (None, False)
TIMED_OUT = (causes.TIMEOUT, False)
REFUSED = (causes.RESET, False)

Try = Generator[simpy.Event, Any, tuple[str | None, bool]]
"""One try at one pod: (root cause or None, whether it failed in a nested step)."""


class CallPlan(Plan):
    """A synchronous call through the mesh: weighted destination, retries, timeouts."""

    __slots__ = ("route", "steps", "sample", "error_rate", "error_cause", "timeout", "per_try",
                 "simple")

    def run(self, req: Request, caller: Pod | None) -> Run:
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
                route.destinations[0][0].host.unserved += 1  # the caller's sidecar's 503
                return causes.FAULT_ABORT
        if backend is None:
            backend = route.only or route.choose()
        host = backend.host
        if self.simple and host.outlier is None and not host.limit:
            pod = backend.endpoints[0] if len(backend.endpoints) == 1 else backend.pick()
            if pod is None:
                host.unserved += 1
                return causes.NO_ENDPOINT
            route.attempts += 1
            t0 = env._now
            err = (yield from self.serve(pod, req, backend))[0]
            pod.served.record(env._now - t0, err is not None)
            return err
        timeout = self.timeout
        deadline = env._now + timeout if timeout is not None else None
        per_try = self.per_try
        prev = None
        err = None
        retry_on = route.retry_on
        for attempt in range(route.tries):
            if attempt:
                route.retries += 1
                if route.backoff:
                    yield env.timeout(route.backoff)
                if deadline is not None and env._now >= deadline:
                    return causes.TIMEOUT
            route.attempts += 1
            pod = backend.pick(prev)
            prev = pod
            nested = False
            if pod is None:
                err = causes.NO_ENDPOINT
                host.unserved += 1
            elif host.limit and host.inflight >= host.limit:
                err = causes.OVERFLOW
                host.unserved += 1
            else:
                t0 = env._now
                limit = per_try
                if deadline is not None:
                    left = deadline - env._now
                    if limit is None or left < limit:
                        limit = left
                if limit is None:
                    err, nested = yield from self.serve(pod, req, backend)
                else:
                    err, nested = yield from self.serve_within(pod, req, backend, limit)
                pod.served.record(env._now - t0, err is not None)
                if host.outlier is not None:
                    host.observe(pod, err)
            if err is None:
                return None
            if deadline is not None and env._now >= deadline - 1e-12:
                return causes.TIMEOUT
            if (causes.UPSTREAM_KIND if nested else err) not in retry_on:
                break
        return err

    def serve_within(self, pod: Pod, req: Request, backend: Backend, limit: float) -> Try:
        """A try the caller gives up on after `limit` seconds; the pod works on regardless."""
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

    def serve(self, pod: Pod, req: Request, backend: Backend) -> Try:
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
        meters = pod.meters
        meters.inside.move(arrived, 1)
        incarnation = pod.incarnation
        slots = pod.slots
        queued = slots.take(env)
        if queued is None:
            wait = meters.wait  # Histogram.add(0.0), inlined: the common case
            wait.count += 1
            wait.zeros += 1
        else:
            granted = yield queued
            if not granted:
                meters.inside.move(env._now, -1)
                host.inflight -= 1
                return REFUSED
            meters.wait.add(env._now - arrived)
        sample = self.sample or pod.sample
        work = sample()
        yield env.timeout(work + backend.hop + pod.lag)
        meters.cpu_seconds += work * pod.cpu_share
        rate = pod.error_rate if self.error_rate is None else self.error_rate
        result = OK
        if rate and pod.draw() < rate:
            result = (self.error_cause or pod.error_cause, False)
        elif self.steps:
            err = yield from self.flows.run_steps(req, self.steps, pod)
            if err is not None:
                result = (err, True)
        slots.give()
        now = env._now  # Station.leave, inlined: every try passes here
        meters.inside.move(now, -1)
        meters.visits += 1
        meters.sojourn += now - arrived
        host.inflight -= 1
        if result is not OK:
            meters.errors += 1
        if pod.incarnation != incarnation or not pod.alive:
            return REFUSED if pod.reachable else TIMED_OUT
        return result


class StorePlan(Plan):
    """An operation on a data store, through the calling pod's connection pool."""

    __slots__ = ("store", "write", "sample", "error_rate", "error_cause")

    def run(self, req: Request, pod: Pod | None) -> Run:
        # the operation's own generator, not one around it: a frame less per operation
        return self.flows.store_op(self.store, self.write, pod, self.sample, self.error_rate,
                                   self.error_cause)


class PublishPlan(Plan):
    """A message to a RabbitMQ queue; `steps` run later in the consuming worker."""

    __slots__ = ("queue", "broker", "steps")

    def run(self, req: Request, pod: Pod | None) -> Run:
        flows = self.flows
        queue: Queue = self.queue
        broker: Store = self.broker
        err = yield from flows.store_op(broker, True, pod, None, None, None)
        if err is not None:
            return err
        req.pending += 1
        if not queue.publish([req, self, flows.env._now]):
            req.pending -= 1
            return causes.QUEUE_FULL
        return None


class ExternalPlan(Plan):
    """A call to an external API (the LLM provider): its own latency, limits and errors."""

    __slots__ = ("external", "sample", "error_rate", "error_cause", "timeout")

    def run(self, req: Request, pod: Pod | None) -> Run:
        external: External = self.external
        return external.call(self.sample, self.error_rate, self.error_cause, self.timeout)


class BranchPlan(Plan):
    """One of several step lists, drawn by probability (none when they sum below 1)."""

    __slots__ = ("cumulative", "branches", "draw")

    def run(self, req: Request, pod: Pod | None) -> Run:
        draw: Callable[[], float] = self.draw
        x = draw()
        for c, plans in zip(self.cumulative, self.branches, strict=True):
            if x < c:
                return (yield from self.flows.run_steps(req, plans, pod))
        return None
