"""VirtualService weights, retries and timeouts against their formulas.

retry-chain.yaml: the gateway tries `front` up to 3 times (retryOn 5xx), each
try of front tries `back` up to 4 times. canary-split.yaml: 90/10 by weight.
"""

from __future__ import annotations

import math

from theory_helpers import binomial_ok, replications, topology

from twin.capacity.theory import expected_tries, retry_failure
from twin.sim.engine import Simulation


def visits(run, workload: str) -> int:
    return sum(p.visits for p in run.pods.values() if p.workload == workload)


def test_virtual_service_split_is_binomial_90_10() -> None:
    run = Simulation(topology("canary-split.yaml"), duration=200.0, seed=3).run()
    v2 = sum(p.visits for p in run.pods.values() if p.workload == "web" and p.version == "v2")
    total = visits(run, "web")
    assert total > 8000
    ok, why = binomial_ok(v2, total, 0.10)
    assert ok, why
    # and a 80/20 split would not have passed
    assert not binomial_ok(v2, total, 0.20)[0]


def test_retries_cut_failures_as_p_to_the_tries() -> None:
    p = 0.3  # front fails 30 % of tries; back never fails and costs nothing
    topo = topology("retry-chain.yaml", f"services.front.error_rate={p}",
                    "services.back.error_rate=0", "services.back.service_time={dist: constant, value: 0s}")
    run = Simulation(topo, duration=1000.0, seed=5).run()
    r = run.routes["r"]
    n = r.completed
    failed = sum(r.errors.values())
    ok, why = binomial_ok(failed, n, retry_failure(p, 2))
    assert ok, why
    assert set(r.errors) <= {"5xx"}
    tries = visits(run, "front") / n
    assert math.isclose(tries, expected_tries(p, 2), rel_tol=0.03), tries
    # without the retries 30 % would fail: the policy, not chance, cut them
    assert failed < 0.1 * p * n


def test_retries_multiply_across_two_hops() -> None:
    topo = topology("retry-chain.yaml", "services.back.error_rate=1")
    run = Simulation(topo, duration=100.0, seed=1).run()
    r = run.routes["r"]
    n, started = r.completed, r.arrivals  # a few are still in flight at the end
    assert n > 1000 and r.ok == 0 and started - n < 10
    assert 3 * n <= visits(run, "front") <= 3 * started  # 1 + 2 at the gateway
    assert 3 * 4 * n <= visits(run, "back") <= 3 * 4 * started  # x (1 + 3) inside front


def test_two_hops_with_partial_failure_follow_the_product() -> None:
    p = 0.5
    topo = topology("retry-chain.yaml", f"services.back.error_rate={p}")
    runs = replications(topo, 400.0, 3, warmup=0.0)
    q = retry_failure(p, 3)  # a try of front fails when back fails 4 times
    per_front = expected_tries(p, 3)
    per_request = expected_tries(q, 2)
    n = sum(r.routes["r"].completed for r in runs)
    front = sum(visits(r, "front") for r in runs) / n
    back = sum(visits(r, "back") for r in runs) / n
    assert math.isclose(front, per_request, rel_tol=0.02), (front, per_request)
    assert math.isclose(back, per_request * per_front, rel_tol=0.03), (back, per_request * per_front)


def test_per_try_timeout_with_retries() -> None:
    # front's service time is exponential with mean 10 ms; a try times out past 10 ms
    topo = topology("retry-chain.yaml", "services.back.error_rate=0",
                    "services.back.service_time={dist: constant, value: 0s}",
                    "mesh.virtual_services.front-vs.http.0.retries.per_try_timeout=10ms")
    run = Simulation(topo, duration=1000.0, seed=2).run()
    r = run.routes["r"]
    late = math.exp(-1.0)  # P(S > 10 ms)
    ok, why = binomial_ok(r.errors.get("timeout", 0), r.completed, retry_failure(late, 2))
    assert ok, why
    assert set(r.errors) <= {"timeout"}
    assert math.isclose(visits(run, "front") / r.completed, expected_tries(late, 2), rel_tol=0.03)


def test_route_timeout_without_retries() -> None:
    topo = topology("retry-chain.yaml", "services.back.error_rate=0",
                    "services.back.service_time={dist: constant, value: 0s}",
                    "mesh.virtual_services.front-vs.http.0.retries.attempts=0",
                    "mesh.virtual_services.front-vs.http.0.timeout=20ms")
    run = Simulation(topo, duration=1000.0, seed=4).run()
    r = run.routes["r"]
    ok, why = binomial_ok(r.errors.get("timeout", 0), r.completed, math.exp(-2.0))
    assert ok, why
    assert r.latency.max <= 0.020 + 1e-9


def test_connection_pool_overflow_answers_503_at_once() -> None:
    topo = topology("canary-split.yaml", "routes.page.rate=400",
                    "mesh.destination_rules.web.connection_pool={http2_max_requests: 2}",
                    "mesh.default_retries.attempts=0")
    run = Simulation(topo, duration=30.0, seed=1).run()
    errors = run.routes["page"].errors
    assert errors.get("overflow", 0) > 100
    assert max(p.in_system for p in run.pods.values() if p.workload == "web") <= 2.0


def test_outlier_detection_ejects_a_failing_endpoint() -> None:
    topo = topology("canary-split.yaml", "services.web.versions.v2.error_rate=1",
                    "mesh.destination_rules.web.outlier_detection={consecutive_5xx_errors: 5}",
                    "mesh.default_retries.attempts=0")
    run = Simulation(topo, duration=120.0, seed=1).run()
    ejected = [e for e in run.events if e.event == "OutlierEjected"]
    assert ejected and ejected[0].source == "pod/web-v2-0"
    # ejected for 30 s, then 60 s, ...: far fewer failures than 10 % of the traffic
    r = run.routes["page"]
    assert 0 < r.errors.get("5xx", 0) < 0.05 * r.completed
