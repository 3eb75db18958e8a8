"""RabbitMQ for the stand-in: API pods publish a route's task, worker pods consume.

Publishing waits for the broker's confirm, so a reject-publish queue at its
x-max-length (a nack) or a blocked connection (memory alarm, the step's
timeout) fails the step, as in the simulator. A worker pod consumes its queue
the Celery way: basic.qos prefetch = prefetch x concurrency (0: unlimited), at
most `concurrency` tasks at once, acked when the task starts (acks_late off,
Celery's default: a crash loses it) or when it ends (acks_late on: a crash
hands it back to the broker, which redelivers it). The broker requeues every
unacked delivery when the worker's connection closes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

Task = Callable[[dict[str, Any]], Awaitable[None]]


def queue_arguments(spec: dict[str, Any]) -> dict[str, Any]:
    """x-max-length and x-overflow as the model's queue says (RabbitMQ's defaults otherwise)."""
    args: dict[str, Any] = {}
    if spec.get("max_length") is not None:
        args["x-max-length"] = int(spec["max_length"])
        args["x-overflow"] = spec.get("overflow", "drop-head")
    return args


class Broker:
    def __init__(self, store: dict[str, Any], who: str):
        self.store = store
        self.who = who
        self.published = 0
        self.consumed = 0
        self.redelivered = 0
        self.acked = 0
        self.running = 0
        self.done = 0
        self.failed = 0
        self._connection: Any = None
        self._channel: Any = None
        self._declared: set[str] = set()
        self._lock = asyncio.Lock()

    def url(self) -> str:
        s = self.store
        vhost = s.get("vhost", "/").replace("/", "%2F")
        return (f"amqp://{s.get('user', 'guest')}:{s.get('password', 'guest')}@{s['host']}:{s['port']}/{vhost}"
                f"?heartbeat={int(s.get('heartbeat', 60))}&name={self.who}")

    async def connect(self) -> Any:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                import aio_pika

                self._connection = await asyncio.wait_for(aio_pika.connect_robust(self.url()), 10)
                self._channel = await self._connection.channel(publisher_confirms=True)
                self._declared.clear()
        return self._channel

    async def declare(self, channel: Any, queue: str) -> Any:
        spec = self.store.get("queues", {}).get(queue, {})
        return await channel.declare_queue(queue, durable=spec.get("durable", True),
                                           arguments=queue_arguments(spec) or None)

    async def publish(self, queue: str, route: str | None) -> None:
        import aio_pika

        channel = await self.connect()
        if queue not in self._declared:
            await self.declare(channel, queue)
            self._declared.add(queue)
        durable = self.store.get("queues", {}).get(queue, {}).get("durable", True)
        body = json.dumps({"route": route, "queue": queue, "from": self.who, "at": time.time()}).encode()
        await channel.default_exchange.publish(
            aio_pika.Message(body, content_type="application/json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT if durable else None),
            routing_key=queue)
        self.published += 1

    async def consume(self, queue: str, prefetch: int, concurrency: int, acks_late: bool, task: Task) -> None:
        """Consume until cancelled; reconnects (and re-declares) when the broker goes away."""
        import aio_pika

        slots = asyncio.Semaphore(concurrency)

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            self.consumed += 1
            self.redelivered += bool(message.redelivered)
            async with slots:
                self.running += 1
                try:
                    if not acks_late:
                        await message.ack()
                        self.acked += 1
                    try:
                        await task(json.loads(message.body))
                        self.done += 1
                    except Exception:
                        self.failed += 1
                    if acks_late:
                        await message.ack()
                        self.acked += 1
                finally:
                    self.running -= 1

        while True:  # a robust connection restores the channel, qos and consumer after a reconnect
            try:
                await self.connect()
                consumer_channel = await self._connection.channel()
                await consumer_channel.set_qos(prefetch_count=prefetch * concurrency)
                q = await self.declare(consumer_channel, queue)
                await q.consume(on_message)
                return
            except Exception as e:  # the broker is not up yet
                print(f"stand-in {self.who}: consumer of {queue} waiting for the broker: {e!r}", flush=True)
                await asyncio.sleep(2)

    def stats(self) -> dict[str, Any]:
        return {"published": self.published, "consumed": self.consumed, "redelivered": self.redelivered,
                "acked": self.acked, "running": self.running, "done": self.done, "failed": self.failed}

    async def close(self) -> None:
        if self._connection is not None:
            await asyncio.wait_for(self._connection.close(), 5)
