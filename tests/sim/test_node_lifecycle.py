"""Node loss, the control plane, drains and rolling updates on the core's pods and scheduler.

Timings from FACTS.md: a Deployment pod on a lost node is replaced after grace +
tolerationSeconds + startup (grace counted from the kubelet's last status post,
noticed on the controller's 5 s monitor tick); a StatefulSet pod is not replaced;
nothing happens while the control plane is down.
"""

from __future__ import annotations

import simpy

from twin.graph.placement import Node
from twin.model.topology import PDB, Placement, Taint, Toleration
from twin.model.topology import Cluster as ClusterModel
from twin.sim.cluster import Cluster, Deployment
from twin.sim.node_lifecycle import (
    KUBELET_STATUS_PERIOD,
    NODE_MONITOR_PERIOD,
    NodeLifecycleController,
)
from twin.sim.pod import Pod
from twin.sim.rng import Streams

APP = Taint(key="workload-type", value="api", effect="NoSchedule")
API_PLACEMENT = Placement(node_selector={"node-pool": "app"},
                          tolerations=[Toleration(key="workload-type", value="api", effect="NoSchedule")])
DATA_PLACEMENT = Placement(node_selector={"node-pool": "data"})
STARTUP = 5.0


def node(name: str, pool: str, role: str = "worker", cpu: float = 4.0, taints=()) -> Node:
    labels = {"kubernetes.io/hostname": name, "node-pool": pool}
    return Node(name, pool, role, labels, tuple(taints), cpu, 16 * 2**30)


def world(version: str = "1.33", app_cpu: float = 4.0, seed: int = 1, tolerations=()):
    env = simpy.Environment()
    events: list[tuple[float, str, str, str]] = []
    emit = lambda *e: events.append(e)  # noqa: E731
    nodes = [
        node("k8s-master", "master", "control-plane"),
        node("k8s-worker-1", "app", cpu=app_cpu, taints=[APP]),
        node("k8s-worker-2", "app", cpu=app_cpu, taints=[APP]),
        node("k8s-storage", "data"),
    ]
    cluster = Cluster(env, nodes, emit)
    placement = API_PLACEMENT.model_copy(
        update={"tolerations": [*API_PLACEMENT.tolerations, *tolerations]})

    def api_pod(name: str) -> Pod:
        return Pod(name, "chat-api", "service", {"app": "chat-api"}, placement, 1.0, 2**30)

    def pg_pod(name: str) -> Pod:
        return Pod(name, "postgres", "store", {"app": "postgres"}, DATA_PLACEMENT, 0.5, 2**30)

    api = Deployment(cluster, "chat-api", "chat-api", "service", "Deployment", 2, api_pod,
                     startup=STARTUP)
    pg = Deployment(cluster, "postgres", "postgres", "store", "StatefulSet", 1, pg_pod,
                    startup=STARTUP)
    cluster.deployments = {"chat-api": api, "postgres": pg}
    api.reconcile(startup=0.0)
    pg.reconcile(startup=0.0)
    model = ClusterModel(name="eco2", kubernetes_version=version)
    ctl = NodeLifecycleController(env, cluster, model, emit, Streams(seed)("nodelifecycle"))
    return env, cluster, ctl, events


def ready_at(events, prefix: str, after: float) -> list[float]:
    return [t for t, src, ev, _ in events if ev == "Ready" and src.startswith(prefix) and t > after]


def test_deployment_pod_replaced_after_grace_toleration_and_startup():
    for version, grace in (("1.31", 40.0), ("1.33", 50.0)):
        for seed in range(5):
            env, cluster, ctl, events = world(version, seed=seed)
            env.run(until=100)
            lost = [p for p in cluster.pods_of("chat-api") if p.node.name == "k8s-worker-1"]
            assert len(lost) == 1
            ctl.node_down("k8s-worker-1")
            env.run(until=1000)
            (t,) = ready_at(events, "pod/chat-api", 100)
            expected = 100 + grace + 300 + STARTUP
            # the last status post was up to 10 s before the loss; the monitor ticks every 5 s
            assert expected - KUBELET_STATUS_PERIOD <= t <= expected + NODE_MONITOR_PERIOD, (version, t)
            replacement = next(p for p in cluster.pods_of("chat-api") if p.phase == "Ready"
                               and p.node.name == "k8s-worker-2" and p is not lost[0]
                               and p.created > 100)
            assert replacement is not None
            assert lost[0].phase == "Evicted"


