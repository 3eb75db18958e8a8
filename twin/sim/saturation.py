"""Saturation: which components had a backlog that grew through the run.

An unstable queue (arrivals above what its consumers can serve) has no steady
state: its depth, and every latency measured behind it, grows with the run's
length, so a p95 from such a run describes the run, not the system. This module
reads a replication's series after the warm-up and flags:

- queue/NAME    its depth trends up (least squares over the measured window);
- workload/NAME its pods were busy >= 98 % of their slots (arrivals >= capacity);
- pod/NAME      one pod that busy while its workload's average was not (a canary);
- route/NAME    requests in flight, or the (end-to-end) p95, trend up.

A trend counts when the fitted line explains most of the variation (r^2), and
the growth over the window is large both in absolute terms and against the
window's mean level, so a stable queue at high utilisation wandering up and
down is not flagged. Pure data in, pure data out: the engine's Result carries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from twin.result.model import ReplicationResult, Saturation

BUSY = 0.98          # busy share of the slots at which arrivals meet capacity
R2 = 0.6             # share of the variation the trend line must explain
MIN_POINTS = 6       # samples after the warm-up needed to judge a trend
MIN_GROWTH = {"depth": 10.0, "in_flight": 5.0, "e2e_p95": 1.0, "p95": 1.0}  # absolute
REL_GROWTH = 0.5     # growth over the window, against the window's mean level


def trend(t: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """(slope per second, r^2, mean) of the least-squares line through the points."""
    n = len(t)
    mt, my = sum(t) / n, sum(y) / n
    stt = sum((a - mt) ** 2 for a in t)
    syy = sum((b - my) ** 2 for b in y)
    sty = sum((a - mt) * (b - my) for a, b in zip(t, y, strict=True))
    if stt <= 0:
        return 0.0, 0.0, my
    slope = sty / stt
    r2 = sty * sty / (stt * syy) if syy > 0 else 0.0
    return slope, r2, my


def growing(t: Sequence[float], y: Sequence[float], metric: str) -> tuple[float, float, float] | None:
    """(start, end, growth per minute) when the series trends up through the window."""
    if len(t) < MIN_POINTS:
        return None
    slope, r2, mean = trend(t, y)
    growth = slope * (t[-1] - t[0])
    if slope <= 0 or r2 < R2 or growth < max(MIN_GROWTH[metric], REL_GROWTH * mean):
        return None
    k = max(1, len(y) // 10)  # the levels: means of the first and last tenth (less noise)
    return sum(y[:k]) / k, sum(y[-k:]) / k, slope * 60.0


def _window(run: ReplicationResult, key: str, skip_zeros: bool = False
            ) -> tuple[list[float], list[float]]:
    s = run.series
    if s is None or key not in s.values:
        return [], []
    pts = [(t, v) for t, v in zip(s.t, s.values[key], strict=False)
           if t > run.warmup + 1e-9 and not (skip_zeros and v <= 0)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _level(metric: str, x: float) -> str:
    if metric in ("e2e_p95", "p95"):
        return f"{x:.1f}s" if x >= 1 else f"{x * 1000:.0f}ms"
    return f"{x:.0f}"


_WHAT = {"depth": "depth", "in_flight": "requests in flight", "e2e_p95": "end-to-end p95",
         "p95": "p95 latency"}


def _grown(component: str, metric: str, found: tuple[float, float, float], minutes: float,
           tail: str, utilisation: float | None = None) -> Saturation:
    start, end, per_min = found
    unit = "s" if metric in ("e2e_p95", "p95") else ""
    return Saturation(
        component=component, metric=metric, start=start, end=end, growth_per_minute=per_min,
        utilisation=utilisation,
        evidence=(f"{_WHAT[metric]} {_level(metric, start)} -> {_level(metric, end)} over "
                  f"{minutes:.3g} min after the warm-up (+{per_min:.3g}{unit}/min){tail}"))


def replication_saturation(run: ReplicationResult,
                           consumers: Mapping[str, Sequence[str]] | None = None
                           ) -> list[Saturation]:
    """The unstable components of one replication. consumers: queue -> worker workloads."""
    consumers = consumers or {}
    out: list[Saturation] = []
    minutes = max(0.0, run.duration - run.warmup) / 60.0
    busy = {w: m.utilisation for w, m in run.workloads.items() if m.pods_ready}
    for w, u in busy.items():
        if u >= BUSY:
            out.append(Saturation(
                component=f"workload/{w}", metric="utilisation", utilisation=u,
                evidence=(f"its pods were busy {u:.0%} of their slots after the warm-up: "
                          f"arrivals reach or exceed {w}'s capacity")))
    for name, pod in run.pods.items():
        if (pod.phase == "Ready" and pod.utilisation >= BUSY
                and busy.get(pod.workload, 0.0) < BUSY):
            out.append(Saturation(
                component=f"pod/{name}", metric="utilisation", utilisation=pod.utilisation,
                evidence=f"busy {pod.utilisation:.0%} of its slots while {pod.workload} "
                         f"averaged {busy.get(pod.workload, 0.0):.0%}"))
    for name in run.queues:
        found = growing(*_window(run, f"queue/{name}/depth"), "depth")
        if found is None:
            continue
        ws = list(consumers.get(name, ()))
        us = [busy[w] for w in ws if w in busy]
        u = max(us) if us else None
        tail = ""
        if ws:
            tail = (f"; consumer {', '.join(ws)}"
                    + (f" busy {u:.0%}" if u is not None else "")
                    + f": arrivals exceed {ws[0]}'s capacity")
        out.append(_grown(f"queue/{name}", "depth", found, minutes, tail, u))
    for name, route in run.routes.items():
        for metric, skip in (("in_flight", False), ("p95", True), ("e2e_p95", True)):
            if metric == "e2e_p95" and route.end_to_end is None:
                continue
            found = growing(*_window(run, f"route/{name}/{metric}", skip), metric)
            if found is not None:
                opened = (f"; {route.end_to_end_open} still open at the end"
                          if route.end_to_end_open else "")
                out.append(_grown(f"route/{name}", metric, found, minutes, opened))
                break
    return out


def consumers_of(topology: Any) -> dict[str, list[str]]:
    """Queue name -> the workers consuming it: what a growing queue is blamed on."""
    out: dict[str, list[str]] = {}
    for w in topology.workers:
        out.setdefault(w.queue, []).append(w.name)
    return out


def saturation(runs: Sequence[ReplicationResult],
               consumers: Mapping[str, Sequence[str]] | None = None) -> list[Saturation]:
    """Over replications: one entry per component flagged in any, with the evidence of the
    first replication that flagged it and the count of replications that did."""
    first: dict[str, Saturation] = {}
    count: dict[str, int] = {}
    for run in runs:
        for s in replication_saturation(run, consumers):
            first.setdefault(s.component, s)
            count[s.component] = count.get(s.component, 0) + 1
    order = {"queue": 0, "workload": 1, "pod": 2, "route": 3}
    keys = sorted(first, key=lambda c: (order.get(c.split("/")[0], 9), c))
    return [first[k].model_copy(update={"replications": count[k]}) for k in keys]


def warning_lines(result: Any, faults: bool = False) -> list[str]:
    """Lines of the warning about unstable components (empty when none); `faults`: the
    run had a timeline, whose faults may be what made the backlog grow."""
    if not result.saturated:
        return []
    n = result.replications
    lines = ["WARNING: saturated: the backlog grew through the run, so there is no steady "
             "state and latency and backlog figures grow with run length."]
    if faults:
        lines = ["WARNING: saturated: a backlog grew through the run (the faults may be why): "
                 "latency and backlog figures grow with run length, and a recovery check "
                 "compares with a state that was not steady."]
    for s in result.saturated:
        where = f" (in {s.replications} of {n} replications)" if n > 1 else ""
        lines.append(f"  {s.component}: {s.evidence}{where}")
    over = [s.component.split("/", 1)[1] for s in result.saturated
            if s.component.startswith(("workload/", "pod/"))]
    if over:
        lines.append(f"This load exceeds {', '.join(over)}'s capacity: add replicas or "
                     "concurrency, or lower the load, before reading its latencies.")
    return lines
