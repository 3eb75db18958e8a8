"""The contract between the scenario runner and the backends that run a scenario.

A backend (the simulator in twin.scenario.sim_backend, real processes in
twin.replica.local_backend, the kind replica in twin.replica.kind_backend) has a
`name`, declares what it `observes`, and `run`s a scenario into a BackendRun:
the one Result shape and one Trace per replication. It lives here, beneath both
twin.scenario and twin.replica, so that a backend never imports the runner.
A backend that cannot run on this machine raises CannotRun, which the command
line turns into exit status 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Protocol

from twin.model.topology import Topology
from twin.result.model import Result

Progress = Callable[[float, str], None]
"""progress(fraction done 0..1, what is running now)."""


class CannotRun(Exception):
    """Something this machine lacks (a tool, a server, a replica): what is missing and
    how to get it. The one cause of exit status 3."""

    def __init__(self, what: str, how: str = "", piece: str = ""):
        super().__init__(what)
        self.what = what
        self.how = how
        self.piece = piece
        """Its short name in a list of several (`Docker engine`, `kind`)."""


@dataclass(frozen=True)
class Observes:
    """What a backend can see. A check on anything else is "not applicable", never
    passed: a trace that merely lacks an event proves nothing when the backend could
    never have recorded it (`NodeNotReady, max: 0` would "hold" on real Redis processes).

    events: the names it records (None: any); metrics: fnmatch patterns of the
    canonical metrics it measures (None: any it puts in a trace); series: whether it
    records the time series a saturation check reads; canary: whether it moves a
    scenario's canary weights (else its canary section is not run)."""

    events: frozenset[str] | None = None
    metrics: tuple[str, ...] | None = None
    series: bool = True
    canary: bool = True

    def event(self, name: str) -> bool:
        return self.events is None or name in self.events

    def metric(self, metric: str) -> bool:
        return self.metrics is None or any(fnmatchcase(metric, p) for p in self.metrics)


EVERYTHING = Observes()
"""The simulator's view: every event and metric of the model."""


@dataclass
class BackendRun:
    """What a backend returns: the Result and one Trace (twin.result.trace) per replication."""

    result: Result
    trace_list: list[Any] = field(default_factory=list)

    def traces(self) -> list[Any]:
        return self.trace_list

    def to_json(self) -> dict:
        return self.result.model_dump(mode="json")


class Backend(Protocol):
    """A scenario's plug point. `scenario` is a twin.scenario.model.Scenario, read by
    duck typing (its timeline, load and duration) so that this layer does not import it."""

    name: str
    observes: Observes

    def run(self, scenario: Any, topology: Topology, seed: int, replications: int,
            progress: Progress) -> BackendRun: ...


def bucket_for(duration: float) -> float:
    """A trace's bucket width for a run this long: fine enough for second-scale
    failover timings, coarse enough for long runs (at most 900 buckets)."""
    return max(1.0, math.ceil(duration / 900))


__all__ = ["EVERYTHING", "Backend", "BackendRun", "CannotRun", "Observes", "Progress", "bucket_for"]
