"""Istio-style fault injection: abort at a share of requests, and on one subset only."""

from __future__ import annotations

import math

from twin.scenario import loader
from twin.scenario.runner import execute

BODY = """\
name: abort
duration: 70s
warmup: 10s
seed: 5
load:
  rates: {{chat: 10/s}}
  only: true
timeline:
  - {{id: f, at: 10s, action: mesh-fault, target: service/chat-api, abort_status: 503, {extra}}}
"""


def _error_rate(write_scenario, extra: str) -> tuple[float, int, list]:
    run = execute(loader.load(write_scenario(BODY.format(extra=extra)), ()))
    t = run.observations[0]
    n = t.value("route/chat.requests", "sum", 10, 70)
    return t.value("route/chat.failed", "sum", 10, 70) / n, n, run.timeline


def _within_binomial(rate: float, p: float, n: float) -> bool:
    return abs(rate - p) <= 4 * math.sqrt(p * (1 - p) / n)


def test_abort_hits_its_share_of_requests(write_scenario) -> None:
    rate, n, timeline = _error_rate(write_scenario, "percent: 50")
    assert n > 450 and _within_binomial(rate, 0.5, n), rate
    (ev,) = [e for e in timeline if e["event"] == "FaultInjected"]
    assert ev["detail"] == "abort 503 on 50%"


def test_a_subset_fault_hits_only_the_tries_bound_for_it(write_scenario) -> None:
    """chat-vs sends 10 % to v2: aborting every try to v2 fails about 10 % of chats."""
    rate, n, timeline = _error_rate(write_scenario, "subset: v2")
    assert _within_binomial(rate, 0.10, n), rate
    (ev,) = [e for e in timeline if e["event"] == "FaultInjected"]
    assert ev["detail"] == "abort 503 on 100% of the tries to subset v2"


def test_abort_and_delay_take_their_own_shares(write_scenario) -> None:
    rate, n, _ = _error_rate(write_scenario, "delay: 100ms, percent: 100, abort_percent: 20")
    assert _within_binomial(rate, 0.20, n), rate


def test_an_unknown_subset_is_named(write_scenario) -> None:
    import pytest

    from twin.model.errors import ModelError

    with pytest.raises(ModelError, match="has no subset 'v3' in its DestinationRule \\(subsets: v1, v2\\)"):
        loader.load(write_scenario(BODY.format(extra="subset: v3")), ())


def test_refused_requests_are_failed_not_accepted_then_failed(write_scenario) -> None:
    """An abort answers 503 at once: the user saw the failure, no turn was accepted, so
    it counts in `failed` and not again in `turns_incomplete` (accepted, then failed)."""
    run = execute(loader.load(write_scenario(BODY.format(extra="percent: 50")), ()))
    t = run.observations[0]
    failed = t.value("route/chat.failed", "sum", 10, 70)
    assert failed > 200
    assert t.value("route/chat.turns_incomplete", "sum", 0, 70) < 0.05 * failed
    notes = run.impact["routes"]["chat"]["notes"]
    assert "accepted, then failed" not in notes or float(notes.split()[0]) < 0.05 * failed


def test_fault_removed_counts_the_calls_that_met_it(write_scenario) -> None:
    run = execute(loader.load(write_scenario(BODY.format(extra="subset: v2, for: 50s")), ()))
    (ev,) = [e for e in run.timeline if e["event"] == "FaultRemoved"]
    calls = int(ev["detail"].split()[0])
    chats = run.observations[0].value("route/chat.requests", "sum", 10, 60)
    assert ev["detail"].endswith("calls to subset v2 met it during the fault")
    assert _within_binomial(calls / chats, 0.10, chats)  # v2's share, not every chat-api call
