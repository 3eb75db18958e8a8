"""Open arrivals follow their rate profile: ramp, spike and diurnal (thinned Poisson).

The arrivals in each 20 s interval are Poisson with mean the integral of the
profile's rate over it; every interval must lie within the 99.9 % normal bounds
(about 10 % at these counts), and the same counts must reject a flat rate of
the same total, so the check can tell the shape apart.
"""

from __future__ import annotations

import math

import pytest
from theory_helpers import topology

from twin.sim.engine import Simulation
from twin.sim.load import Load

DURATION, STEP = 400.0, 20.0
PROFILES = {
    "ramp": Load("req", 100.0, "ramp", start=20.0, at=100.0, length=200.0),
    "spike": Load("req", 25.0, "spike", at=120.0, length=60.0, factor=4.0),
    "diurnal": Load("req", 60.0, "diurnal", amplitude=0.8, period=200.0),
}


def integral(load: Load, a: float, b: float, n: int = 2000) -> float:
    """Midpoint rule: exact for the piecewise-linear profiles, 1e-6 for the sine."""
    h = (b - a) / n
    return sum(load.rate_at(a + (i + 0.5) * h) for i in range(n)) * h


def counts(load: Load, seed: int = 11) -> list[int]:
    """Arrivals on the route in each STEP-second interval."""
    topo = topology("one-service.yaml", "services.api.concurrency=400")
    sim = Simulation(topo, {"req": load}, DURATION, seed)
    marks: list[int] = []
    for i in range(1, int(DURATION / STEP) + 1):
        sim.schedule(i * STEP - 1e-9, lambda s: marks.append(s.routes["req"].arrivals))
    sim.run()
    return [b - a for a, b in zip([0, *marks], marks, strict=False)]


def within_poisson(k: int, mean: float, z: float = 3.29) -> bool:
    return abs(k - mean) <= z * math.sqrt(mean) + 1


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_arrivals_follow_the_profile(name: str) -> None:
    load = PROFILES[name]
    got = counts(load)
    edges = [i * STEP for i in range(len(got) + 1)]
    want = [integral(load, a, b) for a, b in zip(edges, edges[1:], strict=False)]
    assert len(got) == DURATION / STEP
    bad = [(i, k, round(m)) for i, (k, m) in enumerate(zip(got, want, strict=True))
           if not within_poisson(k, m)]
    assert not bad, f"{name}: intervals outside Poisson bounds (index, got, expected): {bad}"
    total, expected = sum(got), sum(want)
    assert within_poisson(total, expected), (total, expected)
    # a flat rate with the same total is rejected by the same counts
    flat = expected / len(got)
    assert sum(not within_poisson(k, flat) for k in got) >= 4, f"{name}: shape not distinguishable"
