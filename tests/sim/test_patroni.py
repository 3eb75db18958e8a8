"""PostgreSQL single against HA, and connection exhaustion, as FACTS.md gives them."""

from __future__ import annotations

import simpy

from twin.model.topology import PatroniTiming, Postgres
from twin.sim.patroni import ConnectionLimit, PostgresCluster
from twin.sim.rng import Streams


def cluster(mode: str = "single", replicas: int = 1, **kw) -> tuple[simpy.Environment, PostgresCluster, list]:
    env = simpy.Environment()
    store = Postgres(name="postgres", kind="postgres", namespace="postgres", mode=mode,
                     replicas=replicas, **kw)
    events: list = []
    pg = PostgresCluster(env, store, lambda *e: events.append(e), Streams(7)("store/postgres"))
    return env, pg, events


def test_single_stays_down_until_restarted():
    env, pg, _ = cluster()
    env.run(until=10)
    pg.fail()  # its node is gone
    env.run(until=3600)
    assert not pg.available
    pg.restart()  # someone acts
    env.run(until=3600 + pg.store.restart - 0.01)
    assert not pg.available
    env.run(until=3600 + pg.store.restart + 0.01)
    assert pg.available
    assert pg.outages == [(10, 3600 + pg.store.restart, "postgres-0")]


def test_single_container_crash_restarted_by_kubelet():
    env, pg, _ = cluster(restart="20s")
    env.run(until=5)
    pg.fail(restartable=True)
    env.run(until=24.9)
    assert not pg.available
    env.run(until=25.1)
    assert pg.available


def test_ha_failover_takes_ttl_plus_up_to_one_loop_wait():
    outages = []
    for seed in range(30):
        env = simpy.Environment()
        store = Postgres(name="postgres", kind="postgres", namespace="postgres", mode="ha", replicas=2)
        pg = PostgresCluster(env, store, lambda *e: None, Streams(seed)("store/postgres"))
        env.run(until=100)
        pg.fail()  # the primary's node dies: no restart
        env.run(until=99.9 + 30)
        assert not pg.available, "failover before the leader key's ttl"
        env.run(until=200)
        assert pg.available
        assert pg.primary is not None and pg.primary.name == "postgres-1"
        lost, back, _ = pg.outages[0]
        outages.append(back - lost)
    assert all(30.0 <= d <= 40.0 for d in outages)
    assert max(outages) - min(outages) > 5.0  # the loop phase spreads it over loop_wait


def test_ha_timing_comes_from_the_topology():
    env, pg, events = cluster("ha", 3, failover=PatroniTiming(ttl=20, loop_wait=5, retry_timeout=5))
    pg.fail()
    env.run(until=100)
    lost, back, _ = pg.outages[0]
    assert 20.0 <= back - lost <= 25.0
    assert [e[2] for e in events] == ["ServerDown", "LeaderKeyExpired", "Promoted"]


def test_ha_primary_back_before_ttl_keeps_its_role():
    env, pg, _ = cluster("ha", 2, restart="10s")
    pg.fail(restartable=True)
    env.run(until=100)
    assert pg.primary is not None and pg.primary.name == "postgres-0"
    assert pg.outages[0][1] - pg.outages[0][0] == 10.0


def test_ha_old_primary_rejoins_as_replica():
    env, pg, _ = cluster("ha", 2)
    pg.fail()
    env.run(until=100)
    pg.restart("postgres-0")
    env.run(until=200)
    assert pg.member("postgres-0").up and pg.member("postgres-0").role == "replica"
    assert pg.primary is not None and pg.primary.name == "postgres-1"


def test_failover_drops_every_connection():
    env, pg, _ = cluster("ha", 2)
    pg.connections.register("chat-api-0", 10, eager=10)
    assert pg.connections.in_use == 10
    pg.fail()
    assert pg.connections.in_use == 0


def test_connections_refused_past_max_connections():
    # 3 services scaled out to 11 pods with pools of 10 against max_connections 100
    limit = ConnectionLimit(100)
    granted = [limit.register(f"pod-{i}", 10, eager=10) for i in range(11)]
    assert granted == [10] * 10 + [0]
    assert limit.in_use == 100 and limit.demand() == 110
    assert limit.refused == 1  # the 11th pod's first attempt failed, and it stopped
    assert limit.acquire("pod-10") == "refused"
    assert limit.refused == 2
    # a pod with an open connection keeps working; one more than its pool waits in the pool
    for _ in range(10):
        assert limit.acquire("pod-0") == "ok"
    assert limit.acquire("pod-0") == "pool-exhausted"
    # a pod goes away: its slots serve the refused one
    limit.close("pod-3")
    assert limit.acquire("pod-10") == "ok"


def test_lazy_pools_fill_up_to_the_limit():
    limit = ConnectionLimit(100, reserved=3)
    results = []
    for i in range(12):
        limit.register(f"pod-{i}", 10)
        for _ in range(10):
            results.append(limit.acquire(f"pod-{i}"))
    assert results.count("ok") == 97
    assert results.count("refused") == 120 - 97
    assert limit.refused_by["pod-11"] == 10


def test_node_loss_through_the_node_lifecycle_controller():
    """Dev (single) on the storage node: down until the node is back; prod (HA) fails over."""
    from test_node_lifecycle import world  # pytest puts this folder on sys.path

    for mode, replicas in (("single", 1), ("ha", 2)):
        env, cluster, ctl, _ = world()
        store = Postgres(name="postgres", kind="postgres", namespace="postgres", mode=mode,
                         replicas=replicas)
        pg = PostgresCluster(env, store, lambda *e: None, Streams(1)("store/postgres"))
        pg.follow_nodes(ctl, cluster)
        env.run(until=100)
        ctl.node_down("k8s-storage")  # holds postgres-0, the primary
        env.run(until=1000)
        assert pg.available is (mode == "ha")
        assert pg.reachable("pod/chat-api-0") is pg.available
        ctl.node_up("k8s-storage")
        env.run(until=1100)
        assert pg.available
