"""Independent replications of one experiment, and the Result they make together.

Every backend runs R replications the same way: replication `rep` (0..R-1) draws
its randomness from the seed and its index, reports progress as a share of the
whole, and gives its ReplicationResult (and, for a scenario, its Trace). The
Result then carries every run and their aggregate (mean and 95 % interval per
metric), whoever made them: the simulator, real processes or the kind replica.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twin.result.backend import BackendRun, Progress
from twin.result.model import ReplicationResult, Result
from twin.result.stats import aggregate

Step = Callable[..., None]
"""step(fraction of this replication done, what runs now = "replication i/R")."""

One = Callable[[int, Step], "ReplicationResult | tuple[ReplicationResult, Any]"]
"""one(rep, step): replication `rep`, alone or with its Trace."""


def replicate(one: One, replications: int, seed: int, progress: Progress | None = None,
              note: str = "", derived: Callable[[list[ReplicationResult]], dict[str, Any]] | None = None,
              **fields: Any) -> BackendRun:
    """Run replications 0..R-1 in order; the Result holds them, their aggregate, the
    fields given (topology, duration, ...) and those `derived` from the runs
    (the simulator's saturation). `note` follows "replication i/R" in progress."""
    runs: list[ReplicationResult] = []
    traces: list[Any] = []
    for rep in range(replications):
        label = f"replication {rep + 1}/{replications}{note}"

        def step(fraction: float, what: str = "", rep: int = rep, label: str = label) -> None:
            if progress is not None:
                progress((rep + fraction) / replications, what or label)

        out = one(rep, step)
        run, trace = out if isinstance(out, tuple) else (out, None)
        runs.append(run)
        if trace is not None:
            traces.append(trace)
    more = derived(runs) if derived is not None else {}
    result = Result(seed=seed, replications=replications, runs=runs, aggregate=aggregate(runs),
                    **fields, **more)
    return BackendRun(result, traces)


__all__ = ["One", "Step", "replicate"]
