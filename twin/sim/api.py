"""Running the simulator: replications, the Result, and `simulate` for the CLI and demo.

    from twin.sim.api import simulate
    result = simulate("topologies/eco2-prod.yaml", loads={"chat": 5}, duration=600,
                      seed=1, replications=3)

The Result lists the components whose backlog grew through the run (`saturated`,
see twin.sim.saturation). `run_replications` takes a loaded topology and an optional `setup(sim)` called
before each replication runs: the scenario runner schedules its faults there
(`sim.schedule(t, fn)`) and reads events and metrics from the Result.
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
    from twin.result.stats import aggregate
    from twin.sim.saturation import consumers_of, saturation

    resolved = load.resolve(topology, loads)
    warm = duration * 0.1 if warmup is None else warmup
    runs = []
    iv = interval
    for r in range(replications):
        sim = Simulation(topology, resolved, duration, seed, r, warm, interval)
        iv = sim.interval
        if setup is not None:
            setup(sim)
        cb = (lambda f, r=r: progress(r, f)) if progress is not None else None
        runs.append(sim.run(cb))
    return Result(
        topology=name, description=topology.description, seed=seed, replications=replications,
        duration=duration, warmup=warm, interval=iv or 0.0, loads=resolved.describe(),
        sets=list(sets), runs=runs, aggregate=aggregate(runs),
        saturated=saturation(runs, consumers_of(topology)))


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
