"""Shared by the theory tests: build the example topologies, judge a mean against theory."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from twin.loading.files import load_topology
from twin.result.stats import estimate
from twin.sim.api import run_replications

EXAMPLES = Path(__file__).resolve().parents[2] / "topologies" / "examples"


def topology(name: str, *sets: str):
    return load_topology(EXAMPLES / name, sets=list(sets))


def replications(topo, duration: float, reps: int, warmup: float, seed: int = 7,
                 loads=None) -> list:
    return run_replications(topo, loads, duration, seed, reps, warmup).runs


def tolerance(values: Sequence[float], expected: float, floor: float = 0.05) -> tuple[float, float]:
    """(observed mean, allowed gap): the larger of 5 % and three 95 % half-widths."""
    est = estimate(list(values))
    hw = est.half_width or 0.0
    return est.mean, max(floor * abs(expected), 3 * hw)


def assert_close(values: Sequence[float], expected: float, what: str, floor: float = 0.05,
                 sharp: float = 0.3) -> None:
    """Within tolerance; and the tolerance itself under `sharp` x theory, so that a model
    off by that much could not pass by noise alone."""
    mean, allowed = tolerance(values, expected, floor)
    assert math.isfinite(mean)
    assert allowed <= sharp * abs(expected), (
        f"{what}: too few customers to judge (allowed +-{allowed:.3g} of {expected:.5g})")
    assert abs(mean - expected) <= allowed, (
        f"{what}: simulated {mean:.5g}, theory {expected:.5g}, allowed +-{allowed:.3g}")


def binomial_ok(k: int, n: int, p: float, z: float = 3.29) -> tuple[bool, str]:
    """k successes out of n within the 99.9 % normal interval of Binomial(n, p)."""
    mean = n * p
    sd = math.sqrt(n * p * (1 - p))
    return abs(k - mean) <= z * sd + 0.5, f"{k} of {n}, expected {mean:.1f} +- {z * sd:.1f}"


def pod_metric(runs: list, pod: str, field: str) -> list[float]:
    return [getattr(r.pods[pod], field) for r in runs]


def values(runs: list, fn: Callable) -> list[float]:
    return [fn(r) for r in runs]
