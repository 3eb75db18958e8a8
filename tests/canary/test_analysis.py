"""Flagger's analysis arithmetic, without the simulator: promotion after interval x
maxWeight / stepWeight, rollback after interval x threshold (FACTS.md)."""

from __future__ import annotations

import pytest

from twin.canary.analysis import Analysis
from twin.canary.judge import FAIL, MARGINAL, PASS, Verdict
from twin.canary.spec import Canary

OK, BAD, SO_SO = Verdict(PASS, ""), Verdict(FAIL, "request-success-rate 90.00% < 99%"), \
    Verdict(MARGINAL, "score 80")


def _run(spec: Canary, verdicts: list[Verdict]) -> Analysis:
    a = Analysis(spec, "chat-api.chat")
    a.start(0.0)
    for k, v in enumerate(verdicts, start=1):
        a.tick(k * spec.interval, v)
    return a


@pytest.mark.parametrize(("interval", "step", "top"), [(60, 10, 50), (30, 25, 100), (120, 5, 20)])
def test_a_good_canary_promotes_after_interval_x_max_weight_over_step(interval, step, top) -> None:
    spec = Canary(service="chat-api", virtual_service="chat-vs",
                  progressive={"interval": interval, "step_weight": step, "max_weight": top})
    a = _run(spec, [OK] * 100)
    assert a.decision == "promoted"
    assert a.decided_at == interval * top / step
    weights = [s.weight for s in a.steps if s.event in ("CanaryStarted", "CanaryAdvance")]
    assert weights == list(range(step, top + 1, step))


def test_step_weights_are_taken_in_turn() -> None:
    spec = Canary(service="chat-api", virtual_service="chat-vs",
                  progressive={"interval": 60, "step_weights": [1, 5, 20, 50]})
    a = _run(spec, [OK] * 10)
    assert [s.weight for s in a.steps][:4] == [1, 5, 20, 50]
    assert a.decided_at == 4 * 60


@pytest.mark.parametrize("threshold", [1, 3, 5])
def test_a_broken_canary_rolls_back_after_interval_x_threshold(threshold) -> None:
    spec = Canary(service="chat-api", virtual_service="chat-vs",
                  progressive={"interval": 60, "threshold": threshold})
    a = _run(spec, [BAD] * 10)
    assert (a.decision, a.decided_at, a.first_failure) == ("rolled back", 60 * threshold, 60)
    assert a.weight == 0  # all traffic back to the primary
    assert [s.event for s in a.steps] == (["CanaryStarted"] + ["CanaryHalt"] * (threshold - 1)
                                          + ["CanaryRollback"])


def test_failed_checks_halt_and_count_and_passed_ones_advance() -> None:
    """Flagger does not reset failedChecks on a pass: 2 fails, a pass, 3 fails -> rollback."""
    spec = Canary(service="chat-api", virtual_service="chat-vs", progressive={"threshold": 5})
    a = _run(spec, [BAD, BAD, OK, BAD, BAD, BAD, OK])
    assert a.decision == "rolled back" and a.decided_at == 6 * 60
    assert max(s.weight for s in a.steps) == 20


def test_a_marginal_score_halts_without_counting() -> None:
    spec = Canary(service="chat-api", virtual_service="chat-vs", progressive={"threshold": 1})
    a = _run(spec, [SO_SO, SO_SO, OK])
    assert a.decision is None and a.failed == 0 and a.weight == 20


def test_a_fixed_split_never_moves_and_detects_at_the_threshold() -> None:
    spec = Canary(service="chat-api", virtual_service="chat-vs", strategy="fixed",
                  fixed={"weight": 10, "interval": 60, "threshold": 3})
    a = _run(spec, [OK, BAD, BAD, OK, BAD, BAD])
    assert (a.decision, a.detected_at, a.decided_at) == ("detected", 300, None)
    assert {s.weight for s in a.steps} == {10}


def test_step_weights_must_rise() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="step_weights must rise"):
        Canary(service="chat-api", virtual_service="chat-vs",
               progressive={"step_weights": [10, 5]})
