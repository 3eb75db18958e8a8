"""`kind: Sweep`: a grid of simulator runs over overrides and loads, as pure data.

    apiVersion: twin.eco2/v1
    kind: Sweep
    name: chat-3x
    topology: ../topologies/eco2-prod.yaml     # relative to this file
    load: {rates: {chat: 2/s}}
    axes:                                      # the grid: every combination
      - {path: load.chat, values: [2/s, 4/s, 6/s]}          # a route's rate
      - {path: workers.chat-worker.replicas, values: [3, 6]}  # any --set path
    duration: 5m
    replications: 3
    slo: {metric: route/chat/end_to_end.p95, max: 30s}

An axis path is `load.ROUTE` (that route's rate), `load.scale` (every rate times
it), or a `--set` path on the topology. A sweep that names a `scenario:` runs that
scenario's replications at each point (its topology, load, duration and checks) and
its axes may be `scenario.PATH`, any field of the scenario:

    kind: Sweep
    name: crash-down-after
    scenario: ../scenarios/redis-master-crash.yaml
    axes:
      - {path: stores.redis.sentinel.down_after, values: [5s, 15s, 30s]}
      - {path: scenario.canary.progressive.interval, values: [30s, 1m]}   # a canary's
    replications: 10

Unknown fields are errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from twin.model.base import Strict
from twin.model.errors import ModelError, Problem, no_such
from twin.model.source import Document, Pos
from twin.model.units import Duration, Rate, parse_rate


class Axis(Strict):
    path: str = Field(description="load.ROUTE, load.scale, or a --set path on the topology.")
    values: list[Any] = Field(min_length=1)
    label: str | None = Field(default=None, description="Name in tables and plots; unset: path.")
    names: list[str] | None = Field(
        default=None, description="How each value reads in tables and plots (a list of nodes "
        "as `5 nodes`); unset: the values themselves.")

    def shown(self, j: int) -> Any:
        return self.names[j] if self.names else self.values[j]

    @property
    def name(self) -> str:
        return self.label or self.path

    @property
    def kind(self) -> str:
        return axis_kind(self.path)


AXIS_KINDS: tuple[tuple[str, str], ...] = (
    ("load.scale", "scale"),
    ("load.", "rate"),
    ("scenario.", "scenario"),
    ("", "set"),
)
"""How a path is applied, first prefix that matches: every rate times it, one route's
rate, a scenario's field (not in this file kind), or an override of the topology."""


def axis_kind(path: str) -> str:
    return next(kind for prefix, kind in AXIS_KINDS if path.startswith(prefix))


class SweepLoad(Strict):
    rates: dict[str, Rate] = Field(default={}, description="Per route; unset: its nominal rate.")
    scale: float = Field(default=1.0, ge=0, description="Every route's rate times this.")
    only: bool = Field(default=False, description="Only the routes under `rates` get traffic.")


class Slo(Strict):
    metric: str = Field(description="A result metric, KIND/NAME/metric: route/chat/latency.p95.")
    max: float | Duration = Field(description="Met while the mean over replications is at most this.")

    @field_validator("metric")
    @classmethod
    def _shape(cls, value: str) -> str:
        if value.count("/") < 2:
            raise ValueError("a metric is KIND/NAME/metric, e.g. route/chat/end_to_end.p95")
        return value


