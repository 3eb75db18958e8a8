"""RabbitMQ queues and the Celery-style workers that consume them.

The broker delivers ready messages round robin to consumers with room under
their prefetch (`prefetch` x `concurrency` unacked, 0 = unlimited); a worker
pod runs at most `concurrency` tasks, so with prefetch above concurrency a busy
worker holds messages that an idle one could run. With acks_late off (Celery's
default) a message is acked when its task starts, so a worker that dies loses
the tasks it was running. Every unacked delivery (prefetched, and running ones
with acks_late) goes back to the queue when its channel closes: at once when the
pod dies (the kernel closes its TCP connection), after the heartbeat (60 s) when
its node vanishes without closing anything, and when a delivery stays unacked
past consumer_timeout (30 min; checked once a minute), which closes the channel
with PRECONDITION_FAILED while the worker, alive, opens a new one. An ack on a
closed channel goes nowhere: the redelivered copy is the one that counts.
x-max-length drops the oldest message (drop-head) or refuses the publish
(reject-publish).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import simpy

from twin.model.topology import Queue as QueueModel
from twin.model.topology import RabbitMQ, Worker
from twin.sim.pod import BACK_OFF, PROCESS_GONE, Pod
from twin.sim.stats import Histogram, Level

Emit = Callable[[float, str, str, str], None]
Task = Callable[[Pod, list], object]  # (pod, message) -> a SimPy generator

CONSUMER_TIMEOUT_CHECK = 60.0  # RabbitMQ evaluates consumer timeouts once a minute
PREFETCH_HELD = 5.0  # a wait in a prefetch buffer worth an event (the twin's own diagnosis)


class Queue:
    """One queue: ready messages, the consumers' channels and what they hold unacked.

    A message is [req, plan, published_at]; a delivery is a fresh copy with the
    delivery time and a held-by-prefetch flag appended, so a requeued message and
    the delivery a dead or timed-out consumer still holds are different objects.
    """

    def __init__(self, env: simpy.Environment, model: QueueModel, worker: Worker | None, emit: Emit):
        self.env = env
        self.model = model
        self.name = model.name
        self.component = f"queue/{model.name}"
        self.emit = emit
        self.worker = worker
        self.acks_late = worker.acks_late if worker else False
        self.heartbeat = 60.0
        self.consumer_timeout = 1800.0
        self.ready: deque[list] = deque()
        self.consumers: list[Pod] = []
        self.running: dict[Pod, dict[int, list]] = {}
        """Per consumer pod: the deliveries its tasks are running on the open channel."""
        self.cut_off: dict[Pod, float] = {}
        """Consumer pods whose node vanished: when (the broker notices a heartbeat later)."""
        self.rr = -1
        self.depth = Level()
        self.task: Task | None = None
        self.published = 0
        self.delivered = 0
        self.dropped = 0
        self.rejected = 0
        self.requeued = 0
        self.lost = 0
        self.channels_closed = 0
        self.acks_void = 0
        """Tasks that finished after their channel closed: their messages run again."""
        self.rejected_running: set[int] = set()
        self.wait = Histogram()
        self.on_drop: Callable[[list], None] = lambda msg: None
        env.process(self._consumer_timeouts())

    def publish(self, msg: list) -> bool:
        """Enqueue (msg[2] is the publish time); False when reject-publish refuses it."""
        limit = self.model.max_length
        if limit is not None and len(self.ready) >= limit:
            if self.model.overflow == "reject-publish":
                self.rejected += 1
                return False
            if limit == 0:
                self.dropped += 1
                self.on_drop(msg)
                return True
            old = self.ready.popleft()
            self.depth.move(self.env._now, -1)
            self.dropped += 1
            self.on_drop(old)
        self.published += 1
        self.ready.append(msg)
        self.depth.move(self.env._now, 1)
        self.dispatch()
        return True

    def dispatch(self) -> None:
        ready = self.ready
        cons = self.consumers
        while ready and cons:
            n = len(cons)
            for _ in range(n):
                self.rr = (self.rr + 1) % n
                pod = cons[self.rr]
                ch = pod.channel
                if not ch.prefetch_limit or ch.unacked < ch.prefetch_limit:
                    break
            else:
                return
            msg = ready.popleft()
            self.depth.move(self.env._now, -1)
            ch.unacked += 1
            # reserved by a busy worker while another has a free slot: it waits for nothing
            held = pod.slots.busy >= pod.slots.capacity and any(
                c is not pod and c.reachable and c.slots.busy < c.slots.capacity for c in cons)
            ch.buffer.append([msg[0], msg[1], msg[2], self.env._now, held])
            self.start(pod)

    def start(self, pod: Pod) -> None:
        env = self.env
        if not pod.reachable:
            return  # deliveries to a vanished node sit in the TCP void until the heartbeat
        running = self.running.setdefault(pod, {})
        ch = pod.channel
        while ch.buffer and pod.slots.try_take():
            d = ch.buffer.popleft()
            if not self.acks_late:
                ch.unacked -= 1
            running[id(d)] = d
            self.delivered += 1
            waited = env._now - d[2]
            self.wait.add(waited)
            pod.served.wait.add(waited)
            if d[4] and env._now - d[3] >= PREFETCH_HELD:
                self.emit(env._now, pod.component, "PrefetchHeld",
                          f"a task waited {env.now - d[3]:.1f}s in this worker's prefetch behind "
                          "a running one while another worker had a free slot")
            env.process(self.task(pod, d))

    def finished(self, pod: Pod, msg: list, incarnation: int) -> bool:
        """A task ended; True when its result counts (acked, or acked at start).

        False when its worker died meanwhile, or its channel closed and the
        message went back to the queue (or, acked at start, was lost)."""
        held = self.running.get(pod)
        mine = held is not None and id(msg) in held
        if pod.incarnation != incarnation:
            if mine:  # the pod ended without its channel being closed here (grace over)
                del held[id(msg)]
                if self.acks_late:
                    self._requeue([msg])
                else:
                    self.lost += 1
                    self.on_drop(msg)
            return False
        pod.slots.give()
        if not pod.reachable:  # its ack cannot reach the broker: the heartbeat will requeue it
            return False
        if not mine:  # rejected, or the channel it came on was closed: the ack goes nowhere
            if id(msg) in self.rejected_running:
                self.rejected_running.discard(id(msg))
            else:
                self.acks_void += 1
            self.start(pod)
            self.dispatch()
            return False
        del held[id(msg)]
        if self.acks_late:
            pod.channel.unacked -= 1
        self.start(pod)
        self.dispatch()
        return True

    def reject(self, pod: Pod, msg: list) -> None:
        """basic.reject(requeue) of a running delivery: Celery's task_reject_on_worker_lost
        when the pool process running it died. The slot frees when the task ends."""
        held = self.running.get(pod)
        if held is None or held.pop(id(msg), None) is None:
            return
        self.rejected_running.add(id(msg))
        if self.acks_late:
            pod.channel.unacked -= 1
        self._requeue([msg])

    # --------------------------------------------------------------- channels

    def close_channel(self, pod: Pod, reason: str, dead: bool) -> None:
        """The broker closes the pod's channel: every unacked delivery goes back, in order.

        `dead`: the worker is gone, so tasks acked at start (acks_late off) are lost;
        a live worker (consumer timeout) opens a new channel and consumes again.
        """
        self.cut_off.pop(pod, None)
        ch = pod.channel
        had = pod in self.consumers or ch.buffer or self.running.get(pod)
        # tasks acked at start stay with a live worker; they go with a dead one
        held = self.running.pop(pod, {}) if self.acks_late or dead else {}
        running = sorted(held.values(), key=lambda d: d[3])
        unacked = (running if self.acks_late else []) + list(ch.buffer)
        ch.buffer.clear()
        ch.unacked = 0
        if dead and pod in self.consumers:
            self.consumers.remove(pod)
        if not had:
            return
        self.channels_closed += 1
        lost = [] if self.acks_late else running
        self.emit(self.env.now, pod.component, "ChannelClosed",
                  f"{reason}: {len(unacked)} unacked requeued to {self.name}"
                  + (f", {len(lost)} acked at start lost" if lost else ""))
        for d in lost:
            self.lost += 1
            self.on_drop(d)
        self._requeue(unacked)

    def _requeue(self, deliveries: list[list]) -> None:
        """Back to the head of the queue, in delivery order, as fresh messages. A queue
        with max-length and drop-head then drops from its head until it is within its
        length again, as RabbitMQ's requeue_and_run does (maybe_drop_head): the requeued
        messages, at the head, are the first to go."""
        if deliveries:
            n = len(deliveries)
            self.requeued += n
            self.ready.extendleft(reversed([[d[0], d[1], d[2]] for d in deliveries]))
            self.depth.move(self.env.now, n)
            limit = self.model.max_length
            if limit is not None and self.model.overflow == "drop-head":
                while len(self.ready) > limit:
                    self.depth.move(self.env.now, -1)
                    self.dropped += 1
                    self.on_drop(self.ready.popleft())
        self.dispatch()

    def consumer_changed(self, pod: Pod, ready: bool) -> None:
        """Readiness from the cluster; the broker only sees what reaches its TCP sockets."""
        if ready:
            if pod not in self.consumers:
                self.consumers.append(pod)
                self.dispatch()
            return
        if not pod.reachable:
            return  # its node vanished: the broker waits for the heartbeat, not for Kubernetes
        if pod.phase in PROCESS_GONE:  # the kernel closed the connection: noticed at once
            what = "container exited" if pod.phase == BACK_OFF else f"pod {pod.phase.lower()}"
            self.close_channel(pod, f"connection closed ({what})", dead=True)
            return
        # graceful shutdown (Terminating): stop consuming, give back the prefetched
        if pod in self.consumers:
            self.consumers.remove(pod)
        ch = pod.channel
        if ch.buffer:
            back = list(ch.buffer)
            ch.buffer.clear()
            ch.unacked -= len(back)
            self._requeue(back)

    def node_changed(self, node: str, up: bool) -> None:
        """A node vanished (or came back): its consumers' channels close a heartbeat later."""
        pods = [p for p in set(self.consumers) | set(self.running)
                if p.node is not None and p.node.name == node]
        for pod in pods:
            if not up:
                since = self.env.now
                self.cut_off[pod] = since
                self.env.timeout(self.heartbeat).callbacks.append(
                    lambda _e, pod=pod, since=since: self._heartbeat_missed(pod, since))
            elif pod in self.cut_off:
                # back before the heartbeat ran out: the connection was reset meanwhile
                self.close_channel(pod, "connection reset when the node came back", dead=True)
                if pod.phase == "Ready" and pod.alive:
                    self.consumer_changed(pod, True)

    def _heartbeat_missed(self, pod: Pod, since: float) -> None:
        if self.cut_off.get(pod) != since:
            return
        self.close_channel(pod, f"missed heartbeats for {self.heartbeat:g}s", dead=True)

    def _consumer_timeouts(self):  # noqa: ANN202 - a SimPy process
        env = self.env
        while True:
            yield env.timeout(CONSUMER_TIMEOUT_CHECK)
            for pod in list(self.consumers):
                oldest = [d[3] for d in pod.channel.buffer]
                if self.acks_late:
                    oldest += [d[3] for d in self.running.get(pod, {}).values()]
                if oldest and env.now - min(oldest) > self.consumer_timeout:
                    self.emit(env.now, pod.component, "ConsumerTimeout",
                              f"a delivery unacked for {env.now - min(oldest):.0f}s "
                              f"> consumer_timeout {self.consumer_timeout:g}s")
                    self.close_channel(
                        pod, f"PRECONDITION_FAILED - delivery acknowledgement timed out "
                        f"({self.consumer_timeout:g}s)", dead=False)

    def reset_meters(self, now: float) -> None:
        self.depth.reset(now)
        self.published = self.delivered = self.dropped = self.rejected = 0
        self.requeued = self.lost = self.channels_closed = self.acks_void = 0
        self.wait.reset()


def follow(sim: Any, lifecycle: Any) -> None:
    """Give the queues their broker's heartbeat and consumer_timeout, and tell them when a
    node vanishes (a twin.sim Simulation and its NodeLifecycleController)."""
    for store in sim.topology.stores:
        if isinstance(store, RabbitMQ):
            for q in store.queues:
                if q.name in sim.queues:
                    sim.queues[q.name].heartbeat = store.heartbeat
                    sim.queues[q.name].consumer_timeout = store.consumer_timeout
    queues = list(sim.queues.values())

    def changed(node: str, up: bool) -> None:
        for q in queues:
            q.node_changed(node, up)

    lifecycle.node_listeners.append(changed)
