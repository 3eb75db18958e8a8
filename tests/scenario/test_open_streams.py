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


def test_events_reach_open_streams_when_the_gateway_has_no_free_slot(write_scenario) -> None:
    """A stream holds its slot; the events written to it take none. With sse-gateway's
    slots cut to 2 per pod (6 in all) and 3 turns/s of ~3.5 s each (~10 streams wanted),
    new streams wait for a slot, yet every turn gets its events. (Events that queued for
    a slot behind the waiting streams stalled every turn: 0 of ~270 completed.)"""
    body = BODY.replace("checks:", "overrides:\n  services.sse-gateway.concurrency: 2\nchecks:")
    run = execute(loader.load(write_scenario(body), ()))
    trace = run.observations[0]
    assert trace.value("service/sse-gateway.open_streams", "max", 30, 100) <= 6
    chat = run.result.result.runs[0].routes["chat"]
    assert chat.end_to_end_ok > 0.9 * chat.arrivals
    assert chat.end_to_end_open < 10
    # the held stream slots are the gateway's work: it is near full, not idle
    assert run.result.result.runs[0].workloads["sse-gateway"].utilisation > 0.8
