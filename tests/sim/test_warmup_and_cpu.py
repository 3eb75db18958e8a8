"""Warm-up deletion and CPU accounting.

Warm-up: a pod started empty waits less in its first seconds than Erlang C says
(M/M/1 at rho 0.8, relaxation time about 9 s); deleting a warm-up gives back
Erlang C. CPU: a pod uses rate x mean service time x cpu_share cores, its
node the sum over its pods.
"""

from __future__ import annotations

from pathlib import Path

from theory_helpers import assert_close, tolerance, topology

from twin.capacity.theory import MMc
from twin.loading.files import load_topology
from twin.sim.engine import Simulation

HERE = Path(__file__).resolve().parent
LAM, MU = 8.0, 10.0  # rho 0.8: Wq = 0.4 s


def pods(duration: float, warmup: float, reps: int) -> list:
    topo = topology("one-service.yaml", f"routes.req.rate={LAM}")
    return [Simulation(topo, None, duration, 3, r, warmup).run().pods["api-0"] for r in range(reps)]


def mean_waits(duration: float, warmup: float, reps: int) -> list[float]:
    return [p.mean_wait for p in pods(duration, warmup, reps)]


def test_a_pod_started_empty_waits_less_in_its_first_seconds() -> None:
    wq = MMc(LAM, MU, 1).wq
    mean, allowed = tolerance(mean_waits(10.0, 0.0, 300), wq)
    # biased low (by about a quarter) by more than the tolerance: an estimate without
    # warm-up deletion is wrong, and the check can tell
    assert mean + allowed < wq and mean < 0.85 * wq, (mean, allowed, wq)


def test_warm_up_deletion_recovers_erlang_c() -> None:
    """80 replications with 30 s (3 relaxation times) deleted, 470 s kept: tolerance 12 %."""
    kept = pods(500.0, 30.0, 80)
    assert_close([p.mean_wait for p in kept], MMc(LAM, MU, 1).wq, "mean wait after warm-up",
                 sharp=0.125)
    # the meters counted only the 470 s after the warm-up: 80 x 8/s x 470 s, Poisson
    visits, want = sum(p.visits for p in kept), 80 * LAM * 470
    assert abs(visits - want) < 4 * want ** 0.5 + 80, visits


def test_cpu_is_rate_times_service_time_times_cpu_share() -> None:
    """two-routes.yaml: a at 5/s x 100 ms x 1.0 = 0.5 cores, b at 8/s x 100 ms x 0.5 = 0.4."""
    topo = load_topology(HERE / "two-routes.yaml")
    runs = [Simulation(topo, None, 1000.0, 9, r, 50.0).run() for r in range(10)]
    for pod, want in (("a-0", 0.5), ("b-0", 0.4)):
        assert_close([r.pods[pod].cpu_cores for r in runs], want, f"{pod} CPU cores", sharp=0.06)
        request = runs[0].pods[pod].cpu_request
        assert request > 0
        assert_close([r.pods[pod].cpu_utilisation for r in runs], want / request,
                     f"{pod} CPU over request", sharp=0.06)
    node = runs[0].pods["a-0"].node
    assert node == runs[0].pods["b-0"].node
    for r in runs:
        on_node = sum(p.cpu_cores for p in r.pods.values() if p.node == node)
        assert abs(r.nodes[node].cpu_used - on_node) < 1e-9
    assert_close([r.nodes[node].cpu_used for r in runs], 0.9, "node CPU used", sharp=0.06)
    alloc = runs[0].nodes[node].cpu_allocatable
    assert_close([r.nodes[node].cpu_utilisation for r in runs], 0.9 / alloc, "node CPU utilisation",
                 sharp=0.06)
