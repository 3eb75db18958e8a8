"""A Sweep file run: its grid planned, every replication of every point simulated, the
replications aggregated per point, the SLO judged.

    from twin.capacity.sweep import load, plan, run
    sweep, doc = load("sweeps/chat-3x.yaml")
    result = run(sweep, plan(sweep, doc), executor="local", workers=2, progress=fn)

Every point's topology is loaded and validated before anything runs (a bad value
names the sweep file's line); a task is one replication of one point (plain
data and the topology, picklable), run by twin.capacity.grid on a process pool
or a Dask cluster. Replication r of a point runs with the sweep's seed and index
r, as `twin sim --replications` does, so the numbers do not depend on the
executor or on which worker ran what.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.capacity.grid import Progress, run_tasks
from twin.capacity.sweep_file import (
    Sweep,
    axis_problems,
    check_sweep,
    overrides,
    topology_path,
    value_pos,
)
from twin.loading.engine import build_all
from twin.model.errors import ModelError
from twin.model.source import Document, document, parse_set
from twin.model.topology import Topology
from twin.model.units import parse_rate
from twin.result.model import Estimate, ReplicationResult


@dataclass(frozen=True)
class Point:
    """One combination of axis values: (axis name, value as shown) in axis order."""

    index: int
    values: tuple[tuple[str, Any], ...]
    rates: dict[str, float]


@dataclass(frozen=True)
class Task:
    """One replication of one point: everything a worker needs, nothing to look up."""

    point: int
    replication: int
    topology: Topology
    rates: dict[str, float]
    duration: float
    warmup: float
    seed: int


@dataclass(frozen=True)
class PointResult:
    point: Point
    aggregate: dict[str, Estimate]
    pending: int  # pods Pending at the end, most over replications
    slo: bool | None  # the SLO met (None: no SLO, or its metric not measured)


@dataclass(frozen=True)
class SweepResult:
    sweep: Sweep
    points: list[PointResult]


def load(path: str | Path) -> tuple[Sweep, Document]:
    """The Sweep file, validated (every problem at once, with file and line)."""
    doc = document(path, ("Sweep",))
    sweep, problems = build_all(doc, Sweep)
    if sweep is None:
        raise ModelError(problems)
    problems += check_sweep(sweep, doc)
    if problems:
        raise ModelError(problems)
    return sweep, doc


def _rates(sweep: Sweep, topo: Topology, combo: tuple[tuple[Any, Any], ...]) -> dict[str, float]:
    """Every route's rate at this point: the sweep's load, its axes' rates, times scale."""
    given = {r: parse_rate(v) for r, v in sweep.load.rates.items()}
    scale = sweep.load.scale
    for axis, value in combo:
        if axis.kind == "rate":
            given[axis.path.removeprefix("load.")] = parse_rate(value)
        elif axis.kind == "scale":
            scale *= float(value)
    return {r.name: given.get(r.name, 0.0 if sweep.load.only else r.rate) * scale
            for r in topo.routes}


def plan(sweep: Sweep, doc: Document, sets: list[str] | None = None) -> list[tuple[Point, Topology]]:
    """Every point of the grid with its topology, loaded and validated; ModelError names
    every bad value of every point at once."""
    from twin.loading.files import load_topology

    path = topology_path(sweep, doc.file)
    base = [*overrides(sweep, doc), *(parse_set(s) for s in sets or [])]
    grid = [[(i, j, v) for j, v in enumerate(a.values)] for i, a in enumerate(sweep.axes)]
    out: list[tuple[Point, Topology]] = []
    problems = []
    cache: dict[tuple, Topology] = {}
    for n, combo in enumerate(itertools.product(*grid)):
        sets_here = tuple((sweep.axes[i].path, v, value_pos(doc, i, j)) for i, j, v in combo
                          if sweep.axes[i].kind == "set")
        key = tuple((p, repr(v)) for p, v, _ in sets_here)
        topo = cache.get(key)
        if topo is None:
            try:
                topo = cache[key] = load_topology(path, overrides=[*base, *sets_here])
            except ModelError as e:
                problems += e.problems
                continue
        axes = tuple((sweep.axes[i], v) for i, _, v in combo)
        values = tuple((sweep.axes[i].name, sweep.axes[i].shown(j)) for i, j, _ in combo)
        out.append((Point(n, values, _rates(sweep, topo, axes)), topo))
    if problems:
        raise ModelError(problems + axis_problems(sweep, doc, None))
    return out


def simulate(task: Task) -> ReplicationResult:
    """One replication of one point (a module-level function: workers import it)."""
    from twin.sim.engine import Simulation

    sim = Simulation(task.topology, dict(task.rates), task.duration, task.seed,
                     task.replication, task.warmup)
    run = sim.run()
    return run.model_copy(update={"series": None, "events": []})


def tasks(sweep: Sweep, points: list[tuple[Point, Topology]]) -> list[Task]:
    return [Task(p.index, r, topo, p.rates, sweep.duration, sweep.warmup, sweep.seed)
            for p, topo in points for r in range(sweep.replications)]


def run(sweep: Sweep, points: list[tuple[Point, Topology]], executor: str = "local",
        workers: int | None = None, progress: Progress | None = None,
        simulate_fn: Callable[[Task], ReplicationResult] = simulate) -> SweepResult:
    """Every replication of every point on the executor; aggregated per point in grid order."""
    from twin.result.stats import aggregate

    todo = tasks(sweep, points)
    runs = run_tasks(simulate_fn, todo, executor, workers, progress)
    by_point: dict[int, list[ReplicationResult]] = {}
    for task, result in zip(todo, runs, strict=True):
        by_point.setdefault(task.point, []).append(result)
    out = []
    for p, _ in points:
        mine = by_point[p.index]
        agg = aggregate(mine)
        pending = max(len(r.pending_pods) for r in mine)
        out.append(PointResult(p, agg, pending, _slo(sweep, agg)))
    return SweepResult(sweep, out)


def _slo(sweep: Sweep, agg: dict[str, Estimate]) -> bool | None:
    if sweep.slo is None:
        return None
    est = agg.get(sweep.slo.metric)
    return None if est is None else est.mean <= sweep.slo.max
