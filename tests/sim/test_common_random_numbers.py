"""What-if variants share random numbers (streams keyed by component name).

two-routes.yaml: routes ra -> a and rb -> b share nothing but the node. Changing
rb's rate or b's replicas must leave everything of a bit-for-bit the same;
changing ra's rate must leave a's service-time draws the same. And the point of
it: the difference between two close variants varies far less with common
random numbers than with independent seeds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from twin.loading.files import load_topology
from twin.sim.engine import Simulation

HERE = Path(__file__).resolve().parent


def two_routes(*sets: str):
    return load_topology(HERE / "two-routes.yaml", sets=list(sets))


def pod_a(run) -> tuple:
    p = run.pods["a-0"]
    return (p.visits, p.mean_wait, p.mean_sojourn, p.wait_p95, run.routes["ra"].arrivals,
            run.routes["ra"].latency.mean)


def test_other_routes_rate_leaves_this_route_identical() -> None:
    base = Simulation(two_routes(), duration=600.0, seed=4).run()
    faster = Simulation(two_routes("routes.rb.rate=12"), duration=600.0, seed=4).run()
    assert faster.routes["rb"].arrivals > 1.3 * base.routes["rb"].arrivals  # the variant did change
    assert pod_a(faster) == pod_a(base)


def test_other_workloads_replicas_leave_this_pod_identical() -> None:
    base = Simulation(two_routes(), duration=600.0, seed=4).run()
    scaled = Simulation(two_routes("services.b.replicas=3"), duration=600.0, seed=4).run()
    assert "b-2" in scaled.pods and scaled.pods["b-0"].mean_wait != base.pods["b-0"].mean_wait
    assert pod_a(scaled) == pod_a(base)


def draws_of_a(rate: float, n: int = 2000) -> list[float]:
    """The first n service times pod a-0 drew."""
    sim = Simulation(two_routes(f"routes.ra.rate={rate}"), duration=600.0, seed=4)
    pod = next(p for p in sim.cluster.pods if p.name == "a-0")
    seen: list[float] = []
    draw: Callable[[], float] = pod.sample

    def recorded() -> float:
        x = draw()
        seen.append(x)
        return x
    pod.sample = recorded
    sim.run()
    assert len(seen) >= n
    return seen[:n]


def test_own_rate_leaves_service_draws_identical() -> None:
    assert draws_of_a(5.0) == draws_of_a(7.0)


def test_common_random_numbers_shrink_the_variance_of_a_difference() -> None:
    """Mean wait at a (M/M/1) for ra at 5/s against 5.5/s, 12 replications each way."""
    def wait(rate: float, seed: int, rep: int) -> float:
        sim = Simulation(two_routes(f"routes.ra.rate={rate}", "routes.rb.rate=0"), duration=400.0,
                         seed=seed, replication=rep, warmup=20.0)
        return sim.run().pods["a-0"].mean_wait

    reps = range(12)
    crn = [wait(5.5, 1, r) - wait(5.0, 1, r) for r in reps]
    independent = [wait(5.5, 2, r) - wait(5.0, 1, r) for r in reps]
    v_crn, v_ind = statistics.variance(crn), statistics.variance(independent)
    # theory: Wq rises from 0.1 s to 0.122 s; with CRN every replication sees it
    assert all(d > 0 for d in crn), crn
    # equal variances would give a ratio over F(11, 11)'s 99.9 % point (6.4) once in a
    # thousand; seed 1 gives about 11.6
    assert v_crn < v_ind / 6.4, (v_crn, v_ind)
