"""The simulator's Sentinel events read like redis-sentinel's own: the same message
shapes (sentinel.c's `%@`), the same names, and the events the real one publishes
around a failover (`-role-change`, `+slave`, `+convert-to-slave`) appear in both.

REAL is what redis-sentinel 7.0.15 published (Pub/Sub, every channel) on this
machine's drill (twin.replica.redis_drill: down-after 1 s, failover-timeout 3 s,
the old master back after 1 s), master killed at t = 0.
"""

from __future__ import annotations

import re

import simpy

from twin.model.topology import Redis, Sentinel
from twin.replica.redis_drill import _Drill
from twin.result.events import SENTINEL, sentinel_message
from twin.sim.redis import RedisGroup
from twin.sim.rng import Streams

PORTS = {"39139": "redis-0", "36431": "redis-1", "51729": "redis-2", "43449": "sentinel/2"}
RUN_IDS = {"e7f2cfe6778067f6de9ecef71f3248f1734c1b1f": "sentinel/2"}
REAL = """\
sentinel/0 +sdown master mymaster 127.0.0.1 39139
sentinel/2 +sdown master mymaster 127.0.0.1 39139
sentinel/1 +sdown master mymaster 127.0.0.1 39139
sentinel/2 +odown master mymaster 127.0.0.1 39139 #quorum 2/2
sentinel/2 +new-epoch 1
sentinel/2 +try-failover master mymaster 127.0.0.1 39139
sentinel/2 +vote-for-leader e7f2cfe6778067f6de9ecef71f3248f1734c1b1f 1
sentinel/0 +new-epoch 1
sentinel/0 +vote-for-leader e7f2cfe6778067f6de9ecef71f3248f1734c1b1f 1
sentinel/1 +new-epoch 1
sentinel/1 +vote-for-leader e7f2cfe6778067f6de9ecef71f3248f1734c1b1f 1
sentinel/1 +odown master mymaster 127.0.0.1 39139 #quorum 3/2
sentinel/2 +elected-leader master mymaster 127.0.0.1 39139
sentinel/2 +failover-state-select-slave master mymaster 127.0.0.1 39139
sentinel/2 +selected-slave slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139
sentinel/2 +failover-state-send-slaveof-noone slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139
sentinel/2 +failover-state-wait-promotion slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139
sentinel/0 +odown master mymaster 127.0.0.1 39139 #quorum 3/2
sentinel/0 -role-change slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139 new reported role is master
sentinel/2 -role-change slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139 new reported role is master
sentinel/2 +promoted-slave slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139
sentinel/2 +failover-state-reconf-slaves master mymaster 127.0.0.1 39139
sentinel/1 -role-change slave 127.0.0.1:36431 127.0.0.1 36431 @ mymaster 127.0.0.1 39139 new reported role is master
sentinel/2 +slave-reconf-sent slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 39139
sentinel/0 +config-update-from sentinel e7f2cfe6778067f6de9ecef71f3248f1734c1b1f 127.0.0.1 43449 @ mymaster 127.0.0.1 39139
sentinel/0 +switch-master mymaster 127.0.0.1 39139 127.0.0.1 36431
sentinel/0 +slave slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 36431
sentinel/0 +slave slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/1 +config-update-from sentinel e7f2cfe6778067f6de9ecef71f3248f1734c1b1f 127.0.0.1 43449 @ mymaster 127.0.0.1 39139
sentinel/1 +switch-master mymaster 127.0.0.1 39139 127.0.0.1 36431
sentinel/1 +slave slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 36431
sentinel/1 +slave slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/2 +slave-reconf-inprog slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 39139
sentinel/2 +slave-reconf-done slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 39139
sentinel/1 +sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/0 +sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/2 -odown master mymaster 127.0.0.1 39139
sentinel/2 +failover-end master mymaster 127.0.0.1 39139
sentinel/2 +switch-master mymaster 127.0.0.1 39139 127.0.0.1 36431
sentinel/2 +slave slave 127.0.0.1:51729 127.0.0.1 51729 @ mymaster 127.0.0.1 36431
sentinel/2 +slave slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/2 +sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/1 -role-change slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431 new reported role is master
sentinel/0 -role-change slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431 new reported role is master
sentinel/2 -role-change slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431 new reported role is master
sentinel/1 -sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/0 -sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/2 -sdown slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/1 +convert-to-slave slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431
sentinel/0 +role-change slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431 new reported role is slave
sentinel/2 +role-change slave 127.0.0.1:39139 127.0.0.1 39139 @ mymaster 127.0.0.1 36431 new reported role is slave

"""


