"""PNG plots of a run: each route's error rate and p99 over time, the metrics the
checks name, with the faults shaded. matplotlib's Agg backend, imported here only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twin.scenario.runner import Run


def _shade(ax, run: Run) -> None:  # noqa: ANN001 - a matplotlib Axes
    scn = run.scenario
    for a in scn.faults:
        end = a.end if a.end is not None else scn.duration
        ax.axvspan(a.at, end, color="tab:red", alpha=0.08, lw=0)
        ax.axvline(a.at, color="tab:red", lw=0.8, ls="--")
        ax.annotate(a.id or a.action, (a.at, 1.0), xycoords=("data", "axes fraction"),
                    fontsize=7, color="tab:red", va="top", ha="left", rotation=90)
    if scn.warmup:
        ax.axvspan(0, scn.warmup, color="grey", alpha=0.08, lw=0)


def _panel(ax, run: Run, metric: str, stat: str, title: str) -> bool:  # noqa: ANN001
    drawn = False
    for i, obs in enumerate(run.observations):
        if not obs.observable(metric):
            continue
        t, v = obs.series(metric, stat)
        if not np.isfinite(v).any():
            continue
        ax.plot(t, v, lw=1.0, alpha=1.0 if i == 0 else 0.35, color="tab:blue",
                label="replication 1" if i == 0 else None)
        drawn = True
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    _shade(ax, run)
    return drawn


def plot_run(run: Run, out: Path) -> list[Path]:
    """routes.png (error rate and p99 per route) and checks.png (each checked metric)."""
    if not run.observations:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    topo = run.loaded.topology
    routes = [r.name for r in topo.routes
              if any(o.observable(f"route/{r.name}.error_rate") for o in run.observations)]
    if routes:
        fig, axes = plt.subplots(len(routes), 2, figsize=(10, 1.9 * len(routes) + 0.6),
                                 sharex=True, squeeze=False)
        for row, name in zip(axes, routes, strict=True):
            _panel(row[0], run, f"route/{name}.error_rate", "mean", f"{name}: error rate")
            _panel(row[1], run, f"route/{name}.latency", "p99", f"{name}: p99 latency (s)")
        axes[-1][0].set_xlabel("time (s)")
        axes[-1][1].set_xlabel("time (s)")
        fig.suptitle(f"{run.scenario.name}: routes", fontsize=10)
        fig.tight_layout()
        path = out / "routes.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        files.append(path)
    checked: list[tuple[str, str]] = []
    for c in run.scenario.checks:
        m = c.metric or c.recovery
        if m and m not in {x for x, _ in checked} and any(o.observable(m) for o in run.observations):
            checked.append((m, c.statistic))
    if checked:
        fig, axes = plt.subplots(len(checked), 1, figsize=(8, 1.9 * len(checked) + 0.6),
                                 sharex=True, squeeze=False)
        for ax, (m, stat) in zip(axes[:, 0], checked, strict=True):
            _panel(ax, run, m, stat, f"{m} ({stat})")
        axes[-1][0].set_xlabel("time (s)")
        fig.tight_layout()
        path = out / "checks.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        files.append(path)
    return files
