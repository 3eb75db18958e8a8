"""The judges: Flagger's thresholds, and Kayenta's Mann-Whitney U against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from twin.canary import judge


def test_mann_whitney_agrees_with_scipy_and_the_textbook() -> None:
    """Canary [4, 5, 6] over primary [1, 2, 3]: U = 9, exact one-sided p = 1 / C(6, 3)."""
    c = judge.compare("p99", [4.0, 5.0, 6.0], [1.0, 2.0, 3.0], 0.98)
    assert c is not None and c.u == 9 and c.p_value == pytest.approx(1 / 20)
    assert c.shift == 3.0  # the median of the nine pairwise differences
    assert c.passed  # p = 0.05 is not below 1 - 0.98: three samples cannot convict
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(0, 0.5, 40), rng.lognormal(0.2, 0.5, 35)
    ours = judge.compare("latency", list(a), list(b), 0.98)
    ref = mannwhitneyu(a, b, alternative="greater")
    assert ours is not None and (ours.u, ours.p_value) == pytest.approx((ref.statistic, ref.pvalue))


def _score(factor: float, seed: int = 3) -> float:
    rng = np.random.default_rng(seed)
    primary = rng.lognormal(np.log(0.2), 0.3, 30)
    canary = rng.lognormal(np.log(0.2 * factor), 0.3, 30)
    errors_p, errors_c = rng.binomial(200, 0.01, 30) / 200, rng.binomial(200, 0.01 * factor, 30) / 200
    v = judge.statistical({"p99": (list(canary), list(primary)),
                           "error_rate": (list(errors_c), list(errors_p))}, 0.98, 95, 75)
    return v.score if v.score is not None else -1


def test_the_statistical_verdict_worsens_as_the_regression_grows() -> None:
    scores = [np.mean([_score(f, s) for s in range(8)]) for f in (1.0, 1.1, 1.3, 2.0, 4.0)]
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] >= 90 and scores[-1] == 0


def test_no_samples_is_a_failed_check() -> None:
    v = judge.statistical({"p99": ([], [0.1, 0.2])}, 0.98, 95, 75)
    assert v.result == judge.FAIL and "no values" in v.reason


def test_threshold_checks_say_what_flagger_says() -> None:
    name = "chat-api.chat"
    assert judge.threshold(judge.Window(0, 0, 0.0), 99, 0.5, name).reason.startswith(
        "no values found for istio metric request-success-rate")
    assert judge.threshold(judge.Window(100, 2, 0.1), 99, 0.5, name).reason == \
        "request-success-rate 98.00% < 99%"
    assert judge.threshold(judge.Window(100, 0, 0.7), 99, 0.5, name).reason == \
        "request-duration 700ms > 500ms"
    assert judge.threshold(judge.Window(100, 1, 0.5), 99, 0.5, name).result == judge.PASS
