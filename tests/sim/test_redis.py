"""Redis servers: replication, min-replicas-to-write, persistence, what clients see."""

from __future__ import annotations

import time

import simpy

from twin.model.base import constant, exponential
from twin.model.topology import Persistence, Redis, Sentinel
from twin.sim.redis import NOREPLICAS, READONLY, REFUSED, TIMEOUT, RedisGroup
from twin.sim.rng import Streams


def redis_group(seed: int = 1, mode: str = "sentinel", servers: int = 3, rate: float = 0.0,
                **store: object) -> tuple[simpy.Environment, RedisGroup, list]:
    """A store with `rate` writes a second to the master Sentinel names."""
    env = simpy.Environment()
    extra = {"sentinel": Sentinel(down_after=5.0), "servers": servers} if mode == "sentinel" else {}
    model = Redis(kind="redis", name="redis", namespace="redis", mode=mode, **extra, **store)
    events: list = []
    group = RedisGroup(env, model, Streams(seed), lambda t, s, e, d: events.append((t, s, e, d)))
    if rate > 0:
        def writer():
            while True:
                yield env.timeout(1.0 / rate)
                group.write()
        env.process(writer())
    return env, group, events


def test_single_mode_crash_is_down_until_restart():
    env, group, events = redis_group(mode="single", rate=10)
    assert list(group.servers) == ["redis-0"] and not group.sentinels
    env.run(until=30)
    acked = group.acknowledged
    group.crash("redis-0")
    env.run(until=90)
    assert group.acknowledged == acked and group.refused[REFUSED] >= 599
    assert 59.9 <= group.write_failing_seconds <= 60.0
    group.restart("redis-0")
    env.run(until=100)
    assert group.write().ok
    assert 60.0 <= group.write_failing_seconds <= 60.2  # closed by the first success
    assert group.lost_acknowledged_writes == acked  # no persistence: came back empty
    assert group.counters()["acknowledged_writes_lost"] == acked
    assert not events  # no sentinels, no events


def test_persistence_keeps_data_across_a_restart():
    env, group, _ = redis_group(mode="single", rate=10, persistence=Persistence(enabled=True))
    env.run(until=30)
    group.crash("redis-0")
    env.run(until=40)
    group.restart("redis-0")
    env.run(until=50)
    assert group.lost_acknowledged_writes == 0


def test_client_errors():
    env, group, _ = redis_group()
    env.run(until=5)
    assert group.write().ok and group.write().server == "redis-0"
    assert group.write(target="redis-1").error == READONLY
    assert group.read(target="redis-1").ok  # replicas serve reads
    group.partition({"redis-0"}, {"app"})
    assert group.write(client_side="app").error == TIMEOUT
    group.heal()
    group.crash("redis-2")
    assert group.write(target="redis-2").error == REFUSED


def test_min_replicas_to_write_stops_a_minority_master():
    max_lag = 10.0
    for seed in range(5):
        env, group, _ = redis_group(seed, min_replicas_to_write=1, min_replicas_max_lag=max_lag)
        env.run(until=20)
        cut = env.now
        group.partition({"redis-0", "app"}, {"redis-1", "redis-2"})
        first_refusal = None
        while env.now < cut + 20:
            env.run(until=env.now + 0.01)
            r = group.write(target="redis-0", client_side="app")
            if not r.ok:
                assert r.error == NOREPLICAS
                first_refusal = first_refusal or env.now
            else:
                assert first_refusal is None  # once stopped it stays stopped
        # the last REPLCONF ACK (sent once a second) came at most 1 s before the cut
        assert cut + max_lag - 1.0 < first_refusal <= cut + max_lag + 0.011
    env, group, _ = redis_group(min_replicas_to_write=0)
    env.run(until=20)
    group.partition({"redis-0", "app"}, {"redis-1", "redis-2"})
    env.run(until=60)
    assert group.write(target="redis-0", client_side="app").ok  # off: never stops


def test_asynchronous_replication_loses_acknowledged_writes_on_failover():
    lost = []
    for seed in range(10):
        env, group, ev = redis_group(seed, rate=500, replication_lag=exponential(0.02))
        env.run(until=20)
        group.crash("redis-0")
        env.run(until=32)
        assert any(e == "+switch-master" for _, _, e, _ in ev)
        lost.append(group.lost_acknowledged_writes)
    # the replica with the best offset is the one with the shorter lag: the
    # minimum of two exponential(20 ms) lags has mean 10 ms, so about
    # 500/s x 10 ms = 5 writes (less half a write for the 2 ms spacing) in flight
    assert sum(n > 0 for n in lost) >= 7 and 1.5 <= sum(lost) / len(lost) <= 10
    env, group, ev = redis_group(1, rate=500, replication_lag=constant(0.0))
    env.run(until=20)
    group.crash("redis-0")
    env.run(until=32)
    assert any(e == "+switch-master" for _, _, e, _ in ev)
    assert group.acknowledged > 10_000 and group.lost_acknowledged_writes == 0


def test_notifications_tell_clients_to_rediscover():
    env, group, _ = redis_group(rate=10)
    seen: list = []
    group.subscribe(lambda kind, detail: seen.append((kind, detail)))
    env.run(until=20)
    group.crash("redis-0")
    env.run(until=60)
    kinds = [k for k, _ in seen]
    assert kinds[:2] == ["connections-killed", "server-down"]
    promoted = group.master_as_seen_by_sentinels()
    assert ("connections-killed", {"server": promoted, "cause": "client-kill",
                                   "by": next(d["by"] for k, d in seen if k == "connections-killed"
                                              and d["cause"] == "client-kill")}) in seen
    assert any(k == "switch-master" and d["to"] == promoted for k, d in seen)


def test_write_is_cheap():
    env, group, _ = redis_group(replication_lag=exponential(0.002))
    start = time.perf_counter()
    for i in range(200_000):
        if i % 100 == 0:
            env.run(until=env.now + 0.1)
        group.write()
    assert time.perf_counter() - start < 5.0
    assert len(group.servers["redis-0"].recent) < 2_000  # pruned to the in-flight horizon
