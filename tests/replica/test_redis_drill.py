"""Real redis-server and redis-sentinel processes against the simulator's rules.

Needs the Debian packages redis-server and redis-sentinel; skips without them.
"""

from __future__ import annotations

import pytest

from twin.replica.redis_drill import missing, run_drill

pytestmark = [
    pytest.mark.servers,
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing()), reason=f"needs {', '.join(missing())} "
                       "(apt-get install -y redis-server redis-sentinel)"),
]

TICK = 0.1  # longest sentinel timer tick
SLACK = 0.3  # process scheduling on a busy CI machine

LEADER_STEPS = ["+try-failover", "+vote-for-leader", "+elected-leader",
                "+failover-state-select-slave", "+selected-slave",
                "+failover-state-send-slaveof-noone", "+failover-state-wait-promotion",
                "+promoted-slave", "+failover-state-reconf-slaves", "+slave-reconf-sent",
                "+slave-reconf-inprog", "+slave-reconf-done", "+failover-end", "+switch-master"]


def sim_leader_steps(down_after: float) -> list[str]:
    import simpy

    from twin.model.topology import Redis, Sentinel
    from twin.sim.redis import RedisGroup
    from twin.sim.rng import Streams

    env = simpy.Environment()
    events: list = []
    store = Redis(kind="redis", name="redis", namespace="redis", mode="sentinel", servers=3,
                  sentinel=Sentinel(down_after=down_after, failover_timeout=10.0))
    group = RedisGroup(env, store, Streams(1), lambda *e: events.append(e))
    env.run(until=10)
    group.crash("redis-0")
    env.run(until=30)
    leader = next(s for _, s, e, _ in events if e == "+elected-leader")
    return [e for _, s, e, _ in events if s == leader and e in LEADER_STEPS]


def test_real_failover_matches_the_simulated_rules():
    D = 1.0
    result = run_drill(down_after_ms=int(D * 1000), failover_timeout_ms=10000,
                       restart_old_master_after=1.0, watch=13.0)
    sdowns = [t for t, _, e, d in result.events if e == "+sdown" and d.get("type") == "master"]
    assert len(sdowns) == 3
    assert all(D < t <= D + 2 * TICK + SLACK for t in sdowns), sdowns
    odown = result.named("+odown")[0][0]
    assert D < odown <= D + 2 * TICK + 1.0 + 2 * TICK + SLACK
    leader = result.named("+elected-leader")[0][1]
    steps = [e for _, s, e, _ in result.events if s == leader and e in LEADER_STEPS]
    assert steps == LEADER_STEPS == sim_leader_steps(D)
    switch = result.named("+switch-master", leader)[0][0]
    start = result.named("+try-failover", leader)[0][0]
    assert switch - start <= 5 * TICK + 2 * (1.0 + TICK) + SLACK
    # the old master back: demoted on the first INFO after role_reported_time + 8 s
    converts = [t for t, _, e, d in result.events if e == "+convert-to-slave" and d.get("name") == "redis-0"]
    assert converts
    assert 8.0 < converts[0] - result.restarted_at <= 1.0 + TICK + 10.0 + TICK + SLACK
