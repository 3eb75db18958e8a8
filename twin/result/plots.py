"""The PNGs of a Result (`twin sim`): what a person reading a capacity run wants to see.

latency.png   per route over time: p95 line with the p50..p95 band; the synchronous
              response on top and, for asynchronous routes, end to end below (the
              turn a user waits for); log y axis when values span orders of magnitude.
              Intervals in which no turn completed have no end-to-end latency: they
              are hatched and named, not left as silent gaps (under saturation a
              turn may finish only when a stream slot frees, so minutes can pass).
errors.png    per route: failed of those finished per interval (for an asynchronous
              route: of the turns completed, so no point where none completed), y from 0.
throughput.png per route responses per second (for an asynchronous route: accepted by
              the API) and, dashed, turns completed per second: an API answering at
              30/s while 2 turns/s complete is a queue filling, not a healthy route.
queues.png    depth of each queue (only when the topology has queues).

Drawn from the first replication's series; routes, queues and workloads the
Result flags as saturated are marked in the legends.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from twin.result.model import Result

LOG_SPAN = 30.0  # max / min of a panel above which its y axis is logarithmic


def _routes(values: dict[str, list[float]]) -> list[str]:
    seen: list[str] = []
    for k in values:
        if k.startswith("route/"):
            name = k.split("/")[1]
            if name not in seen:
                seen.append(name)
    return seen


def _positive(ys: list[float]) -> list[float]:
    """Empty intervals (0) are gaps, not zero latency."""
    return [y if y > 0 else math.nan for y in ys]


def turns_completed(values: dict[str, list[float]], route: str) -> list[float] | None:
    """Turns of an asynchronous route completed per second per interval, when the series
    holds them (route/NAME/e2e_throughput); None when only the quantiles are there."""
    ys = values.get(f"route/{route}/e2e_throughput")
    return list(ys) if ys else None


def idle_mask(values: dict[str, list[float]], route: str) -> list[bool]:
    """Per interval, True when no turn of `route` completed in it.

    With a completions series, those with none; without one, those whose end-to-end p95
    is 0, which is what an empty interval records (no latency is ever exactly 0)."""
    done = turns_completed(values, route)
    marks = done if done is not None else values.get(f"route/{route}/e2e_p95", [])
    return [y <= 0 for y in marks]


def idle_intervals(t: list[float], values: dict[str, list[float]], route: str,
                   interval: float, after: float = 0.0) -> list[tuple[float, float]]:
    """(start, end) of each run of intervals ending after `after` (the warm-up, which the
    metrics delete) in which no turn of `route` completed."""
    spans: list[tuple[float, float]] = []
    for end, empty in zip(t, idle_mask(values, route), strict=False):
        if not empty or end <= after + 1e-9:
            continue
        start = max(0.0, end - interval)
        if spans and abs(spans[-1][1] - start) < 1e-9:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


HATCHES = ("////", "\\\\", "xx", "--", "++", "..")


def _latency_panel(ax: Any, t: list[float], values: dict[str, list[float]], routes: list[str],
                   colors: dict[str, str], prefix: str, title: str, flagged: set[str]) -> None:
    lo, hi = math.inf, 0.0
    for r in routes:
        p95 = values.get(f"route/{r}/{prefix}p95")
        p50 = values.get(f"route/{r}/{prefix}p50")
        if not p95:
            continue
        ys = _positive(p95)
        label = r + (" (growing: saturated)" if r in flagged else "")
        # a marker too: an interval between two empty ones is a point, not a line
        ax.plot(t[: len(ys)], ys, color=colors[r], linewidth=1.6, marker=".", markersize=3,
                label=label)
        if p50:
            ax.fill_between(t[: len(p50)], _positive(p50), ys[: len(p50)], color=colors[r],
                            alpha=0.15, linewidth=0)
        finite = [y for y in ys + _positive(p50 or []) if not math.isnan(y)]
        if finite:
            lo, hi = min(lo, min(finite)), max(hi, max(finite))
    if hi > 0 and lo < math.inf and hi / lo > LOG_SPAN:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel("seconds")
    ax.set_title(title, fontsize=10, loc="left")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _mark_idle(ax: Any, t: list[float], values: dict[str, list[float]], routes: list[str],
               colors: dict[str, str], interval: float, warmup: float) -> None:
    """Hatch the intervals after the warm-up with no completed turn, one hatch per route,
    and say so in the legend (how long in all) and on the panel."""
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    idle_share = []
    for i, r in enumerate(routes):
        spans = idle_intervals(t, values, r, interval, warmup)
        if not spans:
            continue
        hatch = HATCHES[i % len(HATCHES)]
        for a, b in spans:
            ax.axvspan(a, b, facecolor="none", edgecolor=colors[r], hatch=hatch, alpha=0.3,
                       linewidth=0, zorder=0.5)
        gone = sum(b - a for a, b in spans)
        idle_share.append(r)
        handles.append(Patch(facecolor="none", edgecolor=colors[r], hatch=hatch, alpha=0.6))
        labels.append(f"{r}: no turn completed\n({gone:g}s in {len(spans)} span"
                      f"{'s' if len(spans) != 1 else ''})")
    if idle_share:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
                  frameon=False)
        ax.text(0.01, 0.97, "hatched: no turn completed in the interval, so there is no "
                "latency to plot", transform=ax.transAxes, va="top", fontsize=8, color="0.25",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5})


def _warmup(ax: Any, result: Result) -> None:
    if result.warmup:
        ax.axvspan(0, result.warmup, color="0.92", zorder=0)


def plot_result(result: Result, out: Path) -> list[Path]:
    """Write the PNGs into `out`; returns their paths (none without series)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not result.runs or result.runs[0].series is None:
        return []
    series = result.runs[0].series
    t, values = series.t, series.values
    routes = _routes(values)
    colors = {r: f"C{i % 10}" for i, r in enumerate(routes)}
    flagged = {s.component.split("/", 1)[1] for s in result.saturated}
    asynchronous = [r for r in routes if f"route/{r}/e2e_p95" in values]
    note = f" (seed {result.seed}, replication 1 of {result.replications}; grey: warm-up)"
    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        written.append(path)

    panels = 2 if asynchronous else 1
    fig, axes = plt.subplots(panels, 1, figsize=(10, 3.6 * panels), dpi=100, sharex=True,
                             squeeze=False)
    _latency_panel(axes[0][0], t, values, routes, colors, "",
                   "Response latency per route (synchronous part): p95 line, p50..p95 band",
                   set())
    if asynchronous:
        ax = axes[1][0]
        _latency_panel(ax, t, values, asynchronous, colors, "e2e_",
                       "End-to-end latency of asynchronous routes (accepted to last event)",
                       flagged)
        _mark_idle(ax, t, values, asynchronous, colors, series.interval, result.warmup)
    for ax in axes[:, 0]:
        _warmup(ax, result)
    axes[-1][0].set_xlabel("simulated time (s)")
    fig.suptitle(f"Latency{note}", fontsize=9)
    save(fig, "latency.png")

    fig, ax = plt.subplots(figsize=(10, 3.8), dpi=100)
    failing = [r for r in routes if any(values.get(f"route/{r}/error_rate", []))]
    for r in failing:
        ys = [100 * y for y in values[f"route/{r}/error_rate"]]
        if r in asynchronous:  # of the turns completed: none completed is no figure, not 0 %
            ys = [math.nan if empty else y for y, empty in zip(ys, idle_mask(values, r),
                                                                 strict=False)]
        ax.plot(t[: len(ys)], ys, color=colors[r], linewidth=1.3, marker=".", markersize=3,
                label=r + (" (of the turns completed)" if r in asynchronous else ""))
    top = max((max(100 * y for y in values[f"route/{r}/error_rate"]) for r in failing),
              default=0.0)
    ax.set_ylim(0, max(1.0, top * 1.1))
    quiet = [r for r in routes if r not in failing]
    if quiet:
        ax.text(0.01, 0.97, "no failed requests: " + ", ".join(quiet), transform=ax.transAxes,
                va="top", fontsize=8, color="0.35")
    if failing:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _warmup(ax, result)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("failed (% of finished)")
    ax.set_title("Failed per route per interval, of those finished" + (
        "; asynchronous routes: of the turns completed\n(failures of any part; no point where "
        "none completed)" if asynchronous else "") + note, fontsize=10, loc="left")
    ax.grid(alpha=0.3)
    save(fig, "errors.png")

    fig, ax = plt.subplots(figsize=(10, 3.8), dpi=100)
    run0 = result.runs[0]
    for r in routes:
        ys = values.get(f"route/{r}/throughput", [])
        ax.plot(t[: len(ys)], ys, color=colors[r], linewidth=1.2,
                label=f"{r}: accepted by the API" if r in asynchronous else f"{r}: responses")
        if r not in asynchronous:
            continue
        done = turns_completed(values, r)
        if done is not None:
            ax.plot(t[: len(done)], done, color=colors[r], linewidth=1.6, linestyle="--",
                    label=f"{r}: turns completed")
        elif r in run0.routes and run0.routes[r].end_to_end is not None:
            # no per-interval completions in the series: the run's mean after the warm-up
            rate = run0.routes[r].end_to_end.count / max(run0.duration - run0.warmup, 1e-9)
            ax.hlines(rate, run0.warmup, run0.duration, color=colors[r], linewidth=2.5,
                      linestyles=":", label=f"{r}: turns completed\n(mean after warm-up "
                      f"{rate:.2f}/s)")
    ax.set_ylim(bottom=0)
    _warmup(ax, result)
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("per second")
    per_interval = all(turns_completed(values, r) is not None for r in asynchronous)
    ax.set_title("Throughput per route: responses per second" + (
        "; for asynchronous routes the API's accept,\nwith the turns completed end to end "
        + ("dashed" if per_interval else "dotted (per interval not in the series)")
        if asynchronous else "") + note, fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    save(fig, "throughput.png")

    queues = [k.split("/")[1] for k in values if k.startswith("queue/") and k.endswith("/depth")]
    if queues:
        fig, ax = plt.subplots(figsize=(10, 3.8), dpi=100)
        for i, q in enumerate(queues):
            ys = values[f"queue/{q}/depth"]
            label = q + (" (unstable: growing)" if q in flagged else "")
            ax.plot(t[: len(ys)], ys, color=f"C{i % 10}", linewidth=1.5, label=label)
        ax.set_ylim(bottom=0)
        _warmup(ax, result)
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel("messages ready")
        ax.set_title("Queue depth" + note, fontsize=10, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
        ax.grid(alpha=0.3)
        save(fig, "queues.png")
    return written
