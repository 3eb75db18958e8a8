"""Requeued deliveries obey the queue's max-length: RabbitMQ's requeue_and_run drops from
the head (maybe_drop_head) until the queue is within its length, so a worker crash with
acks_late never leaves more ready messages than x-max-length."""

from __future__ import annotations

from twin.scenario import loader
from twin.scenario.runner import execute

BODY = """\
name: requeue-limit
duration: 90s
warmup: 20s
seed: 5
overrides:
  stores.rabbitmq.queues.chat-tasks.max_length: 5
  workers.chat-worker.acks_late: true
  workers.chat-worker.replicas: 1
  workers.chat-worker.hpa.min: 1
  workers.chat-worker.hpa.max: 1
timeline:
  - {{id: crash, at: 30s, action: worker-crash, target: worker/chat-worker, count: 1}}
checks:
  - {{name: within its length, metric: queue/chat-tasks.length, stat: max, max: {limit}}}
"""


def test_a_requeue_beyond_max_length_drops_from_the_head(write_scenario) -> None:
    t = execute(loader.load(write_scenario(BODY.format(limit=5)))).observations[0]
    assert t.value("queue/chat-tasks.requeued", "sum", 0, 90) > 5  # the crash requeued a prefetch's worth
    assert t.value("queue/chat-tasks.length", "max", 0, 90) <= 5
    assert t.value("queue/chat-tasks.dropped", "sum", 0, 90) > 0
