"""A `kind: Sweep` over a scenario: at each point of the grid the scenario's replications,
judged by its own checks.

A point is the scenario with `scenario.PATH=VALUE` and topology `PATH=VALUE` overrides
(the file's `overrides`, then `--set`, then the axes'), loaded and validated like
`twin run --set`; replications are seeded as `twin run` seeds them, so the point equal to
the file gives `twin run`'s verdicts. They run on the one task runner of every sweep
(twin.capacity.grid.run_tasks: a local pool or Dask). Saturation checks need the whole
run's analysis and are not applicable here.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.capacity.sweep_file import Sweep
from twin.model.errors import ModelError, Problem
from twin.model.source import Document
from twin.scenario.canary_questions import DETECTED, Task, _loaded


@dataclass(frozen=True)
class Point:
    index: int
    values: tuple[tuple[str, Any], ...]  # (axis name, value as shown)
    sets: tuple[str, ...]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def scenario_path(spec: Sweep, doc: Document) -> Path:
    return Path(doc.file).parent / str(spec.scenario)


def plan(spec: Sweep, doc: Document, sets: list[str] | None = None) -> list[Point]:
    """Every point, each loaded once here so that every bad value is named before a run."""
    path = scenario_path(spec, doc)
    base = [*(f"{k}={_text(v)}" for k, v in spec.overrides.items()), *(sets or [])]
    grid = [[(i, j, v) for j, v in enumerate(a.values)] for i, a in enumerate(spec.axes)]
    points, problems = [], []
    for n, combo in enumerate(itertools.product(*grid)):
        here = (*base, *(f"{spec.axes[i].path}={_text(v)}" for i, _, v in combo))
        try:
            _loaded(str(path), here)
        except ModelError as e:
            problems += [p for p in e.problems if p not in problems]
            continue
        points.append(Point(n, tuple((spec.axes[i].name, spec.axes[i].shown(j))
                                     for i, j, _ in combo), here))
    if problems:
        raise ModelError(problems)
    return points


def check(spec: Sweep, doc: Document) -> list[Problem]:
    """`twin validate`'s hook for Sweep files (twin.loading.kinds): for a sweep over a
    scenario, the scenario loads with the sweep's overrides, and with each axis value in
    turn; a value that fails is a problem at its own line (a path every value fails at,
    at the axis's path), so validation finds what `twin sweep` would refuse."""
    from twin.capacity.sweep_file import check_sweep

    problems = check_sweep(spec, doc)
    if spec.scenario is None or problems:
        return problems
    path = str(scenario_path(spec, doc))
    base = tuple(f"{k}={_text(v)}" for k, v in spec.overrides.items())
    try:
        _loaded(path, base)
    except ModelError as e:
        return e.problems
    for i, axis in enumerate(spec.axes):
        said: dict[str, list[int]] = {}
        for j, v in enumerate(axis.values):
            try:
                _loaded(path, (*base, f"{axis.path}={_text(v)}"))
            except ModelError as e:
                for p in e.problems:
                    said.setdefault(f"{p.field}: {p.message}" if p.field else p.message, []).append(j)
        for message, values in said.items():
            where = ("axes", i, "path") if len(values) == len(axis.values) > 1 else ("axes", i, "values", values[0])
            problems.append(doc.problem(where, message))
    return problems


def replicate(task: Task) -> dict[str, Any]:
    """One replication judged by the scenario's checks (a module-level function: workers
    import it): each check's status, and the canary's outcome when there is one."""
    from twin.scenario.checks import judge
    from twin.scenario.sim_backend import run_replication

    loaded = _loaded(task.path, task.sets)
    scn, topo = loaded.scenario, loaded.topology
    rr, trace = run_replication(scn, topo, task.seed, task.replication, None)
    saturated = None
    if any(c.saturation for c in scn.checks) and rr.series is not None:  # as twin run judges them
        from twin.sim.saturation import consumers_of, replication_saturation

        saturated = [replication_saturation(rr, consumers_of(topo))]
    return {"checks": {o.name: o.status for o in judge(scn, [trace], saturated)},
            "canary": rr.canary.model_dump(mode="json") if rr.canary else None}


@dataclass
class PointResult:
    point: Point
    runs: list[dict[str, Any]] = field(default_factory=list)

    def held(self, check: str) -> tuple[int, int]:
        """(replications it held in, replications it could be judged in)."""
        seen = [r["checks"].get(check) for r in self.runs]
        judged = [s for s in seen if s in ("held", "failed")]
        return sum(s == "held" for s in judged), len(judged)

    def all_held(self) -> int:
        return sum(all(s != "failed" for s in r["checks"].values()) for r in self.runs)

    def caught(self) -> int | None:
        outcomes = [r["canary"] for r in self.runs if r["canary"] is not None]
        return sum(o["decision"] in DETECTED for o in outcomes) if outcomes else None


def wilson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return math.nan, math.nan
    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def run(spec: Sweep, doc: Document, points: list[Point], executor: str = "local",
        workers: int | None = None, progress: Any = None) -> list[PointResult]:
    from twin.capacity.grid import run_tasks

    path = str(scenario_path(spec, doc))
    seed = _loaded(path, points[0].sets).scenario.seed if points else 0
    reps = spec.replications
    tasks = [Task(path, p.sets, seed, r) for p in points for r in range(reps)]
    results = run_tasks(replicate, tasks, executor, workers, progress)
    out = [PointResult(p) for p in points]
    for i, r in enumerate(results):
        out[i // reps].runs.append(r)
    return out


def rows(results: list[PointResult]) -> list[dict[str, Any]]:
    """One row per point and check: the share of replications it held in, with Wilson's
    95 % interval (the CSV's and the JSON's)."""
    out = []
    for pr in results:
        checks = list(pr.runs[0]["checks"]) if pr.runs else []
        for check in checks:
            k, n = pr.held(check)
            lo, hi = wilson(k, n)
            out.append({"point": pr.point.index, **dict(pr.point.values), "check": check,
                        "held": k, "judged": n, "share": k / n if n else None,
                        "low": lo, "high": hi})
    return out


def plot(spec: Sweep, results: list[PointResult], path: Path) -> None:
    """Each check's share of replications held against the x axis (one line per value of
    the other axes), with Wilson's band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name = spec.x_axis.name
    checks = list(results[0].runs[0]["checks"]) if results and results[0].runs else []
    fig, axes = plt.subplots(len(checks) or 1, 1, figsize=(7, 2.2 * max(1, len(checks))),
                             dpi=100, squeeze=False)
    for ax, check in zip(axes[:, 0], checks, strict=False):
        lines: dict[tuple, list[tuple[Any, float, float, float]]] = {}
        for pr in results:
            vals = dict(pr.point.values)
            rest = tuple((k, v) for k, v in pr.point.values if k != x_name)
            k, n = pr.held(check)
            lo, hi = wilson(k, n)
            lines.setdefault(rest, []).append((str(vals[x_name]), k / n if n else math.nan, lo, hi))
        for rest, pts in lines.items():
            xs = list(range(len(pts)))
            ax.plot(xs, [p[1] for p in pts], marker="o",
                    label=", ".join(f"{k} {v}" for k, v in rest) or None)
            ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.2)
            ax.set_xticks(xs, [p[0] for p in pts])
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(check, fontsize=9)
        ax.set_ylabel("held")
        if any(rest for rest in lines):
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel(x_name)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)


__all__ = ["Point", "PointResult", "plan", "plot", "replicate", "rows", "run", "wilson"]
