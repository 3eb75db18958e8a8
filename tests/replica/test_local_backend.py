"""`twin run --backend local`: a Redis scenario on real redis-server + redis-sentinel.

Needs the Debian packages redis-server and redis-sentinel; skips without them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.replica.redis_drill import missing

SCENARIO = """\
apiVersion: twin.eco2/v1
kind: Scenario
name: redis-local-crash
topology: {topology}
overrides:
  stores.redis.sentinel.down_after: 1s
  stores.redis.sentinel.failover_timeout: 10s
duration: 9s
warmup: 0s
seed: 1
replications: 1
timeline:
  - {{id: crash, at: 2s, action: redis-master-crash, target: store/redis}}
  - {{id: hpa, at: 3s, action: kill-pod, target: service/chat-api}}
checks:
  - name: sentinel reaches SDOWN after down-after
    event: +sdown
    source: sentinel
    stat: delay
    window: crash..end
    range: [1s, 1.5s]
  - name: a +switch-master within 6s of the crash
    event: +switch-master
    stat: delay
    window: crash..end
    max: 6s
  - name: chat error rate
    metric: route/chat.error_rate
    max: 0.5
"""


def test_backend_missing_says_what_to_install(monkeypatch):
    from twin.replica import local_backend, redis_drill
    from twin.result.backend import CannotRun

    monkeypatch.setattr(redis_drill, "missing", lambda: ["redis-server"])
    with pytest.raises(CannotRun) as e:
        local_backend.backend()
    assert "redis-server" in e.value.what and "apt-get install" in e.value.how


def test_failing_seconds_runs_from_a_failure_to_the_next_success():
    from twin.replica.local_backend import failing_seconds

    assert failing_seconds([(0.0, True), (1.0, False), (1.5, False), (3.0, True), (4.0, True)]) == 2.0
    assert failing_seconds([(0.0, True), (1.0, True)]) == 0.0


def test_failing_per_bucket_is_the_measured_time_not_whole_buckets():
    from twin.replica.local_backend import failing_per_bucket, failing_seconds

    # failing from 1.5 s to 4.25 s, then 6.0 s to the last write at 6.5 s
    samples = [(0.0, True), (1.5, False), (2.0, False), (4.25, True), (6.0, False), (6.5, False)]
    got = failing_per_bucket(samples, 1.0, 8)
    assert got == pytest.approx([0, 0.5, 1.0, 1.0, 0.25, 0, 0.5, 0])
    assert sum(got) * 1.0 == pytest.approx(failing_seconds(samples)) == 3.25
    # coarser buckets, same total: the report's `writes failing for` does not depend on them
    assert sum(failing_per_bucket(samples, 2.0, 4)) * 2.0 == pytest.approx(3.25)


def test_local_impact_is_writes_through_sentinel_with_no_routes():
    """What the report's impact section gets from a local trace: no route rows (nothing
    routes here), the store's failed writes, how long they failed (measured) and lost writes."""
    import numpy as np

    from twin.loading.files import load_topology
    from twin.replica.local_backend import LocalBackend, failing_per_bucket, failing_spans
    from twin.result.trace import Trace
    from twin.scenario.metrics import impact

    assert LocalBackend.real_time is True  # the CLI says "real time", not "simulated"
    topo = load_topology(Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml")
    samples = [(0.2, True), (2.3, False), (5.0, False), (7.6, True)]
    counters = {"store/redis.writes": np.array([1.0, 0, 1, 0, 0, 1, 0, 1, 0, 0]),
                "store/redis.write_errors": np.array([0.0, 0, 1, 0, 0, 1, 0, 0, 0, 0]),
                "store/redis.writes_lost": np.zeros(10)}
    gauges = {"store/redis.write_failing": np.array(failing_per_bucket(samples, 1.0, 10))}
    got = impact([Trace(1.0, counters, gauges)], topo, None)
    assert got["routes"] == {}
    assert got["totals"] == {"acknowledged redis writes lost": "0.0", "redis writes refused": "2.0",
                             "redis writes failing for": "5.300s"}
    # with the writes' own spans (as the backend's trace carries them): to the ms
    spans = {"store/redis.write_failing": failing_spans(samples)}
    got = impact([Trace(1.0, counters, gauges, spans=spans)], topo, None)
    assert got["totals"]["redis writes failing for"] == "5.300s"


@pytest.mark.servers
@pytest.mark.slow
@pytest.mark.skipif(bool(missing()), reason="needs redis-server and redis-sentinel")
def test_real_sentinel_failover_through_the_scenario_runner(tmp_path: Path):
    from twin.scenario.checks import HELD, NOT_APPLICABLE
    from twin.scenario.loader import load
    from twin.scenario.runner import execute

    topo = Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml"
    path = tmp_path / "redis-local-crash.yaml"
    path.write_text(SCENARIO.format(topology=topo))
    run = execute(load(path), backend="local")
    status = {o.name: o.status for o in run.outcomes}
    assert status["sentinel reaches SDOWN after down-after"] == HELD
    assert status["a +switch-master within 6s of the crash"] == HELD
    assert status["chat error rate"] == NOT_APPLICABLE  # no routes on real Redis alone
    assert run.result.result.backend == "local"
    events = run.result.result.runs[0].events
    assert any(e.event == "+switch-master" for e in events)
    assert any(e.event == "scenario:kill-pod" and "not applied" in e.detail for e in events)
    trace = run.observations[0]
    # writes through Sentinel fail from the kill until the clients find the new master
    failed = trace.value("store/redis.write_errors", "sum", 2.0, 9.0)
    assert failed > 0
    assert trace.value("store/redis.write_errors", "sum", 0.0, 2.0) == 0
    failing_ms = run.result.result.runs[0].stores["redis"].errors["write_failing_ms"]
    switch = trace.events("+switch-master")[0]
    assert 1000 <= failing_ms <= (switch - 2.0) * 1000 + 3000
    # the report's impact: no routes here; writes failing for the time measured, not whole buckets
    assert run.impact["routes"] == {}
    shown = float(run.impact["totals"]["redis writes failing for"].rstrip("s"))
    assert shown == pytest.approx(failing_ms / 1000, abs=0.0015)
    assert "acknowledged redis writes lost" in run.impact["totals"]
