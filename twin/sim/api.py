"""Running the simulator: replications, the Result, and `simulate` for the CLI and demo.

    from twin.sim.api import simulate
    result = simulate("topologies/eco2-prod.yaml", loads={"chat": 5}, duration=600,
                      seed=1, replications=3)

The Result lists the components whose backlog grew through the run (`saturated`,
see twin.sim.saturation). `run_replications` takes a loaded topology and an
optional `setup(sim)` called before each replication runs (faults go in with
`sim.schedule(t, fn)`). Its loop is every backend's (twin.result.replications).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.result.model import Result
from twin.sim import load
from twin.sim.engine import Simulation

Progress = Callable[[int, float], None]  # (replication, fraction of it done)


def run_replications(topology: Topology, loads: load.LoadInput = None, duration: float = 600.0,
                     seed: int = 0, replications: int = 1, warmup: float | None = None,
                     interval: float | None = None, progress: Progress | None = None,
                     setup: Callable[[Simulation], Any] | None = None, name: str = "",
                     sets: Iterable[str] = ()) -> Result:
    """Independent replications (same seed, replication index 0..R-1) and their aggregate."""
    from twin.result.replications import replicate
    from twin.sim.saturation import consumers_of, saturation

    resolved = load.resolve(topology, loads)
    warm = duration * 0.1 if warmup is None else warmup
    intervals: list[float] = []  # the simulator's own default when none is given

    def one(rep: int, _step: Any) -> Any:
        sim = Simulation(topology, resolved, duration, seed, rep, warm, interval)
        intervals.append(sim.interval)
        if setup is not None:
            setup(sim)
        return sim.run((lambda f: progress(rep, f)) if progress is not None else None)

    def derived(runs: list) -> dict[str, Any]:
        return {"interval": intervals[-1] if intervals else interval or 0.0,
                "saturated": saturation(runs, consumers_of(topology))}

    return replicate(one, replications, seed, derived=derived, topology=name,
                     description=topology.description, duration=duration, warmup=warm,
                     loads=resolved.describe(), sets=list(sets)).result


def simulate(topology_path: str | Path, loads: load.LoadInput = None, duration: float = 600.0,
             seed: int = 0, replications: int = 1, sets: Iterable[str] = (),
             progress: Progress | None = None, warmup: float | None = None,
             interval: float | None = None) -> Result:
    """Load and validate a topology (raises ModelError on bad input) and simulate it.

    loads: {route: rate} or ["route=rate", ...] (the CLI's --load); unnamed routes run
    at their nominal rate. sets: --set PATH=VALUE overrides.
    """
    from twin.loading.files import load_topology

    sets = list(sets)
    topology = load_topology(topology_path, sets=sets)
    return run_replications(topology, loads, duration, seed, replications, warmup, interval,
                            progress, name=str(topology_path), sets=sets)
