"""Redis as the applications see it: Pub/Sub subscriptions, stream consumer groups
across a promotion, and the reconnect burst after CLIENT KILL."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from twin.loading.files import load_topology
from twin.sim import load
from twin.sim.engine import Simulation
from twin.sim.redis_clients import CONNECT_COMMANDS, attach

PROD = Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml"


@pytest.fixture(scope="module")
def prod():
    return load_topology(PROD)


def idle(topo, until: float = 20.0):
    """The prod cluster with no load, pods ready, Redis answered by its servers."""
    sim = Simulation(topo, load.Loads(), duration=400.0, seed=3, replication=0)
    rc = attach(sim)["redis"]
    sim.env.run(until=until)
    return sim, rc


def pods(sim, workload: str) -> list:
    return sorted((p for p in sim.cluster.pods if p.workload == workload and p.alive),
                  key=lambda p: p.name)


def fail_over(sim, rc) -> tuple[str, str]:
    """Crash the master; run until Sentinel has switched. (old, new)."""
    old = rc.crash()
    env = sim.env
    while rc.master() == old:
        env.run(until=env.now + 1.0)
    env.run(until=env.now + 0.001)
    return old, rc.master()


def test_subscription_dropped_by_a_crash_until_resubscribed_on_the_new_master(prod):
    sim, rc = idle(prod)
    router, sse = pods(sim, "event-router")[0], pods(sim, "sse-gateway")[0]
    assert rc.writable(router.name)  # the router's PUBLISH connection
    master = rc.master()
    assert rc.subscription(sse.name) == master
    assert rc.heard(router, sse, sim.env.now)
    rc.crash()
    assert rc.subs[sse.name] is None and rc.subscriptions_dropped >= 1
    crashed_at = sim.env.now
    while rc.master() == master:
        assert rc.subs[sse.name] is None  # Sentinel still names the dead master: no server takes it
        sim.env.run(until=sim.env.now + 0.01)
    switched = sim.env.now
    new = rc.master()
    while rc.subs[sse.name] is None:
        sim.env.run(until=sim.env.now + 0.05)
    assert rc.subs[sse.name] == new
    assert sim.env.now - switched <= 1.6  # one or two backoffs of at most 1 s
    assert switched - crashed_at >= prod.store("redis").sentinel.down_after
    rc.writable(router.name)
    assert rc.connected[router.name] == new and rc.heard(router, sse, sim.env.now)


def test_publish_reaches_subscribers_of_replicas_following_it(prod):
    sim, rc = idle(prod)
    router, sse = pods(sim, "event-router")[0], pods(sim, "sse-gateway")[0]
    rc.writable(router.name)
    replica = next(n for n, s in rc.group.servers.items() if s.replica_of is not None)
    rc.subs[sse.name] = replica
    assert rc.heard(router, sse, sim.env.now)  # PUBLISH travels the replication stream
    rc.connected[router.name] = replica
    rc.subs[sse.name] = rc.master()
    assert not rc.heard(router, sse, sim.env.now)  # a replica's PUBLISH stays on it


def fake_request():
    return SimpleNamespace(route=SimpleNamespace(events_duplicated=0))


@pytest.mark.parametrize("kept, duplicated, gone", [(0, 1, True), (1, 0, True), (2, 0, False)])
def test_stream_entries_across_a_promotion_follow_the_replica_offset(prod, kept, duplicated, gone):
    """e1 XADDed at p, PUBLISHed (no offset) and XACKed at p+1, e2 XADDed at p+2 and not
    yet read; the promoted replica holds writes up to p + kept."""
    sim, rc = idle(prod)
    worker, router = pods(sim, "chat-worker")[0], pods(sim, "event-router")[0]
    req = fake_request()
    assert rc.writable(worker.name)
    e1 = rc.added(worker, req)
    p = e1[2]
    assert rc.read(e1)
    assert rc.publishable(router.name)  # the PUBLISH: not a write, no offset
    rc.acked(e1, router)  # the XACK: write p + 1
    assert e1[6] == p + 1
    assert rc.writable(worker.name)
    e2 = rc.added(worker, req)
    assert e2[2] == p + 2
    old = rc.crash()
    for s in rc.group.servers.values():  # what the replicas had received when the master died
        if s.name != old:
            s.offset = p + kept
    fail_over(sim, rc)
    assert req.route.events_duplicated == duplicated
    assert rc.read(e2) is not gone


def test_every_pool_reconnecting_after_a_failover_is_work_on_the_new_master(prod):
    sim, rc = idle(prod)
    clients = [p for p in sim.cluster.pods if p.alive and p.workload in rc.how]
    for p in clients:
        rc.writable(p.name)
    queries = rc.sentinel_queries
    _, new = fail_over(sim, rc)
    sim.env.run(until=sim.env.now + 1.5)  # past every backoff
    start = sim.env.now
    for p in clients:
        assert rc.writable(p.name)
    pool = sum(p.pools["redis"].capacity for p in clients)
    assert rc.connections_opened == pool
    assert rc.sentinel_queries - queries >= len(clients)
    backlog = rc.thread_free[new] - start
    expected = pool * CONNECT_COMMANDS * prod.store("redis").service_time.expected
    assert 0.8 * expected <= backlog <= 1.2 * expected
    assert rc.stall(clients[0].name) == pytest.approx(backlog)  # an operation waits behind it
    sim.env.run(until=sim.env.now + backlog + 0.001)
    assert rc.stall(clients[0].name) <= 0


def test_events_published_while_subscribers_are_cut_off_are_lost_and_counted():
    """Through the flows: the subscribers' master cut off from the router, PUBLISH
    succeeds elsewhere with no one listening; the route counts the events lost."""
    from twin.scenario.loader import load as load_scenario
    from twin.scenario.sim_backend import run_replication

    root = Path(__file__).resolve().parents[2]
    loaded = load_scenario(root / "scenarios" / "redis-partition-minority-master.yaml")
    scn = loaded.scenario
    _, trace = run_replication(scn, loaded.topology, scn.seed, 0, lambda f: None)
    split = scn.fault("split")
    assert trace.value("route/chat.events_lost", "sum", scn.warmup, split.at) == 0
    lost = trace.value("route/chat.events_lost", "sum", split.at, split.end)
    assert lost >= 100
    assert trace.value("store/redis.subscriptions_dropped", "sum", 0, scn.duration) >= 1


def test_publish_on_a_replica_is_accepted_and_heard_there_only(prod):
    """PUBLISH is not a write command: a replica takes it (no READONLY) and only its
    own subscribers hear it; the XACK that follows is a write and gets READONLY."""
    sim, rc = idle(prod)
    router, sse = pods(sim, "event-router")[0], pods(sim, "sse-gateway")[0]
    replica = next(n for n, s in rc.group.servers.items() if s.replica_of is not None)
    rc.connected[router.name] = replica
    offsets = {n: s.offset for n, s in rc.group.servers.items()}
    assert rc.publishable(router.name)
    assert rc.errors.get("READONLY", 0) == 0
    assert {n: s.offset for n, s in rc.group.servers.items()} == offsets  # nothing replicated
    rc.subs[sse.name] = replica
    assert rc.heard(router, sse, sim.env.now)
    rc.subs[sse.name] = rc.master()
    assert not rc.heard(router, sse, sim.env.now)  # it does not reach the master
    entry = [sim.env.now, rc.master(), 0, 1, fake_request(), None, None]
    rc.acked(entry, router)
    assert rc.errors["READONLY"] == 1 and entry[5] is None  # XACK refused: still pending
    assert not rc.writable(router.name) and rc.errors["READONLY"] == 2  # a real write
