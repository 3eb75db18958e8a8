"""PNG plots of a run: routes.png (each route's error rate and p99 over time) and
checks.png (one panel per metric or recovery check, with its bound and window),
the warm-up and the faults shaded, one legend per figure.

A trace's bucket i covers [i*dt, (i+1)*dt) and is measured when it closes: the
recorder samples at (i+1)*dt, so what happens at a fault's very instant lands in
the bucket the instant closes. Each value is therefore drawn from its bucket's
end until the next one: never before it was measured, so no effect appears before
its cause. matplotlib (Agg, no pyplot state) is imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.model.units import format_duration
from twin.result import trace as metrics
from twin.scenario.metrics import canonical

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from twin.scenario.model import Action, Check
    from twin.scenario.runner import Run

LINE = "tab:blue"
FAULT_COLORS = ("tab:red", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
BOUND = "black"
ACTION = "dimgray"
JUDGED = "tab:green"
STATUS_COLORS = {"held": "tab:green", "failed": "tab:red", "n/a": "dimgray"}
OTHER_ALPHA = 0.35
MAX_TITLE = 80
DPI = 90


def held_steps(starts: np.ndarray, values: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) for a `where="post"` step line: bucket i's value from its end,
    starts[i] + interval, until the next bucket's end."""
    if not len(starts):
        return np.asarray([], dtype=float), np.asarray([], dtype=float)
    ends = np.asarray(starts, dtype=float) + interval
    x = np.append(ends, ends[-1] + interval)
    y = np.append(np.asarray(values, dtype=float), values[-1])
    return x, y


def unit(metric: str, stat: str) -> str:
    """The y unit of a metric as plotted: s, 1/s, fraction, count or 0/1."""
    comp, name = metrics.split(metric)
    kind = comp.split("/", 1)[0]
    if name in metrics.HISTOGRAMS.get(kind, ()) or name in metrics.QUANTILE_ALIASES:
        return "s"
    if name in metrics.RATIOS or name == "utilisation":
        return "fraction"
    if name in metrics.COUNTERS.get(kind, ()):
        return "1/s" if stat == "rate" else "count"
    if name in ("write_failing", "unavailable") or (kind == "node" and name == "ready"):
        return "0/1"
    if name in metrics.GAUGES.get(kind, ()):
        return "count"
    return ""