def test_dead_pods_get_traffic_until_the_grace_period():
    env, cluster, ctl, events = world()
    seen: list[tuple[float, str, bool]] = []
    cluster.watch("chat-api", lambda pod, ready: seen.append((env.now, pod.name, ready)))
    env.run(until=100)
    ctl.node_down("k8s-worker-1")
    env.run(until=400)
    (t, _, ready) = seen[0]
    assert not ready
    assert 100 + 50 - KUBELET_STATUS_PERIOD <= t <= 100 + 50 + NODE_MONITOR_PERIOD


def test_own_toleration_seconds_override_the_default():
    short = Toleration(key="node.kubernetes.io/unreachable", operator="Exists", effect="NoExecute",
                       toleration_seconds=30)
    env, cluster, ctl, events = world(tolerations=[short])
    env.run(until=100)
    ctl.node_down("k8s-worker-1")
    env.run(until=1000)
    (t,) = ready_at(events, "pod/chat-api", 100)
    assert 100 + 50 + 30 + STARTUP - 10 <= t <= 100 + 50 + 30 + STARTUP + 5


def test_statefulset_pod_not_replaced():
    env, cluster, ctl, events = world()
    env.run(until=100)
    ctl.node_down("k8s-storage")
    env.run(until=5000)
    pods = cluster.pods_of("postgres")
    assert len(pods) == 1  # no second pod was ever created
    assert pods[0].node.name == "k8s-storage" and pods[0].phase != "Ready"
    assert any(ev == "TaintManagerEviction" and src == f"pod/{pods[0].name}"
               for _, src, ev, _ in events)
    ctl.node_up("k8s-storage")  # someone brings the node back
    env.run(until=5001)
    assert pods[0].phase == "Ready"


def test_nothing_rescheduled_while_the_control_plane_is_down():
    env, cluster, ctl, events = world()
    env.run(until=100)
    ctl.node_down("k8s-master")
    ctl.node_down("k8s-worker-1")
    env.run(until=2000)
    api = cluster.pods_of("chat-api")
    assert len(api) == 2, "a replacement was created without a control plane"
    dead = next(p for p in api if p.node.name == "k8s-worker-1")
    assert dead.phase == "Ready" and not dead.reachable  # still in the endpoints, getting traffic
    assert not any(ev in ("NodeNotReady", "TaintManagerEviction") for _, _, ev, _ in events)
    # the control plane returns: a fresh grace period, then the tolerationSeconds
    ctl.node_up("k8s-master")
    env.run(until=3000)
    (t,) = ready_at(events, "pod/chat-api", 2000)
    assert 2000 + 50 + 300 + STARTUP <= t <= 2000 + 50 + 300 + STARTUP + NODE_MONITOR_PERIOD


def test_replacement_pending_when_no_node_has_room():
    env, cluster, ctl, events = world(app_cpu=1.0)  # one api pod per node
    env.run(until=100)
    ctl.node_down("k8s-worker-1")
    env.run(until=1000)
    pending = [p for p in cluster.pods_of("chat-api") if p.phase == "Pending"]
    assert len(pending) == 1
    assert any(ev == "FailedScheduling" for _, _, ev, _ in events)


def test_drain_blocked_by_pod_disruption_budget():
    env, cluster, ctl, events = world()
    env.run(until=10)
    pdbs = {"chat-api": PDB(min_available=2)}
    proc = ctl.drain("k8s-worker-1", pdbs, timeout=60)
    env.run(until=100)
    assert proc.value is False
    assert len(ctl.blocked) == 13  # at 0, 5, ..., 60 s into the drain, then it gives up
    assert all(p.phase == "Ready" for p in cluster.pods_of("chat-api"))


