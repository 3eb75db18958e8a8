"""The `canary:` section of a scenario file, as pure data.

    canary:
      service: chat-api            # a workload with versions
      virtual_service: chat-vs     # whose route splits the subsets
      primary: v1
      canary: v2
      regression:                  # how v2 differs, from `at` on (phases in time order)
        - {at: 0s, error_rate: 0.02}
        - {at: 5m, latency_factor: 3}
      strategy: progressive        # or fixed (the 90/10 of today)
      progressive: {interval: 1m, step_weight: 10, max_weight: 50, threshold: 5}
      metrics: {request_success_rate: 99, request_duration: 500ms}
      judge: threshold             # or statistical (Mann-Whitney, as Kayenta)

Defaults are Flagger's (interval 60 s; request-success-rate min 99 %, request-duration
p99 max 500 ms) and Kayenta's (confidence 0.98; pass 95, marginal 75).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from twin.model.base import Probability, Strict
from twin.model.units import Duration


class Phase(Strict):
    """What the canary's version does from `at` on (relative to the scenario's start)."""

    at: Duration = 0.0
    latency_factor: float = Field(default=1.0, gt=0, le=1000,
                                  description="The version's service time, times this.")
    error_rate: Probability | None = Field(
        default=None, description="Its own error rate from then on; unset: the topology's.")


class Progressive(Strict):
    """Flagger's `analysis`: every interval a check; weight up by a step while checks pass."""

    interval: Duration = Field(default=60.0, gt=0)
    step_weight: int = Field(default=10, ge=1, le=100)
    step_weights: list[int] | None = Field(
        default=None, description="Flagger's stepWeights: the weights in turn (overrides "
        "step_weight and max_weight: the last is the maximum).")
    max_weight: int = Field(default=50, ge=1, le=100)
    threshold: int = Field(default=5, ge=1, description="Failed checks before a rollback.")

    @model_validator(mode="after")
    def _steps(self) -> Progressive:
        w = self.step_weights
        if w is not None and (not w or any(b <= a for a, b in zip(w, w[1:], strict=False))
                              or w[0] < 1 or w[-1] > 100):
            raise ValueError("step_weights must rise, each in 1..100")
        return self

    def weights(self) -> list[int]:
        """The canary's weight at each step, the last the maximum."""
        if self.step_weights:
            return list(self.step_weights)
        out, w = [], 0
        while w < self.max_weight:
            w = min(w + self.step_weight, self.max_weight)
            out.append(w)
        return out


class Fixed(Strict):
    """A split that never moves (the cluster's 90/10): checks run, and only detect."""

    weight: int = Field(default=10, ge=0, le=100)
    interval: Duration = Field(default=60.0, gt=0)
    threshold: int = Field(default=5, ge=1, description="Failed checks that count as detected.")


class Metrics(Strict):
    """Flagger's built-in Istio metrics; unset: not checked."""

    request_success_rate: float | None = Field(
        default=99.0, ge=0, le=100, description="Min % of the canary's tries not failed.")
    request_duration: Duration | None = Field(
        default=0.5, gt=0, description="Max p99 of the canary's tries.")


class Statistical(Strict):
    """Kayenta's judge: Mann-Whitney U per metric, canary against primary."""

    confidence: float = Field(default=0.98, gt=0, lt=1)
    sample: Duration = Field(default=10.0, gt=0, description="Each sample's window.")
    pass_score: float = Field(default=95.0, ge=0, le=100)
    marginal_score: float = Field(default=75.0, ge=0, le=100)


class Canary(Strict):
    service: str
    virtual_service: str
    primary: str = "v1"
    canary: str = "v2"
    regression: list[Phase] = []
    strategy: Literal["progressive", "fixed"] = "progressive"
    progressive: Progressive = Progressive()
    fixed: Fixed = Fixed()
    metrics: Metrics = Metrics()
    judge: Literal["threshold", "statistical"] = "threshold"
    statistical: Statistical = Statistical()

    @model_validator(mode="after")
    def _phases(self) -> Canary:
        ats = [p.at for p in self.regression]
        if ats != sorted(ats):
            raise ValueError("regression phases must be in time order")
        return self

    @property
    def interval(self) -> float:
        return self.progressive.interval if self.strategy == "progressive" else self.fixed.interval

    @property
    def threshold(self) -> int:
        return self.progressive.threshold if self.strategy == "progressive" else self.fixed.threshold

    def phase_at(self, t: float) -> Phase:
        now = Phase()
        for p in self.regression:
            if p.at <= t:
                now = p
        return now


def problems(spec: Canary, topology: Any) -> list[tuple[tuple, str]]:
    """(location under `canary`, message) for names the topology does not have."""
    from twin.model.errors import did_you_mean

    out: list[tuple[tuple, str]] = []
    svc = topology.workload(spec.service)
    if svc is None:
        names = [w.name for w in topology.workloads]
        return [(("service",), f"no workload {spec.service!r}{did_you_mean(spec.service, names)}")]
    versions = [v.name for v in svc.versions]
    if len(versions) < 2:
        return [(("service",), f"{spec.service} has {len(versions)} versions: a canary needs two "
                 "(`versions:` in the topology)")]
    for key in ("primary", "canary"):
        name = getattr(spec, key)
        if name not in versions:
            out.append(((key,), f"{spec.service} has no version {name!r} (have: "
                        f"{', '.join(versions)})"))
    vss = topology.mesh.virtual_services if topology.mesh is not None else []
    vs = next((v for v in vss if v.name == spec.virtual_service), None)
    if vs is None:
        names = [v.name for v in vss]
        out.append((("virtual_service",), f"no VirtualService {spec.virtual_service!r}"
                    f"{did_you_mean(spec.virtual_service, names)}"))
    elif not any(d.host == spec.service and d.subset == spec.canary
                 for h in vs.http for d in h.route):
        out.append((("virtual_service",), f"{vs.name} routes no request to {spec.service} "
                    f"subset {spec.canary}"))
    return out
