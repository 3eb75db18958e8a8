"""Flagger's analysis loop as a state machine: one call per interval, its decision.

At the first interval the canary gets its first weight (no traffic yet, nothing to
check). At each later one a failed check halts advancement and counts; when the failed
checks reach the threshold the canary is rolled back (all traffic to the primary);
a passed check advances the weight, and a passed check at the maximum promotes it. So the
fastest promotion takes interval x maxWeight / stepWeight, a rollback interval x
threshold (FACTS.md, Progressive delivery). A fixed split never moves: its checks only
detect, at the same threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.canary.judge import FAIL, PASS, Verdict
from twin.canary.spec import Canary

PROGRESSING, SUCCEEDED, FAILED = "Progressing", "Succeeded", "Failed"


@dataclass(frozen=True)
class Step:
    """One interval's outcome: the event Flagger records and the weight after it."""

    t: float
    event: str  # CanaryStarted, CanaryAdvance, CanaryHalt, CanaryRollback, CanaryPromoted, CanaryDetected
    message: str
    weight: int


@dataclass
class Analysis:
    spec: Canary
    name: str  # Flagger's `service.namespace`, as its messages say it
    weight: int = 0
    failed: int = 0
    phase: str = PROGRESSING
    ticks: int = 0
    detected_at: float | None = None
    first_failure: float | None = None
    decided_at: float | None = None
    steps: list[Step] = field(default_factory=list)

    def start(self, t: float) -> Step:
        s = self.spec
        self.weight = s.fixed.weight if s.strategy == "fixed" else s.progressive.weights()[0]
        what = (f"fixed weight {self.weight}" if s.strategy == "fixed"
                else f"canary weight {self.weight}")
        return self._say(t, "CanaryStarted", f"Starting canary analysis for {self.name}, {what}")

    def tick(self, t: float, verdict: Verdict) -> Step | None:
        """The interval that ends at t, judged; None once the analysis is over."""
        if self.phase != PROGRESSING:
            return None
        self.ticks += 1
        s = self.spec
        if verdict.result != PASS:
            if verdict.result == FAIL:
                self.failed += 1
                if self.first_failure is None:
                    self.first_failure = t
            if self.failed >= s.threshold:
                self.detected_at = t
                if s.strategy == "fixed":
                    self.phase = FAILED
                    return self._say(t, "CanaryDetected", f"{self.name} failed checks threshold "
                                     f"reached {self.failed}: the fixed split would alert now")
                self.phase, self.decided_at, self.weight = FAILED, t, 0
                return self._say(t, "CanaryRollback", f"Rolling back {self.name} failed checks "
                                 f"threshold reached {self.failed}")
            if s.strategy == "fixed":  # nothing to halt: the check only counts
                return self._say(t, "CanaryHalt", f"Check failed {self.name} {verdict.reason}")
            return self._say(t, "CanaryHalt", f"Halt advancement {self.name} {verdict.reason}")
        if s.strategy == "fixed":
            return None
        weights = s.progressive.weights()
        if self.weight >= weights[-1]:
            self.phase, self.decided_at, self.weight = SUCCEEDED, t, 0
            return self._say(t, "CanaryPromoted", f"Promotion completed! Scaling down {self.name}")
        self.weight = next(w for w in weights if w > self.weight)
        return self._say(t, "CanaryAdvance", f"Advance {self.name} canary weight {self.weight}")

    def _say(self, t: float, event: str, message: str) -> Step:
        step = Step(t, event, message, self.weight)
        self.steps.append(step)
        return step

    @property
    def decision(self) -> str | None:
        """promoted, rolled back, detected (fixed), or None while undecided."""
        if self.phase == SUCCEEDED:
            return "promoted"
        if self.phase == FAILED:
            return "detected" if self.spec.strategy == "fixed" else "rolled back"
        return None


__all__ = ["FAIL", "FAILED", "PASS", "PROGRESSING", "SUCCEEDED", "Analysis", "Step"]
