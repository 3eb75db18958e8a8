"""The judges of one analysis step: Flagger's thresholds and Kayenta's statistics.

A judge sees what Prometheus would hold of the canary (and, for the statistical judge,
of the primary) and answers pass, marginal or fail; "no values" (no tries reached the
canary) is a failed check, as Flagger counts it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

PASS, MARGINAL, FAIL = "pass", "marginal", "fail"


@dataclass(frozen=True)
class Window:
    """One version's tries over an interval: how many, how many failed, their p99."""

    tries: int
    failed: int
    p99: float

    @property
    def success_rate(self) -> float:
        return 100.0 * (self.tries - self.failed) / self.tries if self.tries else math.nan


@dataclass(frozen=True)
class Verdict:
    result: str  # pass, marginal, fail
    reason: str  # Flagger's words for a failed check, the score for a statistical one
    score: float | None = None


def threshold(canary: Window, success_min: float | None, p99_max: float | None,
              name: str) -> Verdict:
    """Flagger's built-in Istio checks on the canary's own interval."""
    if canary.tries == 0:
        return Verdict(FAIL, f"no values found for istio metric request-success-rate probably "
                             f"{name} is not receiving traffic")
    if success_min is not None and canary.success_rate < success_min:
        return Verdict(FAIL, f"request-success-rate {canary.success_rate:.2f}% < {success_min:g}%")
    if p99_max is not None and canary.p99 > p99_max:
        return Verdict(FAIL, f"request-duration {canary.p99 * 1000:.0f}ms > {p99_max * 1000:.0f}ms")
    return Verdict(PASS, "")


@dataclass(frozen=True)
class MetricComparison:
    """Mann-Whitney U of the canary's samples against the primary's (one-sided: the
    canary worse), with the Hodges-Lehmann shift."""

    metric: str
    u: float
    p_value: float
    shift: float  # median of canary - primary over all pairs
    passed: bool


def compare(metric: str, canary: Sequence[float], primary: Sequence[float],
            confidence: float) -> MetricComparison | None:
    """None without samples on both sides (no data)."""
    from scipy.stats import mannwhitneyu

    c = [x for x in canary if not math.isnan(x)]
    p = [x for x in primary if not math.isnan(x)]
    if not c or not p:
        return None
    if len(set(c) | set(p)) == 1:  # all equal: no evidence either way
        return MetricComparison(metric, len(c) * len(p) / 2, 1.0, 0.0, True)
    res = mannwhitneyu(c, p, alternative="greater", method="auto")
    shift = hodges_lehmann(c, p)
    return MetricComparison(metric, float(res.statistic), float(res.pvalue), shift,
                            bool(res.pvalue >= 1.0 - confidence))


def hodges_lehmann(a: Sequence[float], b: Sequence[float]) -> float:
    import numpy as np

    return float(np.median(np.subtract.outer(np.asarray(a), np.asarray(b))))


def statistical(samples: dict[str, tuple[Sequence[float], Sequence[float]]], confidence: float,
                pass_score: float, marginal_score: float) -> Verdict:
    """Kayenta's score: the share of metrics that pass, out of 100."""
    results = [compare(m, c, p, confidence) for m, (c, p) in samples.items()]
    if not results or any(r is None for r in results):
        return Verdict(FAIL, "no values for the canary or the primary", 0.0)
    passed = sum(r.passed for r in results if r is not None)
    score = 100.0 * passed / len(results)
    worse = ", ".join(f"{r.metric} p={r.p_value:.3g}" for r in results if r is not None and not r.passed)
    result = PASS if score >= pass_score else MARGINAL if score >= marginal_score else FAIL
    return Verdict(result, f"score {score:.0f}" + (f" ({worse})" if worse else ""), score)
