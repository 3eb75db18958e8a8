"""`redis writes failing for` is measured from the writes' own times, not from a
1 s gauge: a failover at down-after 1 s shows its milliseconds."""

from __future__ import annotations

import numpy as np
from scenario_texts import ROOT

from twin.scenario import loader
from twin.scenario.runner import execute
from twin.sim import redis_clients

CRASH = ROOT / "scenarios" / "redis-master-crash.yaml"


def _run(monkeypatch, seen: list[tuple[float, bool]]):
    """The scenario at down-after 1 s, every write's (time, acknowledged) seen from outside."""
    real = redis_clients.RedisClients._op

    def op(self, client: str, write: bool, publish: bool = False) -> bool:
        ok = real(self, client, write, publish)
        if write:
            seen.append((self.env.now, ok))
        return ok

    monkeypatch.setattr(redis_clients.RedisClients, "_op", op)
    return execute(loader.load(CRASH, ["scenario.replications=1", "scenario.duration=100s",
                                       "stores.redis.sentinel.down_after=1s"]))


def _outages(seen: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """From a refused write to the next acknowledged one, counted here independently."""
    out, since = [], None
    for t, ok in seen:
        if not ok and since is None:
            since = t
        elif ok and since is not None:
            out.append((since, t))
            since = None
    return out


def test_writes_failing_for_is_measured_from_the_writes_own_times(monkeypatch) -> None:
    seen: list[tuple[float, bool]] = []
    run = _run(monkeypatch, seen)
    crash = run.scenario.faults[0].at
    outages = _outages(seen)
    switch = min(e["t"] for e in run.timeline if e["event"] == "+switch-master")
    shown = run.impact["totals"]["redis writes failing for"]
    assert shown.endswith("s") and len(shown.split(".")[1]) == 4  # ms: `1.837s`
    failing = float(shown.rstrip("s"))
    assert abs(failing - sum(b - a for a, b in outages)) < 0.0015
    assert crash <= outages[0][0] < switch
    # about the failover's length, never a whole number of 1 s gauge buckets
    assert switch - crash - 0.5 < failing < switch - crash + redis_clients.RECONNECT_MAX
    assert abs(failing - round(failing)) > 0.001
    back = float(run.impact["totals"]["redis writes back after crash"].rstrip("s"))
    assert abs(back - (outages[-1][1] - crash)) < 0.0015
    assert switch - crash < back < switch - crash + redis_clients.RECONNECT_MAX


def test_the_gauge_is_the_fraction_of_each_bucket_writes_failed(monkeypatch) -> None:
    seen: list[tuple[float, bool]] = []
    run = _run(monkeypatch, seen)
    trace = run.observations[0]
    gauge = trace.gauges["store/redis.write_failing"]
    spans = trace.spans["store/redis.write_failing"]
    assert spans == _outages(seen)
    assert abs(float(np.nansum(gauge)) * trace.interval - sum(b - a for a, b in spans)) < 1e-6
    assert [g for g in gauge if 0 < g < 1]  # the outage starts and ends inside buckets
