"""SSE streams held open on a service's pods, and the events delivered to them.

A `stream` step holds a slot of one pod for as long as the user keeps the stream
open; an `emit` step sends events through Redis Streams, the event-router and
Pub/Sub to the pod holding the user's stream, each event a process of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from twin.sim import causes
from twin.sim.flows.interpreter import Plan, Process, Run

if TYPE_CHECKING:
    from twin.sim.flows.meters import Request
    from twin.sim.mesh import Backend
    from twin.sim.pod import Pod
    from twin.sim.stores import Store


class StreamPlan(Plan):
    """An SSE stream held open on a service pod; the request goes on.

    On an asynchronous route the user keeps it open until the reply's last event
    (the request ends), for at most `duration` (the client gives up); elsewhere it
    stays open for `duration`. So streams pile up when replies are slow."""

    __slots__ = ("backend", "duration")

    def run(self, req: Request, pod: Pod | None) -> Run:
        backend: Backend = self.backend
        target = backend.pick()
        if target is None:
            return causes.NO_ENDPOINT
        req.stream_pod = target
        env = self.flows.env
        if req.route.asynchronous and req.closed is None:
            req.closed = simpy.Event(env)
        env.process(self.hold(target, self.duration(), req.closed))
        return None
        yield  # a generator, like every plan

    def hold(self, pod: Pod, duration: float, closed: simpy.Event | None = None) -> Process:
        """An open SSE stream occupies a slot of its pod until `closed` fires or
        `duration` passes, whichever is first."""
        flows = self.flows
        env = flows.env
        slots = pod.slots
        queued = slots.take(env)
        if queued is not None and not (yield queued):
            return
        held = pod.meters.held
        flows.streams_open.move(env._now, 1)
        held.move(env._now, 1)
        if closed is None or closed.triggered:
            yield env.timeout(duration) if closed is None else closed
        else:
            yield env.timeout(duration) | closed
        flows.streams_open.move(env._now, -1)
        held.move(env._now, -1)
        slots.give()


class EmitPlan(Plan):
    """`count` events: XADD to the first store (the emitter waits for it), then through
    the other hops (event-router, Pub/Sub) to the pod holding the user's stream."""

    __slots__ = ("count", "first", "hops", "target")

    def run(self, req: Request, pod: Pod | None) -> Run:
        flows = self.flows
        env = flows.env
        first: Store | None = self.first
        log = flows.event_logs.get(first.name) if first is not None else None
        for _ in range(self.count):
            if first is not None:
                err = yield from flows.store_op(first, True, pod, None, None, None)
                if err is not None:
                    return err
            entry = log.added(pod, req) if log is not None else None
            req.pending += 1
            env.process(self.deliver(req, entry, log))
        return None

    def deliver(self, req: Request, entry: Any = None, log: Any = None) -> Process:
        """One event from the stream to the user: the remaining hops, then the stream's pod.
        With an event log (the first store's, twin.sim.redis_clients.EventLog) the router
        reads the stream entry (gone if a promoted replica never had it), PUBLISHes it
        and XACKs it; only a live subscription hears it."""
        flows = self.flows
        env = flows.env
        pod: Pod | None = None
        published: tuple | None = None
        for kind, hop in self.hops:
            if kind == "store":
                # PUBLISH (not a write: a replica takes it), then the XACK (a write)
                err = yield from flows.store_op(hop, False, pod, None, None, None, publish=True)
                if err is None and log is not None:
                    published = (pod, env._now)
                    log.acked(entry, pod)
            else:
                pod = hop.pick()
                if pod is not None and log is not None and not log.read(entry):
                    err = causes.MESSAGE_LOST
                else:
                    err = causes.NO_ENDPOINT if pod is None else (yield from work(env, pod, hop.hop))
            if err is not None:
                self._undelivered(req, entry, log, err)
                return
        target_backend: Backend = self.target
        target = req.stream_pod
        if target is None or not target.alive:
            target = target_backend.pick()
        if published is not None and target is not None and not log.heard(published[0], target,
                                                                          published[1]):
            self._undelivered(req, entry, log, causes.MESSAGE_LOST)
            return
        if target is None:
            err = causes.NO_ENDPOINT
        elif target is req.stream_pod:  # written to the user's open stream: no new slot
            err = yield from push(env, target, target_backend.hop)
        else:
            err = yield from work(env, target, target_backend.hop)
        if err is None:
            req.last = env._now
        else:
            req.route.events_lost += 1
        flows.settle(req, err)

    def _undelivered(self, req: Request, entry: Any, log: Any, err: str) -> None:
        req.route.events_lost += 1
        if log is not None:
            log.failed(entry)
        self.flows.settle(req, err)


def push(env: simpy.Environment, pod: Pod, hop: float) -> Run:
    """An event written to a stream the pod already holds open: the write's own time,
    without queueing for a slot (the stream holds one). Queueing it behind new
    streams would stall every reply once the streams fill the slots."""
    incarnation = pod.incarnation
    arrived = env._now
    meters = pod.meters
    meters.inside.move(arrived, 1)
    work_time = pod.sample()
    yield env.timeout(work_time + hop + pod.lag)
    meters.cpu_seconds += work_time * pod.cpu_share
    now = env._now  # Station.leave, inlined: every event passes here
    meters.inside.move(now, -1)
    meters.visits += 1
    meters.sojourn += now - arrived
    if pod.incarnation != incarnation or not pod.alive:
        return causes.RESET
    return None


def work(env: simpy.Environment, pod: Pod, hop: float) -> Run:
    """A pod handles one event: a slot, its own service time, no nested steps."""
    if not pod.listening:  # refused at once (RST)
        return causes.CONNECT_FAILURE
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
        if not (yield queued):
            meters.inside.move(env._now, -1)
            return causes.RESET
        meters.wait.add(env._now - arrived)
    work_time = pod.sample()
    yield env.timeout(work_time + hop + pod.lag)
    meters.cpu_seconds += work_time * pod.cpu_share
    slots.give()
    now = env._now  # Station.leave, inlined: every event passes here
    meters.inside.move(now, -1)
    meters.visits += 1
    meters.sojourn += now - arrived
    if pod.incarnation != incarnation:
        return causes.RESET
    if pod.error_rate and pod.draw() < pod.error_rate:
        meters.errors += 1
        return pod.error_cause
    return None
