"""Judge a scenario's checks in every replication of a run.

A check holds when it holds in every replication (or in `holds_in` of them);
the outcome says in how many it failed and what was observed. A metric the
backend cannot observe makes the check "not applicable": never passed, and it
does not change the exit status.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Protocol

from twin.model.units import format_duration
from twin.scenario.model import Check, Scenario

HELD, FAILED, NOT_APPLICABLE = "held", "failed", "n/a"


class Observation(Protocol):
    """What one replication lets a check see (a twin.result.trace.Trace)."""

    def observable(self, metric: str) -> bool: ...

    def value(self, metric: str, stat: str, t0: float, t1: float) -> float | None: ...

    def events(self, name: str, source: str | None = None) -> list[float]: ...

    def observes_event(self, name: str) -> bool: ...


@dataclass
class Outcome:
    """One check over all replications."""

    name: str
    kind: str
    status: str
    what: str                     # "route/chat.error_rate mean over kill..kill+60s"
    bound: str                    # "<= 0.05"
    observed: list[float | None]  # per replication; None: nothing to measure
    failed_in: int
    replications: int
    unit: str = ""
    reason: str = ""
    details: list[str] = field(default_factory=list)

    shown: float | None = None    # the value the report names: the worst failing one
    held_in: list[bool] = field(default_factory=list)

    def sentence(self) -> str:
        """A failing check as one sentence: the check, the observed value, the bound."""
        if self.status == NOT_APPLICABLE:
            return f"check {self.name!r} is not applicable: {self.reason}"
        shown = fmt(self.shown, self.unit)
        if self.status == HELD:
            return f"check {self.name!r} held: {self.what} was {shown}, bound {self.bound}"
        where = (f"in {self.failed_in} of {self.replications} replications"
                 if self.replications > 1 else "")
        return (f"check {self.name!r} failed{' ' + where if where else ''}: {self.what} was "
                f"{shown}, bound {self.bound}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["shown"] = None if self.shown is None or math.isinf(self.shown) else round(self.shown, 6)
        d["observed"] = [None if v is None or math.isinf(v) else round(v, 6) for v in self.observed]
        return d


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "nothing (no data in the window)"
    if math.isinf(value):
        return "never"
    if unit == "s":
        return format_duration(round(value, 3))
    if value == int(value) and abs(value) < 1e12:
        return f"{int(value)}"
    return f"{value:.4g}"


def _window_text(check: Check) -> str:
    w = check.window
    if w.from_ == "warmup" and w.to == "end":
        return "after warm-up"
    return f"over {w.from_}..{w.to}"


def judge_one(scn: Scenario, check: Check, obs: Observation) -> tuple[float | None, bool | None, str]:
    """(observed, held, detail) in one replication; held None: not applicable."""
    t0, t1 = scn.resolve(check.window.from_), scn.resolve(check.window.to)
    if check.event is not None:
        if not obs.observes_event(check.event):
            return None, None, f"this backend cannot record {check.event} events"
        times = [t for t in obs.events(check.event, check.source) if t0 <= t <= t1]
        if check.statistic == "delay":
            value = (min(times) - t0) if times else math.inf
        else:
            value = float(len(times))
        return value, check.within_bounds(value), ""
    if check.metric is not None:
        if not obs.observable(check.metric):
            return None, None, f"this backend cannot observe {check.metric}"
        value = obs.value(check.metric, check.statistic, t0, t1)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None, False, "no data in the window"
        return value, check.within_bounds(value), ""
    return _recovery(scn, check, obs)


def _recovery(scn: Scenario, check: Check, obs: Observation) -> tuple[float | None, bool | None, str]:
    """Seconds from the fault's end until the metric stays in its steady-state band."""
    metric = check.recovery
    if not obs.observable(metric):
        return None, None, f"this backend cannot observe {metric}"
    fault = scn.fault(check.after) if check.after else scn.faults[-1]
    first = min((a.at for a in scn.faults), default=scn.duration)
    stat = check.statistic
    start = fault.end if fault.end is not None else fault.at
    if check.max is None and check.min is None and check.range is None:
        base = obs.value(metric, stat, scn.warmup, first)
        if base is None or math.isnan(base):
            return None, False, "no steady state before the first fault to compare with"
        lo, hi = None, base * (1 + check.tolerance) + check.slack
    elif check.range is not None:
        lo, hi = check.range
    else:
        lo, hi = check.min, check.max

    def ok(v: float | None) -> bool:
        return v is not None and not math.isnan(v) and (lo is None or v >= lo) and (hi is None or v <= hi)

    step = check.step
    edges = []
    t = start
    while t + step <= scn.duration + 1e-9:
        edges.append(t)
        t += step
    if not edges:
        return math.inf, False, "the run ends before a judging window fits after the fault"
    values = [obs.value(metric, stat, e, e + step) for e in edges]
    recovered_at = None
    for e, v in zip(reversed(edges), reversed(values), strict=True):
        if not ok(v):
            break
        recovered_at = e
    if recovered_at is None:
        return math.inf, False, f"band {_band(lo, hi)}"
    delay = recovered_at - start  # the first window of the streak that stays in band
    return delay, delay <= check.within, f"band {_band(lo, hi)}"


