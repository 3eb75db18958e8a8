"""Where the HorizontalPodAutoscalers settle at a steady load.

The arithmetic is the simulator's controller's own: `HPAController.proposal`
(twin.sim.hpa) computes desired = ceil(current x metric / target), leaves the
count alone within the tolerance (10 %), and the bounds clamp it to min/max as
`sync` does. Here the metric is the analytical model's steady state instead of
metrics-server's window: a pod's CPU (its work x cpu_share, over its request with
the sidecar's, as Kubernetes divides by every container's request), or the
messages waiting in the queue beyond the consumers' prefetch buffers. The
controller is run round after round until the count stops moving, which is
where the real one ends once the scale-down window has passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import simpy

from twin.capacity.analytic import Solution
from twin.capacity.theory import erlang_c
from twin.capacity.traffic import Network, Station
from twin.model.topology import HPA, Topology
from twin.sim.hpa import HPAController

ROUNDS = 20


@dataclass(frozen=True)
class HpaState:
    """One HPA at the load: the metric it reads and the replicas it settles at."""

    workload: str
    station: str  # the version it scales (the first), or the workload's only one
    metric: str
    target: float
    min: int
    max: int
    current: int  # the topology's replicas
    desired: int  # where it settles
    reading: float | None  # at `desired`: CPU % of requests, or messages; None: unbounded
    wanted: int | None  # what the metric asks for without max (None: without bound)

    @property
    def limited(self) -> bool:
        """The metric wants more than max allows."""
        return self.wanted is None or self.wanted > self.max


def cpu_percent(station: Station, sol: Solution) -> float:
    """CPU used per pod in percent of its request: the work actually done (a saturated
    pod does only what its slots allow)."""
    s = sol.stations[station.key]
    if s.pods <= 0 or station.cpu_request <= 0:
        return 0.0
    done = s.cpu_cores / (s.utilisation if s.utilisation > 1 else 1.0)
    return done / s.pods / station.cpu_request * 100.0


def messages_ready(station: Station, sol: Solution) -> float:
    """Messages in the queue beyond the consumers' prefetch buffers, E[(Nq - B)+] of the
    consumers as one M/M/(pods x c) queue: C rho^(B+1) / (1 - rho); inf when saturated.
    Unlimited prefetch (0) takes every message off the queue at once."""
    s = sol.stations[station.key]
    if station.prefetch == 0:
        return 0.0
    servers = s.pods * station.servers
    if servers <= 0:
        return math.inf
    rho = s.busy / servers
    if rho >= 1:
        return math.inf
    buffers = s.pods * station.prefetch
    return erlang_c(servers, s.busy) * rho ** (buffers + 1) / (1 - rho)


def desired(hpa: HPA, name: str, current: int, reading: float) -> int:
    """One sync of the simulator's controller at this reading, bounded by min/max."""
    if current == 0 and hpa.min > 0:
        return 0  # scaled to zero by hand: the HPA is off
    if current > hpa.max:
        return hpa.max
    if current < hpa.min:
        return hpa.min
    if math.isinf(reading):
        return hpa.max
    ctl = HPAController(simpy.Environment(), hpa, name, lambda: reading, lambda: current,
                        lambda _n: None, lambda *_a: None)
    proposal = ctl.proposal(current)
    if proposal is None:
        return current
    return min(max(proposal, hpa.min), hpa.max)


def _reading(hpa: HPA, station: Station, sol: Solution) -> float:
    return messages_ready(station, sol) if hpa.metric == "queue_length" else cpu_percent(station, sol)


def settle(topo: Topology, net: Network, solve_at: Callable[[dict[str, int]], Solution],
           start: dict[str, int]) -> tuple[dict[str, int], list[HpaState]]:
    """Run every HPA until the replica counts stop changing; (replicas, one state per HPA)."""
    replicas = dict(start)
    scaled = [(w, w.hpa, net.groups[w.name][0]) for w in topo.workloads
              if w.hpa is not None and w.name in net.groups]
    sol = solve_at(replicas)
    for _ in range(ROUNDS):
        moved = False
        for w, hpa, key in scaled:
            now = replicas[key]
            new = desired(hpa, w.name, now, _reading(hpa, net.stations[key], sol))
            if new != now:
                replicas[key] = new
                moved = True
        if not moved:
            break
        sol = solve_at(replicas)
    states = []
    for w, hpa, key in scaled:
        st = net.stations[key]
        reading = _reading(hpa, st, sol)
        n = replicas[key]
        unbounded = hpa.model_copy(update={"max": max(hpa.max, n, 1) * 1000})
        wanted = None if math.isinf(reading) else desired(unbounded, w.name, n, reading)
        states.append(HpaState(w.name, key, hpa.metric, hpa.target, hpa.min, hpa.max,
                               st.replicas, n, None if math.isinf(reading) else reading, wanted))
    return replicas, states
