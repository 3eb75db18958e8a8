"""The analytical answer held against the simulator: the same topology and load, run.

`twin whatif --simulate` prints these rows side by side: each route's mean
latency (and end to end), each component's utilisation, with the simulator's
mean over replications and its 95 % confidence interval. The simulator runs its
HPAs from the topology's replicas, so where an HPA moves the two are compared
after the warm-up the caller chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twin.capacity.whatif import Answer, Loads
from twin.model.topology import Topology
from twin.result.model import Estimate, Result


@dataclass(frozen=True)
class Compared:
    """One figure: the analytical value, the simulator's mean and its 95 % CI."""

    what: str  # route/chat latency, worker/chat-worker utilisation
    analytic: float | None
    simulated: float
    half_width: float | None
    unit: str  # "s" or "share"

    @property
    def within(self) -> bool | None:
        """The analytical value inside the simulator's CI (None without one)."""
        if self.analytic is None or self.half_width is None:
            return None
        return abs(self.analytic - self.simulated) <= self.half_width


def run(topology: Topology, loads: Loads, duration: float, seed: int, replications: int,
        warmup: float | None = None, progress: Callable[[int, float], None] | None = None,
        name: str = "") -> Result:
    """The simulator at the answer's load (closed routes as closed users)."""
    from twin.sim.api import run_replications
    from twin.sim.load import ClosedUsers

    given: dict = dict(loads.open)
    given.update({r: ClosedUsers(r, users, think) for r, (users, think) in loads.closed.items()})
    return run_replications(topology, given, duration, seed, replications, warmup,
                            progress=progress, name=name)


def _pods_estimate(result: Result, workload: str, version: str | None) -> Estimate:
    from twin.result.stats import estimate

    values = []
    for run in result.runs:
        mine = [p.utilisation for p in run.pods.values()
                if p.workload == workload and p.phase == "Ready"
                and (version is None or p.version == version)]
        values.append(sum(mine) / len(mine) if mine else 0.0)
    return estimate(values)


def _store_busy(result: Result, store: str) -> Estimate:
    """Busy slots over slots (twin.sim.report: L less its queue, as a pod's)."""
    from twin.result.stats import estimate

    return estimate([run.stores[store].utilisation for run in result.runs])


def side_by_side(answer: Answer, result: Result) -> list[Compared]:
    """Routes' latency and end to end, then components' utilisation (busy ones only)."""
    agg = result.aggregate
    out: list[Compared] = []
    for r in answer.routes:
        est = agg.get(f"route/{r.route}/latency.mean")
        if est is not None and r.rate > 0:
            out.append(Compared(f"route/{r.route} latency", r.latency, est.mean, est.half_width, "s"))
        est = agg.get(f"route/{r.route}/end_to_end.mean")
        if est is not None and (r.end_to_end is not None or r.saturated_by):
            out.append(Compared(f"route/{r.route} end to end", r.end_to_end, est.mean,
                                est.half_width, "s"))
    for c in answer.components:
        if c.rate <= 0 or c.kind == "external":
            continue
        if c.kind == "store":
            est = _store_busy(result, c.component.split("/", 1)[1])
        else:
            name = c.component.split("/", 1)[1]
            est = _pods_estimate(result, name, c.version)
        if est is None:
            continue
        out.append(Compared(f"{c.name} utilisation", min(c.utilisation, 1.0), est.mean,
                            est.half_width, "share"))
    return out
