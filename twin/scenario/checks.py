"""Judge a scenario's checks in every replication of a run.

A check holds when it holds in every replication (or in `holds_in` of them);
the outcome says in how many it failed and what was observed. A metric the
backend cannot observe makes the check "not applicable": never passed, and it
does not change the exit status. Each outcome carries its check's kind (an SLO,
or an expectation of the model), so that a verdict says which kind failed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from twin.model.units import format_duration
from twin.scenario.model import Check, Scenario

if TYPE_CHECKING:
    from twin.model.topology import Topology
    from twin.result.model import Saturation

HELD, FAILED, NOT_APPLICABLE = "held", "failed", "n/a"
SLO, EXPECTATION = "slo", "expectation"
LABEL = {SLO: "SLO", EXPECTATION: "expectation"}
SATURATION_KINDS = ("queue", "workload", "pod", "route")
_WORKLOAD_WORDS = ("worker", "service")  # metric vocabulary's names for a workload


class Observation(Protocol):
    """What one replication lets a check see (a twin.result.trace.Trace)."""

    def observable(self, metric: str) -> bool: ...

    def value(self, metric: str, stat: str, t0: float, t1: float) -> float | None: ...

    def events(self, name: str, source: str | None = None) -> list[float]: ...

    def observes_event(self, name: str) -> bool: ...

    def outages(self, metric: str) -> list[tuple[float, float]] | None: ...


@dataclass
class Outcome:
    """One check over all replications."""

    name: str
    kind: str                     # slo or expectation
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
    shape: str = "metric"         # metric, event, recovery or saturation

    @property
    def label(self) -> str:
        """`SLO` or `expectation`: how a sentence names the check."""
        return LABEL.get(self.kind, "check")

    def sentence(self) -> str:
        """A failing check as one sentence: its kind and name, the observed value, the bound
        (and, for saturation, which component and why)."""
        if self.status == NOT_APPLICABLE:
            return f"{self.label} {self.name!r} is not applicable: {self.reason}"
        shown = fmt(self.shown, self.unit)
        if self.status == HELD:
            return f"{self.label} {self.name!r} held: {self.what} was {shown}, bound {self.bound}"
        where = (f"in {self.failed_in} of {self.replications} replications"
                 if self.replications > 1 else "")
        why = f" ({self.reason})" if self.shape == "saturation" and self.reason else ""
        return (f"{self.label} {self.name!r} failed{' ' + where if where else ''}: {self.what} was "
                f"{shown}, bound {self.bound}{why}")

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


def saturated_in(result: Any, topology: Topology) -> list[list[Saturation] | None]:
    """Per replication, the components twin.sim.saturation flags after the warm-up; None
    for a replication without the time series the analysis reads (a backend that cannot
    tell, so that a saturation check on it is not applicable rather than passed)."""
    runs = getattr(getattr(result, "result", None), "runs", None) or []
    if not runs:
        return []
    from twin.sim.saturation import consumers_of, replication_saturation

    consumers = consumers_of(topology)
    return [replication_saturation(rr, consumers) if rr.series is not None else None for rr in runs]


def saturation_target(target: str) -> str:
    """`worker/chat-worker` and `service/chat-api` as the analysis names them: `workload/...`."""
    kind, slash, name = target.partition("/")
    return f"workload/{name}" if slash and kind in _WORKLOAD_WORDS else target


def saturation_problem(topo: Topology, target: str) -> str | None:
    """Why a saturation check's target names nothing the analysis flags, or None."""
    if target == "any":
        return None
    kind, slash, name = saturation_target(target).partition("/")
    kinds = (*SATURATION_KINDS, *_WORKLOAD_WORDS)
    if kind not in kinds:
        return (f"{target!r}: a saturation check names `any`, a kind ({', '.join(kinds)}) "
                "or KIND/NAME (workload/chat-worker)")
    if not slash:
        return None
    known = {"workload": [w.name for w in topo.workloads],
             "queue": sorted({w.queue for w in topo.workers}),
             "route": [r.name for r in topo.routes], "pod": []}[kind]
    if name not in known:
        from twin.model.errors import did_you_mean

        hint = did_you_mean(name, known)
        have = hint or (f" (have: {', '.join(known)})" if known
                        else "; name pods by their kind: `pod`")
        return f"no {kind} named {name!r} can saturate{have}"
    return None


def _matches(target: str, component: str) -> bool:
    target = saturation_target(target)
    return target == "any" or component == target or component.split("/", 1)[0] == target


def _saturation(check: Check, flagged: list[Saturation] | None) -> tuple[float | None, bool | None, str]:
    if flagged is None:
        return None, None, "this backend records no time series to judge saturation with"
    hits = [s for s in flagged if _matches(check.saturation or "any", s.component)]
    value = float(len(hits))
    return value, check.within_bounds(value), "; ".join(f"{s.component}: {s.evidence}" for s in hits)


