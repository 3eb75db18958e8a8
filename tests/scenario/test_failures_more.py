"""More of issue 6 through scenarios: the variants the shipped files describe.

Each test runs a shipped scenario with a `--set` override (or the Simulation
behind it) and asserts the outcome that the other setting must change: a
poison message lost after one crash without acks_late, reject-publish failing
the publisher instead of dropping, prefetch 1 with acks_late ending the wait
behind a long task; and the canary left at its own replicas by the HPA.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.scenario.loader import load
from twin.scenario.runner import execute
from twin.sim import load as sim_load
from twin.sim.engine import Simulation

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def outcome(run, name: str) -> float:  # noqa: ANN001 - a runner Run
    """The value a check observed (one replication)."""
    (value,) = next(o for o in run.outcomes if o.name.startswith(name)).observed
    return value


def test_hpa_of_a_canaried_service_leaves_the_canary_at_its_replicas() -> None:
    topo = load_topology(str(ROOT / "topologies" / "eco2-prod.yaml"))
    sim = Simulation(topo, sim_load.Loads(), duration=40, seed=3)
    sim.run()
    deps = sim.cluster.deployments
    assert deps["chat-api-v1"].desired == 3
    assert deps["chat-api-v2"].desired == 1  # an HPA with min 3 on it would have made it 3
    assert [c.source for c in sim.hpas].count("hpa/chat-api-v1") == 1
    assert "hpa/chat-api-v2" not in [c.source for c in sim.hpas]


def test_poison_message_without_acks_late_is_lost_after_the_first_crash() -> None:
    run = execute(load(SCENARIOS / "poison-message.yaml",
                       ["workers.chat-worker.acks_late=false"]), replications=1)
    crashes = outcome(run, "the message goes round")
    assert crashes == 1  # one crash, then the message is gone
    lost = outcome(run, "with acks_late nothing is lost")
    assert lost >= 1  # the poison (and what the crashed worker was running)


def test_poison_message_with_acks_late_goes_round() -> None:
    run = execute(load(SCENARIOS / "poison-message.yaml"), replications=1)
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]
    assert outcome(run, "the message goes round") >= 4


def test_reject_publish_fails_the_publisher_and_drops_nothing() -> None:
    run = execute(load(SCENARIOS / "rabbitmq-queue-overflow.yaml",
                       ["stores.rabbitmq.queues.scan-tasks.overflow=reject-publish"]),
                  replications=1)
    assert outcome(run, "drop-head discards") == 0
    assert outcome(run, "the publisher is not told") > 0.5  # scan-api answers errors
    assert outcome(run, "the queue never passes") <= 30


def _scan_waits(sets: list[str]) -> tuple[float, float, int]:
    """Publish-to-start waits of scans (mean, share over 5 s) and PrefetchHeld events."""
    loaded = load(SCENARIOS / "celery-prefetch-long-task.yaml", sets)
    topo = loaded.topology
    rates = {r.name: 0.0 for r in topo.routes} | {"scan": 0.4}
    sim = Simulation(topo, rates, duration=600, seed=7, warmup=20)
    sim.run()
    held = sum(1 for e in sim.events if e[2] == "PrefetchHeld")
    wait = sim.queues["scan-tasks"].wait
    return wait.mean, wait.fraction_above(5.0), held


def test_prefetch_one_with_acks_late_ends_the_wait_behind_a_long_task() -> None:
    default_mean, default_slow, default_held = _scan_waits([])
    early_mean, early_slow, early_held = _scan_waits(["workers.scan-worker.prefetch=1"])
    fixed_mean, fixed_slow, fixed_held = _scan_waits(["workers.scan-worker.prefetch=1",
                                                      "workers.scan-worker.acks_late=true"])
    assert default_held >= 10 and fixed_held == 0
    assert early_held >= 5  # acked at start: prefetch 1 still reserves one behind the long task
    assert default_slow > 0.1  # one scan in ten waited over 5 s although a worker was free
    assert fixed_slow < default_slow / 2 and fixed_mean < default_mean / 2


def test_consumer_timeout_scenario_requeues_running_turns() -> None:
    run = execute(load(SCENARIOS / "rabbitmq-consumer-timeout.yaml"), replications=1)
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]
    # with the default 30 min timeout the same slow provider closes no channel
    run = execute(load(SCENARIOS / "rabbitmq-consumer-timeout.yaml",
                       ["stores.rabbitmq.consumer_timeout=30m"]), replications=1)
    assert outcome(run, "deliveries stay unacked") == 0


@pytest.mark.parametrize("name", ["node-drain-pdb", "rolling-update-prestop"])
def test_kubernetes_action_scenarios_hold(name: str) -> None:
    run = execute(load(SCENARIOS / f"{name}.yaml"), replications=1)
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]


def test_drain_without_the_blocking_budget_completes() -> None:
    run = execute(load(SCENARIOS / "node-drain-pdb.yaml",
                       ["services.sse-gateway.pdb.min_available=2"]), replications=1)
    assert outcome(run, "so the drain never completes") == 1
    assert outcome(run, "the sse-gateway eviction is refused") == 0


def _process_poison(tmp_path: Path, reject: bool) -> object:
    path = tmp_path / "poison-process.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: poison-process
topology: {ROOT / "topologies" / "eco2-prod.yaml"}
overrides:
  workers.chat-worker.acks_late: true
  workers.chat-worker.reject_on_worker_lost: {str(reject).lower()}
duration: 60s
load: {{rates: {{chat: 0.5/s}}, only: true}}
timeline:
  - {{id: poison, at: 10s, action: poison-message, target: worker/chat-worker, kills: process}}
checks:
  - {{name: crashes, event: PoisonMessage, window: poison..end, min: 1}}
  - {{name: pods stay, metric: worker/chat-worker.ready, stat: min, window: poison..end, min: 3}}
""", encoding="utf-8")
    return execute(load(path), replications=1)


def test_poison_killing_a_pool_process_goes_round_only_with_reject_on_worker_lost(
        tmp_path: Path) -> None:
    run = _process_poison(tmp_path, reject=True)
    assert outcome(run, "crashes") >= 20  # rejected back at once, 1 s per try, for 50 s
    assert outcome(run, "pods stay") == 3  # a child process dies, never the pod
    run = _process_poison(tmp_path, reject=False)
    assert outcome(run, "crashes") == 1  # WorkerLostError: Celery acks it, it is gone


def test_drain_for_a_while_uncordons_the_node(tmp_path: Path) -> None:
    path = tmp_path / "drain.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: drain-for
topology: {ROOT / "topologies" / "eco2-prod.yaml"}
duration: 60s
load: {{rates: {{login: 2/s}}, only: true}}
timeline:
  - {{id: drain, at: 10s, action: drain, target: node/k8s-worker-2, for: 30s}}
checks:
  - {{name: drained, event: Drained, window: drain..drain+5s, min: 1}}
  - {{name: uncordoned, event: NodeSchedulable, window: drain.end..drain.end+1s, min: 1}}
  - {{name: ready again, metric: node/k8s-worker-2.ready, stat: last, window: drain.end+1s..end,
     min: 1}}
""", encoding="utf-8")
    run = execute(load(path), replications=1)
    assert run.passed, [(o.name, o.observed) for o in run.outcomes]