def _mapped(data: str) -> str:
    """A real message with its addresses in the simulator's names and default ports,
    rewritten here by pattern, independently of sentinel_message."""
    def addr(m: re.Match) -> str:
        name = PORTS[m.group(2)]
        host = name.replace("/", "-")
        return f"{host}{m.group(1)}{26379 if name.startswith('sentinel') else 6379}"

    for rid, name in RUN_IDS.items():
        data = data.replace(rid, name)
    data = re.sub(r"127\.0\.0\.1:(\d+)", lambda m: f"{PORTS[m.group(1)]}:6379", data)
    return re.sub(r"127\.0\.0\.1( )(\d+)", addr, data)


def _real() -> list[tuple[str, str, str]]:
    out = []
    for line in filter(None, REAL.splitlines()):
        source, event, data = line.split(" ", 2)
        out.append((source, event, data.strip()))
    return out


def test_the_local_backend_writes_the_real_messages_in_the_simulators_names() -> None:
    drill = _Drill.__new__(_Drill)  # the parser alone: no processes
    drill.names = {f"127.0.0.1:{p}": n for p, n in PORTS.items()}
    drill.run_ids = dict(RUN_IDS)
    for source, event, data in _real():
        _, _, _, detail = drill.event(0.0, source, event, data)
        assert sentinel_message(event, detail) == _mapped(data), (event, data)


def _shape(text: str) -> str:
    """A message with its names and numbers abstracted: what must match."""
    text = re.sub(r"sentinel[/-]\d", "S", text)
    text = re.sub(r"redis-\d", "R", text)
    return re.sub(r"\b\d+(/\d+)?\b", "N", text)


def _simulated() -> list[tuple[float, str, str, str]]:
    """The drill's story on the simulator: master crashed, back after 1 s."""
    env = simpy.Environment()
    events: list = []
    store = Redis(kind="redis", name="redis", namespace="redis", mode="sentinel", servers=3,
                  sentinel=Sentinel(down_after=1.0, failover_timeout=3.0))
    group = RedisGroup(env, store, Streams(3), lambda *e: events.append(e))
    env.run(until=10)
    group.crash("redis-0")
    env.run(until=12.5)
    group.restart("redis-0")
    env.run(until=40)
    return [(t, s, e, sentinel_message(e, d)) for t, s, e, d in events]


def test_the_simulator_writes_every_event_in_the_real_shapes() -> None:
    real: dict[str, set[str]] = {}
    for _, event, data in _real():
        real.setdefault(event, set()).add(_shape(_mapped(data)))
    # `%@` about another instance than the real run's (the old master back before the
    # leader's failover ended: `-sdown master ...`) is still one of the real forms
    instances = {_shape(_mapped(d)).split(" #")[0].split(" new ")[0] for _, e, d in _real()
                 if d.startswith(("master ", "slave ", "sentinel "))}
    sim = _simulated()
    seen = {e for _, _, e, _ in sim}
    assert set(real) <= seen, set(real) - seen  # -role-change, +slave, +convert-to-slave too
    for _, _, event, text in sim:
        assert event in SENTINEL
        if event in real:
            assert _shape(text) in real[event] or (
                _shape(text) in instances and all(
                    sh.startswith(("master ", "slave ", "sentinel ")) for sh in real[event])), (
                event, text, real[event])
    assert not any("name=" in text for *_, text in sim)


def test_a_restarted_replica_is_a_reboot() -> None:
    """INFO shows a new run id: `+reboot`, with the instance in `%@` form."""
    env = simpy.Environment()
    events: list = []
    store = Redis(kind="redis", name="redis", namespace="redis", mode="sentinel", servers=3,
                  sentinel=Sentinel(down_after=30.0, info_period=1.0))
    group = RedisGroup(env, store, Streams(1), lambda *e: events.append(e))
    env.run(until=10)
    group.crash("redis-1")
    env.run(until=10.5)
    group.restart("redis-1")
    env.run(until=15)
    reboots = [(s, sentinel_message(e, d)) for _, s, e, d in events if e == "+reboot"]
    assert {s for s, _ in reboots} == {"sentinel/0", "sentinel/1", "sentinel/2"}
    assert {m for _, m in reboots} == {"slave redis-1:6379 redis-1 6379 @ mymaster redis-0 6379"}