def _band(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"[{lo:.4g}, {hi:.4g}]"
    return f"<= {hi:.4g}" if hi is not None else f">= {lo:.4g}"


def describe(check: Check, scn: Scenario | None = None) -> tuple[str, str, str]:
    """(what is measured, the bound, the unit) in the words of the report."""
    if check.event is not None:
        src = f" from {check.source}" if check.source else ""
        if check.statistic == "delay":
            return (f"time to the first {check.event}{src} after {check.window.from_}",
                    _bound_s(check), "s")
        return f"count of {check.event}{src} {_window_text(check)}", check.bound_text(), ""
    if check.metric is not None:
        seconds = check.metric.rsplit(".", 1)[-1] in (
            "latency", "p50", "p95", "p99", "unavailable", "downtime")
        alias = check.metric.rsplit(".", 1)[-1] in ("p50", "p95", "p99")  # route/chat.p99
        stat = "" if alias else f" {check.statistic}"
        return (f"{check.metric}{stat} {_window_text(check)}",
                _bound_s(check) if seconds else check.bound_text(), "s" if seconds else "")
    after = check.after or "the last fault"
    fault = None if scn is None else (scn.fault(check.after) if check.after else (
        scn.faults[-1] if scn.faults else None))
    # _recovery measures from the start of a fault that never ends
    if fault is None or fault.end is not None:
        when = f"{after} ends"
    elif fault.instant:
        when = after  # a pod killed, a deployment scaled: over at once
    else:
        when = f"{after} starts ({after} lasts to the end of the run)"
    return (f"time for {check.recovery} to return to steady state after {when}",
            f"<= {format_duration(check.within)}", "s")


def _bound_s(check: Check) -> str:
    lo, hi = check.range if check.range is not None else (check.min, check.max)
    parts = []
    if lo is not None:
        parts.append(f">= {format_duration(lo)}")
    if hi is not None:
        parts.append(f"<= {format_duration(hi)}")
    return " and ".join(parts)


def judge(scn: Scenario, observations: list[Observation]) -> list[Outcome]:
    """Every check over every replication."""
    outcomes = []
    for check in scn.checks:
        what, bound, unit = describe(check, scn)
        observed: list[float | None] = []
        held: list[bool] = []
        reasons: list[str] = []
        applicable = True
        for obs in observations:
            value, ok, detail = judge_one(scn, check, obs)
            if ok is None:
                applicable = False
                reasons.append(detail)
                break
            observed.append(value)
            held.append(ok)
            if detail:
                reasons.append(detail)
        reps = len(observations)
        if not applicable:
            outcomes.append(Outcome(check.name, check.kind, NOT_APPLICABLE, what, bound, [], 0, reps,
                                    unit, reasons[-1]))
            continue
        failed = held.count(False)
        status = HELD if reps and (reps - failed) >= math.ceil(check.holds_in * reps - 1e-9) else FAILED
        outcomes.append(Outcome(check.name, check.kind, status, what, bound, observed, failed, reps,
                                unit, reasons[0] if reasons else "",
                                shown=_worst(check, observed, held), held_in=held))
    return outcomes


def _worst(check: Check, observed: list[float | None], held: list[bool]) -> float | None:
    """The failing value farthest outside the bound; with none failing, the closest to it."""
    if check.recovery is not None or check.statistic == "delay":
        lo, hi = None, check.within if check.recovery is not None else (
            check.range[1] if check.range else check.max)
    else:
        lo, hi = check.range if check.range is not None else (check.min, check.max)
    def excess(v: float) -> float:
        return max((v - hi) if hi is not None else -math.inf, (lo - v) if lo is not None else -math.inf)
    failing = [v for v, ok in zip(observed, held, strict=True) if not ok and v is not None]
    pool = failing or [v for v in observed if v is not None]
    return max(pool, key=excess) if pool else None


def verdict(outcomes: list[Outcome]) -> bool:
    """True when no applicable check failed."""
    return not any(o.status == FAILED for o in outcomes)
