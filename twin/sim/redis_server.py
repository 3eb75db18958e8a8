"""One redis-server process: its role, its replication link and the writes its data holds.

The group (twin.sim.redis.RedisGroup) changes servers; sentinels (twin.sim.sentinel)
read them through INFO.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

import numpy as np
import simpy

from twin.model.base import Distribution
from twin.model.topology import Redis


class Replication(Protocol):
    """What a server's offset depends on: the clock and the store's replication lag."""

    env: simpy.Environment
    store: Redis


def sample(dist: Distribution, gen: np.random.Generator) -> float:
    """One draw of a model Distribution, in seconds."""
    kind = dist.dist
    if kind == "constant":
        return float(dist.value)
    if kind == "exponential":
        return float(gen.exponential(dist.mean)) if dist.mean > 0 else 0.0
    if kind == "uniform":
        return float(gen.uniform(dist.low, dist.high))
    if kind == "empirical":
        return float(dist.samples[int(gen.integers(len(dist.samples)))])
    if dist.median is not None and dist.p99 is not None:
        mu, sigma = np.log(dist.median), np.log(dist.p99 / dist.median) / 2.3263478740408408
    else:
        sigma = float(np.sqrt(np.log(1 + dist.cv**2)))
        mu = np.log(dist.mean) - sigma**2 / 2
    return float(gen.lognormal(mu, sigma))


def run_id(gen: np.random.Generator) -> str:
    """A 40-hex-digit run id, new at every start, as Redis draws one."""
    return "".join(f"{int(x):08x}" for x in gen.integers(0, 2**32, size=5))


class Server:
    """One redis-server process (a StatefulSet pod)."""

    def __init__(self, name: str, index: int, priority: int, gen: np.random.Generator):
        self.name = name
        self.index = index
        self.priority = priority
        self.gen = gen
        self.up = True
        self.run_id = run_id(gen)
        self.replica_of: str | None = None  # configured master; None: this is a master
        self.following: Server | None = None  # replication link up to this server
        self.offset = 0  # writes held, while not following
        self.link_down_since: float | None = None
        self.ack_master: Server | None = None  # whose min-replicas count still includes us
        self.last_ack = float("-inf")
        self.recent: deque[float] = deque()  # times of recent writes, for in-flight counts

    @property
    def role(self) -> str:
        return "master" if self.replica_of is None else "slave"

    def offset_now(self, group: Replication) -> int:
        """The replication offset INFO would report now."""
        if self.following is None:
            return self.offset
        lag = sample(group.store.replication_lag, self.gen)
        return max(0, self.following.offset_now(group) - self.following.in_flight(group.env.now, lag))

    def in_flight(self, now: float, lag: float) -> int:
        """Writes accepted in the last `lag` seconds: not yet on a replica."""
        n = 0
        for t in reversed(self.recent):
            if t <= now - lag:
                break
            n += 1
        return n
