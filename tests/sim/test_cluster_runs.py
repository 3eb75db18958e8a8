"""Whole-cluster runs: Little's law everywhere, reproducibility, asynchronous routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from theory_helpers import topology

from twin.loading.files import load_topology
from twin.result.io import result_json
from twin.sim.api import run_replications, simulate
from twin.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "topologies" / "eco2-prod.yaml"


@pytest.fixture(scope="module")
def prod_run():
    return Simulation(load_topology(PROD), duration=900.0, seed=11, warmup=60.0).run()


def test_littles_law_for_every_pod_and_route(prod_run) -> None:
    checked = 0
    for name, pod in prod_run.pods.items():
        if pod.visits < 200:
            continue
        little = pod.throughput * pod.mean_sojourn
        assert abs(pod.in_system - little) <= max(0.05 * pod.in_system, 1e-3), (
            f"{name}: L {pod.in_system:.4g} but lambda W {little:.4g}")
        checked += 1
    assert checked >= 15
    for name, r in prod_run.routes.items():
        little = r.throughput * r.latency.mean
        assert abs(r.in_flight - little) <= max(0.05 * r.in_flight, 1e-3), (
            f"route {name}: L {r.in_flight:.4g} but lambda W {little:.4g}")


def test_littles_law_in_a_queueing_network() -> None:
    run = Simulation(topology("chain-with-branch.yaml"), duration=600.0, seed=2, warmup=50.0).run()
    for name in ("a-0", "b-0", "c-0"):
        pod = run.pods[name]
        assert abs(pod.in_system - pod.throughput * pod.mean_sojourn) <= 0.05 * pod.in_system
    r = run.routes["order"]
    assert abs(r.in_flight - r.throughput * r.latency.mean) <= 0.05 * r.in_flight


def test_prod_at_nominal_load_runs_clean(prod_run) -> None:
    assert prod_run.pending_pods == []
    for name, r in prod_run.routes.items():
        assert r.completed > 0.8 * r.arrivals, name
        assert r.error_rate < 0.01, (name, r.errors)
    # every chat is accepted, queued, worked on by chat-worker (LLM) and streamed back
    chat = prod_run.routes["chat"]
    assert chat.end_to_end is not None and chat.end_to_end.count > 0.9 * chat.arrivals
    llm = prod_run.externals["llm"]
    assert chat.end_to_end.p50 > 1.0 > chat.latency.p95  # accepted fast, answered after the LLM
    assert llm.calls >= 0.99 * chat.end_to_end.count  # (a few began before the warm-up ended)
    q = prod_run.queues["chat-tasks"]
    assert q.published >= q.delivered > 0.95 * q.published
    # 20 streamed events per chat pass event-router and reach sse-gateway
    assert prod_run.workloads["event-router"].visits >= 19 * chat.end_to_end_ok
    assert prod_run.streams_open > 0


def test_same_seed_gives_byte_identical_result_json() -> None:
    topo = load_topology(PROD)
    a = result_json(run_replications(topo, {"chat": 4}, 60.0, seed=5, replications=2))
    b = result_json(run_replications(topo, {"chat": 4}, 60.0, seed=5, replications=2))
    c = result_json(run_replications(topo, {"chat": 4}, 60.0, seed=6, replications=2))
    assert a == b
    assert a != c


def test_replications_give_t_intervals() -> None:
    res = simulate(ROOT / "topologies/examples/one-service.yaml", duration=300.0, seed=1,
                   replications=4, loads=["req=6"])
    est = res.aggregate["route/req/latency.mean"]
    assert est.n == 4 and est.half_width is not None and est.low < est.mean < est.high
    assert [r.replication for r in res.runs] == [0, 1, 2, 3]
    assert len({r.routes["req"].arrivals for r in res.runs}) > 1  # independent streams
    assert res.loads == {"req": "6/s"}


def test_load_profiles_shape_the_arrivals() -> None:
    topo = topology("one-service.yaml", "services.api.concurrency=64")
    step = Simulation(topo, ["req=20:step:start=2,at=100s"], duration=200.0, seed=1,
                      interval=10.0).run()
    thr = step.series.values["route/req/throughput"]
    before, after = sum(thr[:9]) / 9, sum(thr[11:]) / 9
    assert 1 < before < 3.5 and 16 < after < 24
    closed = Simulation(topo, ["req=users:10:think=1s"], duration=500.0, seed=1).run()
    # 10 users, 1 s think, 0.1 s service: X = 10 / (1 + 0.1)
    assert abs(closed.routes["req"].throughput - 10 / 1.1) < 0.5


def test_external_rate_limit_answers_429_and_queue_limits_refuse() -> None:
    topo = load_topology(ROOT / "topologies/eco2-dev.yaml", sets=[
        "externals.llm.rate_limit=5/s",
        "stores.rabbitmq.queues.chat-tasks.max_length=50",
        "stores.rabbitmq.queues.chat-tasks.overflow=reject-publish"])
    run = Simulation(topo, {"chat": 12}, duration=60.0, seed=3).run()
    chat = run.routes["chat"]
    llm = run.externals["llm"]
    # one chat-worker pod runs 4 tasks at once: the LLM sees at most ~4 / 2.8 s, under 5/s,
    # so the queue fills first and refuses publishes
    assert run.queues["chat-tasks"].rejected > 0
    assert chat.errors.get("queue_full", 0) == run.queues["chat-tasks"].rejected
    burst = Simulation(load_topology(ROOT / "topologies/eco2-dev.yaml", sets=[
        "externals.llm.rate_limit=2/s", "workers.chat-worker.concurrency=64"]),
        {"chat": 6}, duration=60.0, seed=3).run()
    limited = burst.externals["llm"].errors.get("rate_limited", 0)
    assert limited > 0.3 * burst.externals["llm"].calls
    assert burst.routes["chat"].end_to_end_errors.get("rate_limited", 0) == limited
    assert llm.calls > 0
