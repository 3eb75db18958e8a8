"""Run a scenario on a backend and judge it: file -> Result -> check outcomes.

Backends are plug points with one method, `run(scenario, topology, seed,
replications, progress) -> Result`. `sim` is the embedded simulator; `local`
(real server processes) and `kind` (the replica) come from modules that may
not be installed or may need tools this machine lacks: a missing backend is a
clean "cannot run" (exit 3) that says what is missing and how to get it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from twin.model.topology import Topology
from twin.scenario.checks import Outcome, judge, verdict
from twin.scenario.loader import Loaded
from twin.scenario.model import Scenario

Progress = Callable[[float, str], None]
"""progress(fraction done 0..1, what is running now)."""


class Backend(Protocol):
    """May also carry `observes` (twin.scenario.observes.Observes): the events and
    metrics it can see; checks on anything else are not applicable."""

    name: str

    def run(self, scenario: Scenario, topology: Topology, seed: int, replications: int,
            progress: Progress) -> Any: ...


@dataclass
class BackendRun:
    """What a backend returns: the Result and one Trace per replication."""

    result: Any
    trace_list: list[Any] = field(default_factory=list)

    def traces(self) -> list[Any]:
        return self.trace_list

    def to_json(self) -> dict:
        return self.result.model_dump(mode="json")


class BackendMissing(Exception):
    """A backend that cannot run here: what is missing and how to get it."""

    def __init__(self, what: str, how: str = ""):
        self.what = what
        self.how = how
        super().__init__(what)


class UnknownBackend(ValueError):
    """A backend name nothing provides: bad input (exit 2), not a backend that cannot run."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"no backend named {name!r}; the backends are {', '.join(known)}")


# name -> module providing `backend() -> Backend` (which may raise BackendMissing)
PROVIDERS: dict[str, str] = {
    "sim": "twin.scenario.sim_backend",
    "local": "twin.replica.local_backend",
    "kind": "twin.replica.kind_backend",
}
_REGISTERED: dict[str, Callable[[], Backend]] = {}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Another part of the twin (or a test) provides a backend under `name`."""
    _REGISTERED[name] = factory


def backend_names() -> list[str]:
    return sorted({*PROVIDERS, *_REGISTERED})


def get_backend(name: str) -> Backend:
    """The backend `name`: UnknownBackend when nothing provides it, BackendMissing when
    it exists but cannot run here."""
    if name in _REGISTERED:
        return _REGISTERED[name]()
    module = PROVIDERS.get(name)
    if module is None:
        raise UnknownBackend(name, backend_names())
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name and module.startswith(e.name) or e.name == module:
            raise BackendMissing(
                f"the {name} backend is not part of this installation ({module} is missing)",
                "use --backend sim, or update the twin to a version that ships it") from None
        raise BackendMissing(f"the {name} backend needs the Python package {e.name!r}",
                             f"install it: .venv/bin/pip install {e.name}") from None
    factory = getattr(mod, "backend", None)
    if factory is None:
        raise BackendMissing(f"{module} provides no backend() yet",
                             "use --backend sim for now")
    return factory()


@dataclass
class Run:
    """One scenario run, judged: what the report, JUnit and result.json show."""

    loaded: Loaded
    backend: str
    seed: int
    replications: int
    result: Any
    outcomes: list[Outcome]
    timeline: list[dict]                 # events of the first replication
    impact: dict                         # user impact, mean over replications
    wall: float = 0.0
    observations: list = field(default_factory=list)  # one Trace per replication

    @property
    def scenario(self) -> Scenario:
        return self.loaded.scenario

    @property
    def passed(self) -> bool:
        return verdict(self.outcomes)


def execute(loaded: Loaded, backend: str = "sim", seed: int | None = None,
            replications: int | None = None, progress: Progress | None = None) -> Run:
    """Run and judge one loaded scenario; BackendMissing when the backend cannot run."""
    from twin.scenario import metrics, observes

    scn = loaded.scenario
    seed = scn.seed if seed is None else seed
    reps = scn.replications if replications is None else replications
    be = get_backend(backend)
    started = time.perf_counter()
    result = be.run(scn, loaded.topology, seed, reps, progress or (lambda f, s: None))
    wall = time.perf_counter() - started
    observations = metrics.observations(result, scn)
    seen = observes.of(be, backend)
    for trace in observations:
        if isinstance(trace, metrics.Trace) and trace.observes is observes.EVERYTHING:
            trace.observes = seen
    outcomes = judge(scn, observations)
    return Run(loaded, backend, seed, reps, result, outcomes,
               metrics.timeline(observations, scn), metrics.impact(observations, loaded.topology, scn),
               wall, observations)
