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
    from twin.scenario.runner import BackendMissing

    monkeypatch.setattr(redis_drill, "missing", lambda: ["redis-server"])
    with pytest.raises(BackendMissing) as e:
        local_backend.backend()
    assert "redis-server" in e.value.what and "apt-get install" in e.value.how


def test_failing_seconds_runs_from_a_failure_to_the_next_success():
    from twin.replica.local_backend import failing_seconds

    assert failing_seconds([(0.0, True), (1.0, False), (1.5, False), (3.0, True), (4.0, True)]) == 2.0
    assert failing_seconds([(0.0, True), (1.0, True)]) == 0.0


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
