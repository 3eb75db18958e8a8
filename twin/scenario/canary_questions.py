"""Questions a canary answers over many replications: would a regression of this size be
caught, how fast, with what probability, and how many requests the canary served badly
meanwhile; the fixed split beside the progressive strategy; and which analysis settings
reach a detection probability at the least user impact.

Each variant is the scenario with `scenario.` overrides (the strategy, the regression,
the analysis settings); its replications run on the one task runner of every sweep
(twin.capacity.grid.run_tasks: a local pool or Dask), with common random numbers: every
variant sees the same seeds, so differences between variants are the variants'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DETECTED = ("rolled back", "detected")


@dataclass(frozen=True)
class Task:
    path: str
    sets: tuple[str, ...]
    seed: int
    replication: int


@lru_cache(maxsize=64)
def _loaded(path: str, sets: tuple[str, ...]) -> Any:
    from twin.scenario import loader

    return loader.load(path, sets)


def replicate(task: Task) -> dict:
    """One replication's canary outcome, as plain data (a module-level function: workers
    import it)."""
    from twin.scenario.sim_backend import run_replication

    loaded = _loaded(task.path, task.sets)
    rr, _ = run_replication(loaded.scenario, loaded.topology, task.seed, task.replication,
                            None)
    return rr.canary.model_dump(mode="json")


@dataclass(frozen=True)
class Variant:
    strategy: str
    regression: str  # as the user wrote it: 2%, x1.5, none
    settings: str = ""  # the analysis settings, for the recommendation
    sets: tuple[str, ...] = ()


@dataclass
class Cell:
    """A variant's replications, summarised."""

    variant: Variant
    outcomes: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def detected(self) -> int:
        return sum(o["decision"] in DETECTED for o in self.outcomes)

    @property
    def probability(self) -> float:
        return self.detected / self.n if self.n else math.nan

    def interval(self) -> tuple[float, float]:
        """Wilson's 95 % interval of the detection probability."""
        from scipy.stats import binomtest

        ci = binomtest(self.detected, self.n).proportion_ci(0.95, method="wilson")
        return float(ci.low), float(ci.high)

    @property
    def time_to_detection(self) -> float | None:
        """The median over the replications that detected it."""
        import numpy as np

        ts = [o["detected_at"] for o in self.outcomes if o["detected_at"] is not None]
        return float(np.median(ts)) if ts else None

    def time_to_catch(self, probability: float) -> float | None:
        """How long the split must run to catch it in `probability` of releases (the
        quantile of detection times, the undetected ones beyond the end); None: longer
        than the run."""
        ts = sorted(o["detected_at"] if o["detected_at"] is not None else math.inf
                    for o in self.outcomes)
        if not ts:
            return None
        t = ts[max(0, math.ceil(probability * len(ts)) - 1)]
        return None if math.isinf(t) else t

    @property
    def impact(self) -> float:
        """Mean tries the canary served badly (failed or slow) until the decision, or the end."""
        return sum(o["failed_tries"] + o["slow_tries"] for o in self.outcomes) / max(1, self.n)

    @property
    def promoted(self) -> float:
        return sum(o["decision"] == "promoted" for o in self.outcomes) / max(1, self.n)

    def row(self) -> dict[str, Any]:
        lo, hi = self.interval()
        return {"strategy": self.variant.strategy, "regression": self.variant.regression,
                "settings": self.variant.settings, "replications": self.n,
                "detected": self.detected, "probability": self.probability, "low": lo,
                "high": hi, "time_to_detection": self.time_to_detection,
                "bad_tries": self.impact, "promoted": self.promoted}


def regression_sets(size: str) -> tuple[str, ...]:
    """`2%` (errors), `x1.5` (latency factor) or `none` as the canary's regression."""
    s = size.strip()
    if s in ("none", "0", "0%"):
        return ("scenario.canary.regression=[]",)
    try:
        if s.startswith("x"):
            return (f"scenario.canary.regression=[{{latency_factor: {float(s[1:])}}}]",)
        if s.endswith("%"):
            return (f"scenario.canary.regression=[{{error_rate: {float(s[:-1]) / 100}}}]",)
    except ValueError:
        pass
    raise ValueError(f"{size!r}: a regression is 2% (errors), x1.5 (latency) or none")


def side_by_side(strategies: list[str], sizes: list[str]) -> list[Variant]:
    return [Variant(st, size, sets=(f"scenario.canary.strategy={st}", *regression_sets(size)))
            for size in sizes for st in strategies]


SETTINGS = [(interval, threshold, step) for interval in (30, 60) for threshold in (2, 5)
            for step in (10, 25)]
"""The progressive settings `recommend` weighs: interval (s), threshold, stepWeight."""


def settings_variants(size: str, max_weight: int = 50) -> list[Variant]:
    """Each setting twice: against the regression, and against a good canary (its false
    rollbacks), each run long enough to end its analysis."""
    out = []
    for interval, threshold, step in SETTINGS:
        steps = math.ceil(max_weight / step)
        duration = interval * (steps + threshold + 1) + 30
        label = f"interval {interval}s, threshold {threshold}, step {step}"
        common = ("scenario.canary.strategy=progressive",
                  f"scenario.canary.progressive={{interval: {interval}s, threshold: {threshold}, "
                  f"step_weight: {step}, max_weight: {max_weight}}}",
                  f"scenario.duration={duration}s")
        for reg in (size, "none"):
            out.append(Variant("progressive", reg, label, (*common, *regression_sets(reg))))
    return out


def run(path: str | Path, variants: list[Variant], replications: int, seed: int,
        executor: str = "local", workers: int | None = None, progress: Any = None) -> list[Cell]:
    from twin.capacity.grid import run_tasks

    for v in variants:  # every variant loads (its problems before any run)
        _loaded(str(path), v.sets)
    tasks = [Task(str(path), v.sets, seed, r) for v in variants for r in range(replications)]
    results = run_tasks(replicate, tasks, executor, workers, progress)
    cells = [Cell(v) for v in variants]
    for i, outcome in enumerate(results):
        cells[i // replications].outcomes.append(outcome)
    return cells


def recommend(cells: list[Cell], target: float, false_alarms: float = 0.05) -> Cell | None:
    """The setting that catches the regression with at least `target` probability and rolls
    back a good canary at most `false_alarms` of the time, at the least user impact."""
    good = {c.variant.settings: c for c in cells if c.variant.regression == "none"}
    fine = [c for c in cells if c.variant.regression != "none" and c.probability >= target
            and good[c.variant.settings].probability <= false_alarms]
    return min(fine, key=lambda c: (c.impact, c.time_to_detection or math.inf), default=None)


def plot(cells: list[Cell], path: Path) -> None:
    """Detection probability against regression size, one line per strategy, Wilson band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    strategies = list(dict.fromkeys(c.variant.strategy for c in cells))
    sizes = list(dict.fromkeys(c.variant.regression for c in cells))
    x = list(range(len(sizes)))
    for st in strategies:
        mine = {c.variant.regression: c for c in cells if c.variant.strategy == st}
        ps = [mine[s].probability for s in sizes]
        lo, hi = zip(*(mine[s].interval() for s in sizes), strict=True)
        ax.plot(x, ps, marker="o", label=st)
        ax.fill_between(x, lo, hi, alpha=0.2)
    ax.set_xticks(x, sizes)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("regression of the canary")
    ax.set_ylabel("P(caught before the end)")
    ax.set_title("Would the canary catch it? (95 % Wilson band)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


__all__ = ["Cell", "Task", "Variant", "recommend", "regression_sets", "replicate", "run",
           "settings_variants", "side_by_side"]
