"""Issue 6's failures through a full Simulation and through scenario actions.

The Simulation runs without traffic where only timings matter (fast); each
assertion is a timing or an outcome that the wrong wiring would change: the
core's own fixed timers, a ReplicaSet that ignores the control plane, a
StatefulSet that replaces its pods, an alarm that errors instead of blocking.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.loading.files import load_topology
from twin.model.topology import Topology
from twin.scenario.loader import load
from twin.scenario.model import Action
from twin.sim import load as sim_load
from twin.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prod() -> Topology:
    return load_topology(str(ROOT / "topologies" / "eco2-prod.yaml"))


def quiet(topo: Topology, duration: float, seed: int = 3) -> Simulation:
    return Simulation(topo, sim_load.Loads(), duration=duration, seed=seed)


def events(sim: Simulation, event: str, source: str | None = None) -> list[tuple[float, str, str]]:
    return [(t, s, d) for t, s, e, d in sim.events
            if e == event and (source is None or s == source)]


def test_deployment_pod_on_lost_node_replaced_after_grace_toleration_startup(prod: Topology) -> None:
    sim = quiet(prod, 500)
    lost = "k8s-worker-1"
    pod = next(p for p in sim.cluster.nodes[lost].pods if p.workload == "auth-api")
    sim.schedule(20, lambda s: s.node_down(f"node/{lost}"))
    sim.run()
    grace = prod.cluster.grace_period
    (t_nr, _, _), = events(sim, "NodeNotReady", f"node/{lost}")
    # last kubelet status up to 10 s before the loss, noticed at the next 5 s monitor tick
    assert 20 + grace - 10 <= t_nr <= 20 + grace + 5
    (t_ev, _, _), = events(sim, "Evicted", pod.component)
    assert t_ev == pytest.approx(t_nr + prod.cluster.default_toleration_seconds, abs=5.01)
    replacement = [p for p in sim.pods("auth-api") if p.created == t_ev and p is not pod]
    assert len(replacement) == 1
    startup = prod.service("auth-api").startup
    assert replacement[0].ready_at == pytest.approx(t_ev + startup)
    assert replacement[0].node.name != lost


def test_statefulset_pod_on_lost_node_is_not_replaced(prod: Topology) -> None:
    sim = quiet(prod, 450)
    sim.schedule(10, lambda s: s.node_down("node/k8s-storage"))
    sim.run()
    names = {p.name for p in sim.cluster.pods if p.workload == "store-postgres"}
    assert names == {"postgres-0", "postgres-1"}  # no postgres-2
    assert events(sim, "TaintManagerEviction", "pod/postgres-0")  # deleted, never confirmed
    assert not events(sim, "Evicted", "pod/postgres-0")
    assert not sim.stores["postgres"].reachable("pod/auth-api-0")
    assert not events(sim, "Promoted")  # both Patroni members were on the node


def test_nothing_replaced_or_rescheduled_while_the_control_plane_is_down(prod: Topology) -> None:
    sim = quiet(prod, 200)
    sim.schedule(10, lambda s: s.control_plane.down("test"))
    sim.schedule(20, lambda s: s.kill("pod/auth-api-0"))
    sim.schedule(30, lambda s: s.node_down("node/k8s-worker-2"))
    sim.schedule(120, lambda s: s.control_plane.up("test"))
    sim.run()
    scheduled = [t for t, _, _ in events(sim, "Scheduled")]
    assert scheduled and min(scheduled) == pytest.approx(120)
    assert not [t for t, _, _ in events(sim, "NodeNotReady") if t < 120]
    (t_nr, _, _), = events(sim, "NodeNotReady", "node/k8s-worker-2")
    assert 120 + prod.cluster.grace_period <= t_nr <= 120 + prod.cluster.grace_period + 5


def test_hpa_and_patroni_are_wired(prod: Topology) -> None:
    sim = quiet(prod, 120)
    assert {c.source for c in sim.hpas} >= {"hpa/chat-worker", "hpa/auth-api"}
    pg = sim.postgres["postgres"]
    sim.schedule(10, lambda s: pg.fail())
    sim.run()
    (t, _, _), = events(sim, "Promoted")
    timing = prod.store("postgres").failover
    assert 10 + timing.ttl <= t <= 10 + timing.ttl + timing.loop_wait
    assert sim.stores["postgres"].reachable("pod/auth-api-0")


def test_memory_alarm_blocks_publishes_until_it_clears(tmp_path: Path) -> None:
    path = tmp_path / "alarm.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: alarm
topology: {ROOT / "topologies" / "eco2-prod.yaml"}
duration: 70s
load: {{rates: {{chat: 4/s}}, only: true}}
timeline:
  - {{id: alarm, at: 20s, action: rabbitmq-memory-alarm, for: 30s}}
checks:
  - {{name: no publish gets through, metric: queue/chat-tasks.published, stat: sum,
     window: alarm+1s..alarm.end-1s, max: 0}}
  - {{name: chat times out, metric: route/chat.error_rate, window: alarm+11s..alarm.end, min: 0.9}}
  - {{name: publishes resume, metric: queue/chat-tasks.published, stat: sum,
     window: alarm.end..end, min: 40}}
""", encoding="utf-8")
    from twin.scenario.runner import execute

    run = execute(load(path))
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]


@pytest.mark.parametrize(("fields", "message"), [
    ({"action": "mesh-fault", "target": "service/image-api"}, "needs delay, abort_status"),
    ({"action": "external-slow", "target": "external/llm"}, "needs factor"),
    ({"action": "worker-crash"}, "needs target"),
    ({"action": "control-plane-down", "target": "node/k8s-master"}, "takes no target"),
])
def test_actions_say_what_they_need(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Action.model_validate({"at": 10, **fields})


def test_loader_refuses_a_broker_fault_on_postgres(tmp_path: Path) -> None:
    from twin.model.errors import ModelError

    path = tmp_path / "bad.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: bad
topology: {ROOT / "topologies" / "eco2-prod.yaml"}
duration: 30s
timeline:
  - {{at: 5s, action: broker-down, target: store/postgres}}
""", encoding="utf-8")
    with pytest.raises(ModelError, match="rabbitmq"):
        load(path)


def test_mesh_delay_injection_adds_its_delay_while_it_lasts(tmp_path: Path) -> None:
    path = tmp_path / "delay.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: delay
topology: {ROOT / "topologies" / "eco2-prod.yaml"}
duration: 60s
load: {{rates: {{location: 5/s}}, only: true}}
timeline:
  - {{id: slow, at: 20s, action: mesh-fault, target: service/location-api, delay: 2s, for: 20s}}
checks:
  - {{name: fast before, metric: route/location.p50, window: 5s..slow, max: 0.5}}
  - {{name: delayed, metric: route/location.p50, window: slow+3s..slow.end, range: [2, 2.5]}}
  - {{name: fast after, metric: route/location.p50, window: slow.end+3s..end, max: 0.5}}
""", encoding="utf-8")
    from twin.scenario.runner import execute

    run = execute(load(path))
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]
