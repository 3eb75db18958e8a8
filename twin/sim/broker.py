"""RabbitMQ queues and the Celery-style workers that consume them.

The broker delivers ready messages round robin to consumers with room under
their prefetch (`prefetch` x `concurrency` unacked, 0 = unlimited); a worker
pod runs at most `concurrency` tasks. With acks_late off (Celery's default) a
message is acked when its task starts, so a worker that dies loses the tasks it
was running; prefetched messages not yet started go back to the queue.
x-max-length drops the oldest message (drop-head) or refuses the publish
(reject-publish).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import simpy

from twin.model.topology import Queue as QueueModel
from twin.model.topology import Worker
from twin.sim.cluster import Pod
from twin.sim.stats import Histogram, Level

Emit = Callable[[float, str, str, str], None]
Task = Callable[[Pod, list], object]  # (pod, message) -> a SimPy generator


class Queue:
    def __init__(self, env: simpy.Environment, model: QueueModel, worker: Worker | None, emit: Emit):
        self.env = env
        self.model = model
        self.name = model.name
        self.component = f"queue/{model.name}"
        self.emit = emit
        self.worker = worker
        self.acks_late = worker.acks_late if worker else False
        self.ready: deque[list] = deque()
        self.consumers: list[Pod] = []
        self.rr = -1
        self.depth = Level()
        self.task: Task | None = None
        self.published = 0
        self.delivered = 0
        self.dropped = 0
        self.rejected = 0
        self.requeued = 0
        self.lost = 0
        self.wait = Histogram()
        self.on_drop: Callable[[list], None] = lambda msg: None

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
            self.depth.move(self.env.now, -1)
            self.dropped += 1
            self.on_drop(old)
        self.published += 1
        self.ready.append(msg)
        self.depth.move(self.env.now, 1)
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
                if not pod.prefetch_limit or pod.unacked < pod.prefetch_limit:
                    break
            else:
                return
            msg = ready.popleft()
            self.depth.move(self.env.now, -1)
            pod.unacked += 1
            pod.buffer.append(msg)
            self.start(pod)

    def start(self, pod: Pod) -> None:
        env = self.env
        while pod.busy < pod.concurrency and pod.buffer:
            msg = pod.buffer.popleft()
            pod.busy += 1
            if not self.acks_late:
                pod.unacked -= 1
            self.delivered += 1
            self.wait.add(env.now - msg[2])
            env.process(self.task(pod, msg))

    def finished(self, pod: Pod, msg: list, incarnation: int) -> bool:
        """A task ended; False when its worker died meanwhile (the message was requeued or lost)."""
        if pod.incarnation != incarnation:
            if self.acks_late:
                self.requeued += 1
                self.ready.appendleft(msg)
                self.depth.move(self.env.now, 1)
                self.dispatch()
            else:
                self.lost += 1
                self.on_drop(msg)
            return False
        pod.busy -= 1
        if self.acks_late:
            pod.unacked -= 1
        self.start(pod)
        self.dispatch()
        return True

    def consumer_changed(self, pod: Pod, ready: bool) -> None:
        if ready:
            if pod not in self.consumers:
                self.consumers.append(pod)
                self.dispatch()
            return
        if pod in self.consumers:
            self.consumers.remove(pod)
        if pod.buffer:  # channel closed: unacked deliveries go back, in order
            n = len(pod.buffer)
            self.requeued += n
            self.ready.extendleft(reversed(pod.buffer))
            self.depth.move(self.env.now, n)
            pod.unacked -= n if not self.acks_late else 0
            pod.buffer.clear()
            if self.acks_late:
                pod.unacked = 0
            self.dispatch()

    def reset_meters(self, now: float) -> None:
        self.depth.reset(now)
        self.published = self.delivered = self.dropped = self.rejected = 0
        self.requeued = self.lost = 0
        self.wait.reset()
