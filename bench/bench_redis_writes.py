"""Redis writes per second through RedisGroup.write, against a plain Python loop.

A figure, not a timed test: `python bench/bench_redis_writes.py` prints the
writes per wall second and their ratio to a counter loop measured in the same
run (so the ratio, not the machine, is what to compare between commits).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twin.model.base import exponential  # noqa: E402
from twin.model.topology import Redis, Sentinel  # noqa: E402
from twin.sim.redis import RedisGroup  # noqa: E402
from twin.sim.rng import Streams  # noqa: E402

N = 200_000


def writes_per_second() -> tuple[float, int]:
    env = simpy.Environment()
    model = Redis(kind="redis", name="redis", namespace="redis", mode="sentinel",
                  sentinel=Sentinel(down_after=5.0), servers=3, replication_lag=exponential(0.002))
    group = RedisGroup(env, model, Streams(1), lambda *_: None)
    start = time.perf_counter()
    for i in range(N):
        if i % 100 == 0:
            env.run(until=env.now + 0.1)
        group.write()
    took = time.perf_counter() - start
    return N / took, len(group.servers["redis-0"].recent)


def counter_per_second() -> float:
    """The baseline: a Python loop that only counts, as cheap as a write could be."""
    counts: dict[str, int] = {}
    start = time.perf_counter()
    for i in range(N):
        counts["w"] = counts.get("w", 0) + i % 2
    return N / (time.perf_counter() - start)


def main() -> None:
    base = counter_per_second()
    rate, recent = writes_per_second()
    print(f"counter loop: {base:,.0f}/s")
    print(f"redis writes: {rate:,.0f}/s (ratio {rate / base:.3f} of the counter loop); "
          f"recent-write deque held {recent} entries")


if __name__ == "__main__":
    main()