def _short(text: str, limit: int = MAX_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _fault_end(run: Run, a: Action) -> float:
    return a.end if a.end is not None else run.scenario.duration


def _shade(ax: Any, run: Run) -> None:
    """Warm-up band, and each fault's band while it lasts (to the run's end without `for`)."""
    scn = run.scenario
    if scn.warmup:
        ax.axvspan(0, scn.warmup, color="grey", alpha=0.12, lw=0)
    for k, a in enumerate(scn.faults):
        color = FAULT_COLORS[k % len(FAULT_COLORS)]
        ax.axvspan(a.at, _fault_end(run, a), color=color, alpha=0.08, lw=0)
        ax.axvline(a.at, color=color, lw=0.9, ls="--")
        ax.annotate(a.id or a.action, (a.at, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -2), textcoords="offset points",
                    fontsize=7, color=color, va="top", ha="left", rotation=90)
    for a in _actions(run):
        ax.axvline(a.at, color=ACTION, lw=0.9, ls="-.")
        ax.annotate(a.id or a.action, (a.at, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(2, -2), textcoords="offset points",
                    fontsize=7, color=ACTION, va="top", ha="left", rotation=90)


def _actions(run: Run) -> list[Action]:
    """Operator actions at an instant (scale): not faults, but windows may name them."""
    return sorted((a for a in run.scenario.timeline if a.action == "scale"), key=lambda a: a.at)


def _fault_label(run: Run, a: Action) -> str:
    target = getattr(a, "target", None)
    what = a.action + (f" {target}" if target else "")
    head = f"{a.id}: {what}" if a.id else what
    until = (f"{format_duration(a.end)}" if a.end is not None
             else "end of run (no `for`)")
    return f"{head}, {format_duration(a.at)} to {until}"


def _legend(fig: Figure, run: Run, note: str, extra: Sequence[Any] = ()) -> None:
    """One legend for the figure: what the bands and the lines are."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    scn = run.scenario
    handles: list[Any] = []
    if scn.warmup:
        handles.append(Patch(color="grey", alpha=0.25, lw=0,
                             label=f"warm-up (0 to {format_duration(scn.warmup)})"))
    for k, a in enumerate(scn.faults):
        color = FAULT_COLORS[k % len(FAULT_COLORS)]
        handles.append(Patch(facecolor=color, alpha=0.25, edgecolor=color, ls="--",
                             label=f"fault {_fault_label(run, a)}"))
    for a in _actions(run):
        head = f"{a.id}: " if a.id else ""
        handles.append(Line2D([], [], color=ACTION, lw=0.9, ls="-.",
                              label=f"action {head}scale {a.target} to {a.replicas} "
                                    f"at {format_duration(a.at)}"))
    handles.append(Line2D([], [], color=LINE, lw=1.2, label="replication 1"))
    reps = len(run.observations)
    if reps > 1:
        others = "replication 2" if reps == 2 else f"replications 2-{reps}"
        handles.append(Line2D([], [], color=LINE, lw=0.9, alpha=OTHER_ALPHA, label=others))
    handles.extend(extra)
    iv = run.observations[0].interval
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
               fontsize=7.5, frameon=False, title_fontsize=7.5,
               title=note.format(bucket=format_duration(iv)))


def _time_axis(axes: np.ndarray, run: Run) -> None:
    iv = run.observations[0].interval
    dur = run.scenario.duration
    for ax in axes.ravel():
        ax.set_xlim(0, dur + max(iv, dur / 100))
    for ax in axes[-1]:
        ax.set_xlabel("time since the start of the run (s)", fontsize=8)


def _floor_zero(ax: Any, lows: list[float]) -> None:
    """Metrics here are never negative: y from 0, and 0..1 when everything is 0."""
    finite = [v for v in lows if math.isfinite(v)]
    if finite and min(finite) < 0:
        return
    top = 1.0 if not finite or max(finite) <= 0 else ax.get_ylim()[1]
    ax.set_ylim(-0.03 * top, top)  # a line at 0 stays visible above the axis


def _draw(ax: Any, i: int, x: np.ndarray, y: np.ndarray) -> bool:
    if not len(y) or not np.isfinite(y).any():
        return False
    ax.step(x, y, where="post", lw=1.2 if i == 0 else 0.9, alpha=1.0 if i == 0 else OTHER_ALPHA,
            color=LINE, gid=f"replication-{i + 1}", zorder=3 if i == 0 else 2)
    return True


def _per_bucket(ax: Any, run: Run, metric: str, stat: str) -> list[float]:
    """Each replication's metric per bucket; the values drawn (for the y range)."""
    drawn: list[float] = []
    for i, obs in enumerate(run.observations):
        if not obs.observable(metric):
            continue
        t, v = obs.series(metric, stat)
        x, y = held_steps(t, v, obs.interval)
        if _draw(ax, i, x, y):
            drawn += [float(np.nanmin(y)), float(np.nanmax(y))]
    return drawn


def _span(t0: float, t1: float, interval: float, n: int) -> tuple[int, int]:
    """The buckets [a, b) a window touches, as twin.result.trace.Trace counts them."""
    a = int(math.floor(t0 / interval + 1e-9))
    b = int(math.ceil(t1 / interval - 1e-9))
    return max(0, min(a, n)), max(0, min(max(b, a + 1), n))


def _running_total(ax: Any, run: Run, metric: str, t0: float, t1: float) -> list[float]:
    """A counter summed over a window, as the check sums it (the buckets the window
    touches): 0 at the first bucket's start, then the total so far at each bucket's end."""
    drawn: list[float] = []
    for i, obs in enumerate(run.observations):
        if not obs.observable(metric):
            continue
        t, v = obs.series(metric, "sum")
        a, b = _span(t0, t1, obs.interval, len(t))
        counts = np.nan_to_num(v[a:b])
        x = np.concatenate([[a * obs.interval], t[a:b] + obs.interval])
        y = np.concatenate([[0.0], np.cumsum(counts)])
        if _draw(ax, i, x, y):
            drawn += [float(y.min()), float(y.max())]
    return drawn


def _judged_windows(ax: Any, run: Run, metric: str, stat: str, start: float, step: float) -> list[float]:
    """A recovery check's metric in the windows it is judged in (`step` wide, aligned on
    the fault's end), each drawn from the window's end."""
    dur = run.scenario.duration
    first = start - math.floor(start / step + 1e-9) * step
    edges = np.arange(first, dur - step + 1e-9, step) if dur - first >= step else np.asarray([])
    drawn: list[float] = []
    for i, obs in enumerate(run.observations):
        if not obs.observable(metric):
            continue
        v = np.asarray([obs.value(metric, stat, e, e + step) for e in edges], dtype=float)
        x, y = held_steps(edges, v, step)
        if _draw(ax, i, x, y):
            drawn += [float(np.nanmin(y)), float(np.nanmax(y))]
    return drawn


def _window_lines(ax: Any, t0: float, t1: float, labels: tuple[str, str], duration: float) -> None:
    sides = (1, -1) if t1 - t0 > 0.12 * duration else (-1, 1)  # narrow: labels outside
    for t, text, side in zip((t0, t1), labels, sides, strict=True):
        ax.axvline(t, color=BOUND, lw=0.9, ls=":", zorder=4)
        ax.annotate(text, (t, 0.0), xycoords=("data", "axes fraction"), xytext=(2 * side, 2),
                    textcoords="offset points", fontsize=6.5, color="dimgray", va="bottom",
                    ha="left" if side > 0 else "right", zorder=5,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})


def _bound_lines(ax: Any, lo: float | None, hi: float | None, t0: float, t1: float) -> list[float]:
    ys = [y for y in (lo, hi) if y is not None]
    for y in ys:
        ax.hlines(y, t0, t1, colors=BOUND, linestyles="--", lw=1.0, zorder=4, gid="bound")
    return ys


def _bounds(check: Check) -> tuple[float | None, float | None]:
    return check.range if check.range is not None else (check.min, check.max)


def _cumulative(metric: str, stat: str) -> bool:
    """A counter's sum (or mean, or last: its total too) over a window: drawn as the
    running total the bound applies to, not per bucket."""
    comp, name = metrics.split(metric)
    return name in metrics.COUNTERS.get(comp.split("/", 1)[0], ()) and stat in ("sum", "mean", "last")


def _metric_panel(ax: Any, run: Run, check: Check, metric: str) -> str:
    """Draws a metric check; returns its subtitle."""
    scn = run.scenario
    stat = check.statistic
    t0, t1 = scn.resolve(check.window.from_), scn.resolve(check.window.to)
    lo, hi = _bounds(check)
    u = unit(metric, stat)
    if _cumulative(metric, stat):
        drawn = _running_total(ax, run, metric, t0, t1)
        ax.set_ylabel(f"{u}, total so far", fontsize=8)
        how = f"{stat} over {check.window.from_}..{check.window.to} (drawn as the running total)"
    else:
        drawn = _per_bucket(ax, run, metric, stat)
        ax.set_ylabel(u, fontsize=8)
        how = f"{stat} over {check.window.from_}..{check.window.to}"
        obs = run.observations[0]
        if obs.observable(metric):
            judged = obs.value(metric, stat, t0, t1)
            if judged is not None and math.isfinite(judged):
                ax.hlines(judged, t0, t1, colors=JUDGED, lw=1.6, alpha=0.8, zorder=4, gid="judged")
                drawn.append(judged)
    drawn += _bound_lines(ax, lo, hi, t0, t1)
    _window_lines(ax, t0, t1, (str(check.window.from_), str(check.window.to)), scn.duration)
    _floor_zero(ax, drawn)
    return f"{metric} {how}; bound {check.bound_text()}"


def _recovery_panel(ax: Any, run: Run, check: Check, metric: str, delay: float | None) -> str:
    """Draws a recovery check: the metric, the steady-state bound from the fault's end, the
    deadline to be back in it, and when replication 1 was back (`delay` after the fault)."""
    scn = run.scenario
    fault = scn.fault(check.after) if check.after else scn.faults[-1]
    stat = check.statistic
    start = fault.end if fault.end is not None else fault.at
    name = fault.id or fault.action
    per = format_duration(check.step)
    if _cumulative(metric, stat):  # a count per judging window: per bucket would not compare
        drawn = _judged_windows(ax, run, metric, stat, start, check.step)
        shown = f"{metric} {stat} per {per} judging window, drawn from each window's end"
    else:
        drawn = _per_bucket(ax, run, metric, stat)
        shown = f"{metric} {stat} (judged per {per} window)"
    lo, hi = _bounds(check)
    band = f"bound {check.bound_text()}"
    if lo is None and hi is None:  # the pre-fault baseline, which each replication has its own of
        first = min(a.at for a in scn.faults)
        base = run.observations[0].value(metric, stat, scn.warmup, first)
        if base is not None and math.isfinite(base):
            hi = base * (1 + check.tolerance) + check.slack
            band = (f"bound: replication 1's pre-fault {stat} x {1 + check.tolerance:g}"
                    + (f" + {check.slack:g}" if check.slack else "") + f" = {hi:.3g}")
        else:
            band = "no pre-fault steady state to compare with"
    drawn += _bound_lines(ax, lo, hi, start, scn.duration)
    deadline = min(start + check.within, scn.duration)
    since = f"{name}.end" if fault.end is not None else name
    _window_lines(ax, start, deadline, (since, f"{since}+{format_duration(check.within)}"),
                  scn.duration)
    if delay is not None and math.isfinite(delay):
        ax.axvline(start + delay, color=JUDGED, lw=1.6, alpha=0.8, zorder=4, gid="judged")
    ax.set_ylabel(unit(metric, stat), fontsize=8)
    _floor_zero(ax, drawn)
    return f"{shown}; back within {format_duration(check.within)} of {since}; {band}"


def _new_figure(rows: int, cols: int, width: float) -> tuple[Figure, np.ndarray]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, 2.1 * rows + 1.2), layout="constrained")
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    return fig, axes