class Sweep(Strict):
    api_version: Literal["twin.eco2/v1"] = Field(alias="apiVersion")
    kind: Literal["Sweep"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str | None = None
    scenario: str | None = Field(default=None, description="A scenario file (relative to "
                                 "this one) whose replications each point runs: its topology, "
                                 "load, duration and checks; axes may then be `scenario.PATH`.")
    topology: str = Field(default="../topologies/eco2-prod.yaml",
                          description="Path relative to this file.")
    overrides: dict[str, Any] = Field(default={}, description="PATH: VALUE on the topology.")
    load: SweepLoad = SweepLoad()
    axes: list[Axis] = Field(min_length=1)
    x: str | None = Field(default=None, description="The axis along the plots' x (its path or "
                          "label); unset: the first load axis, else the first axis.")
    duration: Duration = Field(default=0.0, ge=0, description="Each run's; required unless "
                               "a scenario gives it.")
    warmup: Duration = 0.0
    seed: int = Field(default=1, ge=0)
    replications: int = Field(default=1, ge=1)
    slo: Slo | None = None

    @property
    def x_axis(self) -> Axis:
        if self.x is not None:
            return next(a for a in self.axes if self.x in (a.path, a.label))
        return next((a for a in self.axes if a.kind in ("rate", "scale")), self.axes[0])


# ----------------------------------------------------------------- checks


def topology_path(sweep: Sweep, file: str | Path) -> Path:
    return Path(file).parent / sweep.topology


def overrides(sweep: Sweep, doc: Document) -> list[tuple[str, Any, Pos]]:
    return [(k, v, doc.positions.get(("overrides", k), Pos(doc.file)))
            for k, v in sweep.overrides.items()]


def value_pos(doc: Document, i: int, j: int) -> Pos:
    p = doc.problem(("axes", i, "values", j), "")
    return Pos(p.file, p.line, p.column)


def axis_problems(sweep: Sweep, doc: Document, routes: list[str] | None) -> list[Problem]:
    """Paths that name nothing a sweep can change, and rates that are not rates."""
    out = []
    if sweep.scenario is None and sweep.duration <= 0:
        out.append(doc.problem(("duration",), "required (a positive duration) when the sweep "
                               "names no scenario"))
    for i, axis in enumerate(sweep.axes):
        kind = axis.kind
        if kind == "scenario" and sweep.scenario is None:
            out.append(doc.problem(("axes", i, "path"), "scenario. paths need a scenario to "
                                   "sweep over: name one with `scenario:`"))
        elif kind in ("rate", "scale") and sweep.scenario is not None:
            out.append(doc.problem(("axes", i, "path"), "a scenario sweep sets the load "
                                   "through the scenario: scenario.load.rates.ROUTE or "
                                   "scenario.load.scale"))
        elif kind == "rate":
            route = axis.path.removeprefix("load.")
            if routes is not None and route not in routes:
                out.append(doc.problem(("axes", i, "path"), no_such("route", route, routes)))
        if kind in ("rate", "scale"):
            for j, v in enumerate(axis.values):
                try:
                    x = parse_rate(v) if kind == "rate" else float(v)
                    if x < 0:
                        raise ValueError("must not be negative")
                except (TypeError, ValueError) as e:
                    out.append(doc.problem(("axes", i, "values", j), str(e)))
    for i, axis in enumerate(sweep.axes):
        if axis.names is not None and len(axis.names) != len(axis.values):
            out.append(doc.problem(("axes", i, "names"), f"{len(axis.names)} names for "
                                   f"{len(axis.values)} values"))
    names = [a.name for a in sweep.axes]
    if len(set(names)) != len(names):
        out.append(doc.problem(("axes",), "two axes share a path or label"))
    if sweep.x is not None and sweep.x not in {n for a in sweep.axes for n in (a.path, a.label)}:
        out.append(doc.problem(("x",), no_such("axis", sweep.x, names)))
    if sweep.scenario is None and 0 < sweep.duration <= sweep.warmup:
        out.append(doc.problem(("warmup",), "must be shorter than the duration"))
    if routes is not None:
        for r in sweep.load.rates:
            if r not in routes:
                out.append(doc.problem(("load", "rates", r), no_such("route", r, routes)))
    return out


def check_sweep(sweep: Sweep, doc: Document) -> list[Problem]:
    """`twin validate`'s hook (twin.loading.kinds): the topology loads with the overrides
    and every axis at its first value; axis paths and rates make sense."""
    from twin.loading.files import load_topology

    if sweep.scenario is not None:  # its scenario, topology and checks: twin.scenario.sweep
        path = Path(doc.file).parent / sweep.scenario
        return axis_problems(sweep, doc, None) + (
            [] if path.exists() else [doc.problem(("scenario",), f"no such file: {path}")])
    path = topology_path(sweep, doc.file)
    if not path.exists():
        return [doc.problem(("topology",), f"no such file: {path}")]
    first = [(a.path, a.values[0], value_pos(doc, i, 0)) for i, a in enumerate(sweep.axes)
             if a.kind == "set"]
    try:
        topo = load_topology(path, overrides=[*overrides(sweep, doc), *first])
    except ModelError as e:
        return e.problems + axis_problems(sweep, doc, None)
    return [*axis_problems(sweep, doc, [r.name for r in topo.routes]), *slo_problems(sweep, doc, topo)]


def slo_problems(sweep: Sweep, doc: Document, topo: Any) -> list[Problem]:
    """The SLO's component is one the topology has (`route/chta/...`: did you mean route/chat?)."""
    from twin.graph.naming import KINDS, UnknownComponent, resolve

    if sweep.slo is None:
        return []
    kind, name, _ = sweep.slo.metric.split("/", 2)
    if kind not in KINDS:
        return []
    try:
        resolve(topo, f"{kind}/{name}")
    except UnknownComponent as e:
        return [doc.problem(("slo", "metric"), e.message)]
    return []
