"""Run a scenario on a backend and judge it: file -> Result -> check outcomes.

Backends are plug points (twin.result.backend.Backend): `run(scenario, topology,
seed, replications, progress) -> BackendRun`. `sim` is the embedded simulator;
`local` (real server processes) and `kind` (the replica) come from modules that
may not be installed or may need tools this machine lacks: a missing backend is
a clean CannotRun (exit 3) that says what is missing and how to get it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twin.model.errors import Problem
from twin.result.backend import EVERYTHING, Backend, CannotRun, Observes, Progress
from twin.scenario.checks import Outcome, judge, saturated_in, verdict
from twin.scenario.loader import Loaded
from twin.scenario.metrics import impact, observations, timeline
from twin.scenario.model import Scenario


class UnknownBackend(ValueError):
    """A backend name nothing provides: bad input (exit 2), not a backend that cannot run."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"no backend named {name!r}; the backends are {', '.join(known)}")


# name -> module providing `backend() -> Backend` (which may raise CannotRun)
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
    """The backend `name`: UnknownBackend when nothing provides it, CannotRun when
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
            raise CannotRun(
                f"the {name} backend is not part of this installation ({module} is missing)",
                "use --backend sim, or update the twin to a version that ships it") from None
        raise CannotRun(f"the {name} backend needs the Python package {e.name!r}",
                        f"install it: .venv/bin/pip install {e.name}") from None
    factory = getattr(mod, "backend", None)
    if factory is None:
        raise CannotRun(f"{module} provides no backend() yet", "use --backend sim for now")
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
    """Run and judge one loaded scenario; CannotRun when the backend cannot run here."""
    scn = loaded.scenario
    seed = scn.seed if seed is None else seed
    reps = scn.replications if replications is None else replications
    be = get_backend(backend)
    started = time.perf_counter()
    result = be.run(scn, loaded.topology, seed, reps, progress or (lambda f, s: None))
    wall = time.perf_counter() - started
    traces = observations(result)
    # what the backend declares it sees; one that declares nothing (a test's) sees everything
    seen = getattr(be, "observes", EVERYTHING)
    for trace in traces:
        if trace.observes is EVERYTHING:
            trace.observes = seen
    saturated = saturated_in(result, loaded.topology) if any(c.saturation for c in scn.checks) else None
    outcomes = judge(scn, traces, saturated)
    return Run(loaded, backend, seed, reps, result, outcomes, timeline(traces, scn),
               impact(traces, loaded.topology, scn), wall, traces)


def observes_of(name: str) -> Observes:
    """What backend `name` declares it sees, without asking this machine for its tools
    (a backend that cannot run here is still validated against)."""
    if name in _REGISTERED:
        return getattr(_REGISTERED[name](), "observes", EVERYTHING)
    module = PROVIDERS.get(name)
    if module is None:
        raise UnknownBackend(name, backend_names())
    return getattr(importlib.import_module(module), "OBSERVES", EVERYTHING)


def unobservable(loaded: Loaded, backend: str) -> list[Problem]:
    """A problem, at its line, for each part of the scenario `backend` cannot see: a
    check it would call "not applicable", a canary section it would not run."""
    from twin.model.source import document
    from twin.scenario.metrics import canonical

    seen = observes_of(backend)
    scn, topo = loaded.scenario, loaded.topology
    doc = document(loaded.path, ("Scenario",))
    other = "; --backend sim does"
    found: list[Problem] = []
    if scn.canary is not None and not seen.canary:
        found.append(doc.problem(("canary",), f"the {backend} backend does not move canary weights{other}"))
    for i, c in enumerate(scn.checks):
        metric = c.metric or c.recovery
        if metric is not None and not seen.metric(canonical(topo, metric)):
            field = "metric" if c.metric else "recovery"
            have = ", ".join(seen.metrics or ())
            found.append(doc.problem(("checks", i, field), (
                f"the {backend} backend cannot observe {canonical(topo, metric)} "
                f"(it measures {have or 'no metric'} only)")))
        elif c.event is not None and not seen.event(c.event):
            found.append(doc.problem(("checks", i, "event"),
                                     f"the {backend} backend does not record {c.event} events{other}"))
        elif c.saturation is not None and not seen.series:
            found.append(doc.problem(("checks", i, "saturation"),
                                     f"the {backend} backend records no time series to judge saturation{other}"))
    return found