def routes_figure(run: Run) -> Figure | None:
    """Each route's error rate and p99 latency per bucket; None when no route is observed."""
    if not run.observations:
        return None
    topo = run.loaded.topology
    routes = [r.name for r in topo.routes
              if any(o.observable(f"route/{r.name}.error_rate") for o in run.observations)]
    if not routes:
        return None
    fig, axes = _new_figure(len(routes), 2, 10)
    for row, name in zip(axes, routes, strict=True):
        for ax, metric, stat, title in ((row[0], f"route/{name}.error_rate", "mean", "error rate"),
                                        (row[1], f"route/{name}.latency", "p99", "p99 latency")):
            drawn = _per_bucket(ax, run, metric, stat)
            ax.set_title(f"{name}: {title}", fontsize=9)
            ax.set_ylabel(unit(metric, stat), fontsize=8)
            ax.grid(alpha=0.3)
            _shade(ax, run)
            _floor_zero(ax, drawn)
    fig.suptitle(f"{run.scenario.name}: routes", fontsize=10)
    _legend(fig, run, "each value covers a {bucket} bucket and is drawn from the bucket's end, "
                      "when it was measured")
    _time_axis(axes, run)
    return fig


def checks_figure(run: Run) -> Figure | None:
    """One panel per metric or recovery check a backend observed; None when there is none."""
    if not run.observations:
        return None
    from matplotlib.lines import Line2D

    scn = run.scenario
    topo = run.loaded.topology
    panels: list[tuple[int, Check, str]] = []
    for k, c in enumerate(scn.checks):
        m = c.metric or c.recovery
        if m is None or not any(o.observable(m) for o in run.observations):
            continue
        if c.recovery is not None and not scn.faults:
            continue
        panels.append((k, c, canonical(topo, m)))
    if not panels:
        return None
    fig, axes = _new_figure(len(panels), 1, 10)
    for ax, (k, check, metric) in zip(axes[:, 0], panels, strict=True):
        outcome = run.outcomes[k] if k < len(run.outcomes) else None
        if check.recovery is not None:
            delay = outcome.observed[0] if outcome is not None and outcome.observed else None
            sub = _recovery_panel(ax, run, check, metric, delay)
        else:
            sub = _metric_panel(ax, run, check, metric)
        if outcome is not None:
            from twin.scenario.checks import fmt

            worst = f" (worst of {outcome.replications})" if outcome.replications > 1 else ""
            sub += f"; observed {fmt(outcome.shown, outcome.unit)}{worst}"
            ax.set_title(outcome.status, loc="right", fontsize=8, pad=14,
                         color=STATUS_COLORS.get(outcome.status, "black"), fontweight="bold")
        ax.set_title(_short(check.name), fontsize=9, pad=14)
        ax.annotate(_short(sub, 150), (0.5, 1.0), xycoords="axes fraction", xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=6.5,
                    color="dimgray")
        ax.grid(alpha=0.3)
        _shade(ax, run)
    events = sum(1 for c in scn.checks if c.event is not None)
    title = f"{scn.name}: checks"
    if events:
        title += f" ({events} event check{'s' if events > 1 else ''} not plotted: see the report)"
    fig.suptitle(title, fontsize=10)
    extra = [Line2D([], [], color=BOUND, ls="--", lw=1.0, label="check bound"),
             Line2D([], [], color=BOUND, ls=":", lw=0.9, label="check window / recovery deadline")]
    if any(c.recovery is not None or not _cumulative(m, c.statistic) for _, c, m in panels):
        extra.append(Line2D([], [], color=JUDGED, lw=1.6, alpha=0.8,
                            label="what the check judged in replication 1 "
                                  "(recovery: when back in bound)"))
    _legend(fig, run, "each value covers a {bucket} bucket and is drawn from the bucket's end, "
                      "when it was measured", extra)
    _time_axis(axes, run)
    return fig


def plot_run(run: Run, out: Path) -> list[Path]:
    """routes.png (error rate and p99 per route) and checks.png (each metric or recovery check)."""
    files = []
    for name, make in (("routes.png", routes_figure), ("checks.png", checks_figure)):
        fig = make(run)
        if fig is None:
            continue
        path = out / name
        fig.savefig(path, dpi=DPI)
        files.append(path)
    return files