def test_drain_evicts_while_the_budget_allows():
    env, cluster, ctl, events = world()
    env.run(until=10)
    proc = ctl.drain("k8s-worker-1", {"chat-api": PDB(min_available=1)})
    env.run(until=100)
    assert proc.value is True
    assert not ctl.blocked
    live = [p for p in cluster.pods_of("chat-api") if p.phase == "Ready"]
    assert len(live) == 2 and all(p.node.name == "k8s-worker-2" for p in live)


def test_drain_waits_for_the_replacement_with_max_unavailable_zero():
    # 3 pods, budget allows none down: the drain blocks; with max_unavailable 1 it proceeds
    env, cluster, ctl, events = world()
    cluster.deployments["chat-api"].scale(3)
    env.run(until=10)
    ctl.drain("k8s-worker-1", {"chat-api": PDB(max_unavailable=0)}, timeout=20)
    env.run(until=50)
    assert ctl.blocked
    env2, cluster2, ctl2, _ = world()
    cluster2.deployments["chat-api"].scale(3)
    env2.run(until=10)
    proc = ctl2.drain("k8s-worker-1", {"chat-api": PDB(max_unavailable=1)}, timeout=60)
    env2.run(until=100)
    assert proc.value is True


def _exposure(pre_stop: float) -> tuple[int, float]:
    env, cluster, ctl, events = world()
    dep = cluster.deployments["chat-api"]
    dep.scale(4)
    env.run(until=20)
    refused: list[float] = []

    def probe():  # a caller that sends a request to every endpoint pod each 0.1 s
        while True:
            for p in cluster.pods_of("chat-api"):
                if p.phase == "Ready" and not p.listening:
                    refused.append(env.now)
            yield env.timeout(0.1)

    env.process(probe())
    proc = ctl.rolling_update(dep, pre_stop=pre_stop, propagation=2.0)
    env.run(until=200)
    assert proc.processed
    live = [p for p in cluster.pods_of("chat-api") if p.phase == "Ready"]
    assert len(live) == 4 and all(p.created >= 20 for p in live)
    return len(refused), env.now


def test_rolling_update_without_pre_stop_refuses_requests_and_with_it_none():
    refused_without, _ = _exposure(0.0)
    refused_with, _ = _exposure(5.0)
    assert refused_without > 0
    assert refused_with == 0


def test_install_on_the_dev_topology_storage_node_loss():
    from twin.loading.files import load_topology
    from twin.sim.engine import Simulation
    from twin.sim.node_lifecycle import install

    sim = Simulation(load_topology("topologies/eco2-dev.yaml"), loads={"chat": 1}, duration=600,
                     seed=1)
    ctl = install(sim)
    sim.schedule(60, lambda s: ctl.node_down("k8s-storage"))
    sim.run()
    on_storage = [p for p in sim.cluster.pods if p.node is not None and p.node.name == "k8s-storage"]
    assert on_storage and all(p.phase != "Ready" for p in on_storage)
    assert any(e[2] == "NodeNotReady" and e[1] == "node/k8s-storage" for e in sim.events)


def test_a_closed_listener_refuses_at_once_and_envoy_retries_elsewhere():
    """RST on connect is Envoy's connect-failure, retried on another endpoint at once;
    only a vanished node leaves the caller waiting for the 10 s connect timeout."""
    from theory_helpers import topology

    from twin.sim.engine import Simulation

    latency = {}
    for attr in ("listening", "reachable"):
        topo = topology("retry-chain.yaml", "services.back.error_rate=0", "services.back.replicas=2")
        sim = Simulation(topo, duration=30.0, seed=4)
        sim.schedule(10.0, lambda s, attr=attr: setattr(s.cluster.pod("back-0"), attr, False))
        run = sim.run()
        assert run.routes["r"].errors == {}  # retried on back-1 either way
        latency[attr] = run.routes["r"].latency.max
    assert latency["listening"] < 0.5  # refused, retried after no wait
    assert latency["reachable"] >= 10.0  # the SYN went nowhere: connect timeout, then retry
