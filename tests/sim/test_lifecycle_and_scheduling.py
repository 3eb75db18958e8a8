"""The scheduler's filters and the one pod lifecycle, on small topologies."""

from __future__ import annotations

from theory_helpers import topology

from twin.sim.engine import Simulation


def test_a_pod_that_fits_nowhere_stays_pending_and_the_result_says_so() -> None:
    # worker-1 has 4 CPUs: two pods asking 1.5 fit, the third does not
    topo = topology("one-service.yaml", "services.api.replicas=3",
                    "services.api.resources.requests.cpu=1500m")
    run = Simulation(topo, duration=10.0).run()
    assert run.pending_pods == ["api-2"]
    assert run.pods["api-2"].phase == "Pending" and run.pods["api-2"].node is None
    failed = [e for e in run.events if e.event == "FailedScheduling"]
    assert failed and "too little CPU" in failed[0].detail
    assert run.workloads["api"].pods_ready == 2 and run.workloads["api"].pods_pending == 1
    assert run.nodes["worker-1"].cpu_requested == 3.0


def test_taints_keep_pods_off_the_control_plane_and_anti_affinity_spreads() -> None:
    topo = topology("chain-with-branch.yaml", "services.a.replicas=3",
                    "services.a.placement={pod_anti_affinity: [{workloads: []}]}")
    run = Simulation(topo, duration=5.0).run()
    nodes = sorted(p.node for p in run.pods.values() if p.workload == "a" and p.node)
    assert nodes == ["worker-1", "worker-2"]  # never the tainted master, one per host
    assert run.pending_pods == ["a-2"]
    assert all(p.node != "master" for p in run.pods.values())


def test_killed_pod_is_replaced_through_the_lifecycle() -> None:
    topo = topology("one-service.yaml", "services.api.replicas=2", "services.api.startup=5s",
                    "routes.req.rate=30", "services.api.concurrency=4")
    sim = Simulation(topo, duration=60.0, seed=1)
    sim.schedule(20.0, lambda s: s.kill("pod/api-0"))
    run = sim.run()
    timeline = [(e.time, e.source, e.event) for e in run.events]
    assert (20.0, "pod/api-0", "Killed") in timeline
    ready = [t for t, src, ev in timeline if src == "pod/api-2" and ev == "Ready"]
    assert ready == [25.0]  # the replacement is scheduled at once, ready after startup
    assert run.pods["api-0"].phase == "Killed" and run.pods["api-2"].phase == "Ready"
    # requests inside the killed pod failed with a reset; the rest went to api-1
    assert run.routes["req"].errors.get("reset", 0) > 0
    assert run.routes["req"].ok > 0.95 * run.routes["req"].completed


def test_node_down_then_eviction_after_grace_and_toleration() -> None:
    topo = topology("chain-with-branch.yaml", "services.a.replicas=2",
                    "cluster.node_monitor_grace_period=40s", "cluster.default_toleration_seconds=60s")
    sim = Simulation(topo, duration=200.0, seed=1)
    node = next(p.node.name for p in sim.pods("a") if p.name == "a-0")
    sim.schedule(10.0, lambda s: s.node_down(node))
    run = sim.run()
    events = {(e.source, e.event): e.time for e in run.events}
    not_ready = events[(f"node/{node}", "NodeNotReady")]
    assert 10 + 40 - 10 <= not_ready <= 10 + 40 + 10  # grace, seen through 10 s status posts
    assert events[("pod/a-0", "Evicted")] == not_ready + 60  # the toleration seconds
    assert run.pods["a-0"].phase == "Evicted"
    assert run.workloads["a"].pods_ready == 2  # replaced on the other node
    assert run.routes["order"].errors  # calls to the lost node failed meanwhile


def test_store_down_fails_the_steps_that_need_it() -> None:
    from theory_helpers import EXAMPLES

    from twin.loading.files import load_topology

    topo = load_topology(EXAMPLES.parent / "eco2-dev.yaml")
    sim = Simulation(topo, {"login": 20}, duration=60.0, seed=1)
    sim.schedule(20.0, lambda s: s.stores["postgres"].crash("test", restart=10.0))
    run = sim.run()
    login = run.routes["login"]
    assert login.errors.get("store_down", 0) > 100  # 10 s of postgres reads failing
    assert [e.event for e in run.events if e.source == "store/postgres"] == ["StoreDown", "StoreUp"]


def test_postgres_max_connections_against_every_pods_pool() -> None:
    from theory_helpers import EXAMPLES

    from twin.loading.files import load_topology

    # prod's pools ask 165 connections; with 60 the pods that start last get none
    topo = load_topology(EXAMPLES.parent / "eco2-prod.yaml",
                         sets=["stores.postgres.max_connections=60"])
    run = Simulation(topo, duration=60.0, seed=1).run()
    assert run.stores["postgres"].connections == 60
    refused = {e.source for e in run.events if e.event == "TooManyConnections"}
    assert "pod/location-api-0" in refused and "pod/auth-api-0" not in refused
    assert run.routes["location"].errors == {"connection_limit": run.routes["location"].completed}
    assert run.routes["login"].errors == {}
