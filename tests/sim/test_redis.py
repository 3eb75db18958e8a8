"""Redis servers: replication, min-replicas-to-write, persistence, what clients see."""

from __future__ import annotations

import math

import simpy
from theory_helpers import tolerance

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
    """The promoted replica lacks the writes younger than its lag at the crash.

    Each replica's lag is exponential(20 ms), drawn when the link drops; Sentinel
    promotes the best offset, so a write of age a is lost with probability
    P(min of two lags > a) = exp(-2a / 20 ms). Expected loss: that sum over the
    writes (500/s: about 4.5). Over 1000 crashes the tolerance (the larger of 5 %
    and three 95 % half-widths) is about a fifth of it: a model 2x off fails.
    """
    lag, crash_at = 0.02, 1.0
    lost, expected = [], []
    for seed in range(1000):
        env, group, ev = redis_group(seed, replication_lag=exponential(lag))
        acked: list[float] = []

        def writer(env=env, group=group, acked=acked):
            while env.now < crash_at - 0.001:
                yield env.timeout(0.002)
                if group.write().ok:
                    acked.append(env.now)
        env.process(writer())
        env.run(until=crash_at)
        group.crash("redis-0")
        lost.append(group.lost_acknowledged_writes)
        expected.append(sum(math.exp(-2 * (crash_at - t) / lag) for t in acked))
        if seed < 5:  # the failover keeps exactly the best copy the crash left
            env.run(until=crash_at + 8)
            assert any(e == "+switch-master" for _, _, e, _ in ev)
            assert group.lost_acknowledged_writes == lost[-1]
    want = sum(expected) / len(expected)
    mean, allowed = tolerance(lost, want)
    assert 4 < want < 5.5
    assert allowed < 0.3 * want, allowed
    assert abs(mean - want) <= allowed, (mean, want, allowed)
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


def test_recent_writes_are_pruned_to_the_in_flight_horizon():
    env, group, _ = redis_group(replication_lag=exponential(0.002))
    for i in range(20_000):
        if i % 100 == 0:
            env.run(until=env.now + 0.1)
        group.write()
    assert len(group.servers["redis-0"].recent) < 2_000
