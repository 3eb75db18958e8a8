"""Open SSE streams are a check metric: service/sse-gateway.open_streams."""

from __future__ import annotations

from twin.scenario import loader
from twin.scenario.runner import execute

BODY = """\
name: streams
duration: 100s
warmup: 10s
replications: 1
load:
  rates: {chat: 3/s}
  only: true
checks:
  - {name: streams open, metric: service/sse-gateway.open_streams, window: 70s..end, min: 1}
"""


def test_open_streams_follow_littles_law(write_scenario) -> None:
    run = execute(loader.load(write_scenario(BODY), ()))
    (outcome,) = run.outcomes
    assert outcome.status == "held"
    # 3 turns/s, each stream open until its turn's last event: Little's law gives
    # 3/s x the turn's end-to-end time (LLM mean ~2.6 s plus the worker and 20 events:
    # 3-4 s), so ~10 open; a stream held for a fixed 30 s would give ~90, and one closed
    # at once would give ~0.
    assert 3 * 2.0 <= outcome.observed[0] <= 3 * 8.0
    trace = run.observations[0]
    assert trace.value("service/sse-gateway.open_streams", "max", 0, 1) <= 5  # none at the start
