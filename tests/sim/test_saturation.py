"""Saturation detection: unstable queues, saturated workloads and growing routes are
flagged in the Result; stable runs (rho 0.7, Eco2 prod at nominal load) are not."""

from __future__ import annotations

import random

from twin.sim.api import simulate
from twin.sim.saturation import growing

ONE = "topologies/examples/one-service.yaml"
PROD = "topologies/eco2-prod.yaml"


def test_trend_flags_a_growing_series_and_not_a_stationary_one() -> None:
    rng = random.Random(1)
    t = [5.0 * i for i in range(100)]
    rising = [0.3 * x + rng.gauss(0, 5) for x in t]
    found = growing(t, rising, "depth")
    assert found is not None
    start, end, per_min = found
    assert start < 20 and end > 130 and 15 < per_min < 21  # 0.3/s = 18/min
    flat = [20 + rng.gauss(0, 8) for _ in t]
    assert growing(t, flat, "depth") is None
    assert growing(t[:4], rising[:4], "depth") is None  # too few points to judge


def test_overloaded_one_service_is_flagged() -> None:
    res = simulate(ONE, None, 300.0, seed=1, sets=["routes.req.rate=12/s"])  # rho = 1.2
    flagged = {s.component: s for s in res.saturated}
    assert "workload/api" in flagged and flagged["workload/api"].utilisation >= 0.98
    route = flagged["route/req"]
    assert route.metric == "in_flight" and route.end > route.start + 100
    assert route.growth_per_minute > 60  # (12 - 10)/s = 120/min in theory


def test_stable_one_service_is_not_flagged() -> None:
    for seed in (1, 2):
        res = simulate(ONE, None, 300.0, seed=seed, sets=["routes.req.rate=7/s"])  # rho = 0.7
        assert res.saturated == []


def test_eco2_prod_at_nominal_load_is_not_flagged() -> None:
    assert simulate(PROD, None, 300.0, seed=1).saturated == []


def test_chat_tripled_flags_the_chat_queue_worker_and_route_with_evidence() -> None:
    res = simulate(PROD, {"chat": 6}, 300.0, seed=1)
    flagged = {s.component: s for s in res.saturated}
    assert set(flagged) == {"queue/chat-tasks", "workload/chat-worker", "route/chat"}
    q = flagged["queue/chat-tasks"]
    assert q.end > 5 * q.start and q.growth_per_minute > 50 and q.utilisation >= 0.98
    assert "chat-worker" in q.evidence and "->" in q.evidence
    chat = flagged["route/chat"]
    assert chat.metric == "e2e_p95" and chat.end > 2 * chat.start
    series = res.runs[0].series.values
    e2e = [v for v in series["route/chat/e2e_p95"] if v > 0]
    assert e2e[-1] > 3 * e2e[len(e2e) // 4]  # the per-interval end-to-end p95 climbs
    assert max(series["route/scan/e2e_p95"]) < 20  # scan's is stable
