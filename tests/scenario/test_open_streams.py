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
    # 3 turns/s, each holding a stream for a lognormal 30 s mean: ~90 open (Little's law)
    assert 60 <= outcome.observed[0] <= 120
    trace = run.observations[0]
    assert trace.value("service/sse-gateway.open_streams", "max", 0, 1) <= 5  # none at the start