def judge_one(scn: Scenario, check: Check, obs: Observation,
              flagged: list[Saturation] | None = None) -> tuple[float | None, bool | None, str]:
    """(observed, held, detail) in one replication; held None: not applicable.
    flagged: the replication's saturated components (None: the backend cannot tell)."""
    if check.saturation is not None:
        return _saturation(check, flagged)
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
    recovered_at = _exact(obs, metric, recovered_at, start, step)
    delay = recovered_at - start  # the streak's start, to the request where it begins
    return delay, delay <= check.within, f"band {_band(lo, hi)}"


def _exact(obs: Observation, metric: str, edge: float, start: float, step: float) -> float:
    """Where a failure metric's backend keeps each outage, the first success after the last
    outage that began before the streak of in-band windows (`edge`), when that outage
    reached into the window before it: the moment users saw it work again, not the window
    boundary. Elsewhere (latency, a bucketed backend) the window's start."""
    outages = obs.outages(metric)
    if not outages or edge <= start:
        return edge
    ends = [b for a, b in outages if a < edge and b > edge - step]
    return max(start, max(ends)) if ends else edge


def _band(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"[{lo:.4g}, {hi:.4g}]"
    return f"<= {hi:.4g}" if hi is not None else f">= {lo:.4g}"


def describe(check: Check, scn: Scenario | None = None) -> tuple[str, str, str]:
    """(what is measured, the bound, the unit) in the words of the report."""
    if check.saturation is not None:
        which = "" if check.saturation == "any" else f" ({check.saturation})"
        return (f"components saturated after warm-up{which}",
                f"<= {0 if check.max is None else check.max:g}", "")
    if check.event is not None:
        src = f" from {check.source}" if check.source else ""
        if check.statistic == "delay":
            return (f"time to the first {check.event}{src} after {check.window.from_}",
                    _bound_s(check), "s")
        return f"count of {check.event}{src} {_window_text(check)}", check.bound_text(), ""
    if check.metric is not None:
        seconds = check.metric.rsplit(".", 1)[-1] in (
            "latency", "queue_wait", "p50", "p95", "p99", "unavailable", "downtime")
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


def judge(scn: Scenario, observations: list[Observation],
          saturated: list[list[Saturation] | None] | None = None) -> list[Outcome]:
    """Every check over every replication; saturated: per replication, from saturated_in."""
    outcomes = []
    for check in scn.checks:
        what, bound, unit = describe(check, scn)
        observed: list[float | None] = []
        held: list[bool] = []
        reasons: list[str] = []
        applicable = True
        for i, obs in enumerate(observations):
            flagged = saturated[i] if saturated is not None and i < len(saturated) else None
            value, ok, detail = judge_one(scn, check, obs, flagged)
            if ok is None:
                applicable = False
                reasons.append(detail)
                break
            observed.append(value)
            held.append(ok)
            if detail and (check.saturation is None or not ok):  # saturation: why it failed
                reasons.append(detail)
        reps = len(observations)
        if not applicable:
            outcomes.append(Outcome(check.name, _kind(check), NOT_APPLICABLE, what, bound, [], 0,
                                    reps, unit, reasons[-1], shape=check.shape))
            continue
        failed = held.count(False)
        status = HELD if reps and (reps - failed) >= math.ceil(check.holds_in * reps - 1e-9) else FAILED
        outcomes.append(Outcome(check.name, _kind(check), status, what, bound, observed, failed, reps,
                                unit, reasons[0] if reasons else "",
                                shown=_worst(check, observed, held), held_in=held, shape=check.shape))
    return outcomes


def _kind(check: Check) -> str:
    return check.kind or EXPECTATION  # the model fills it; a hand-made Check may not


def _worst(check: Check, observed: list[float | None], held: list[bool]) -> float | None:
    """The failing value farthest outside the bound; with none failing, the closest to it."""
    if check.recovery is not None or check.statistic == "delay":
        lo, hi = None, check.within if check.recovery is not None else (
            check.range[1] if check.range else check.max)
    elif check.saturation is not None:
        lo, hi = None, 0.0 if check.max is None else check.max
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


def failed_kinds(outcomes: list[Outcome]) -> list[str]:
    """The kinds with a failing check, SLOs first: what a verdict line names."""
    return [k for k in (SLO, EXPECTATION) if any(o.status == FAILED and o.kind == k for o in outcomes)]


def verdict_text(name: str, outcomes: list[Outcome]) -> str:
    """The verdict line, plain: which kind failed and which checks, so that a pull request's
    author tells a broken SLO from a scenario that no longer shows what it was written to."""
    failed = [o for o in outcomes if o.status == FAILED]
    na = sum(o.status == NOT_APPLICABLE for o in outcomes)
    note = f", {na} not applicable" if na else ""
    if not failed:
        held = sum(o.status == HELD for o in outcomes)
        return f"PASSED {name}: {held} checks held{note}"
    kinds = "; ".join(f"{LABEL[k]} failed: " + ", ".join(o.name for o in failed if o.kind == k)
                      for k in failed_kinds(outcomes))
    return f"FAILED {name}: {len(failed)} of {len(outcomes)} checks failed{note}; {kinds}"
