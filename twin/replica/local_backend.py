"""The `local` backend: a Redis scenario on real redis-server and redis-sentinel processes.

The on-call question "is the simulator's failover timeline what real Sentinel
does?" answered on this machine: the drill of twin.replica.redis_drill (three
servers, three sentinels on 127.0.0.1, the store's down-after, failover-timeout
and quorum) runs the scenario's timeline in real time. The Redis actions of its
table APPLIED are applied (redis-master-crash, redis-restart-empty, sentinel-down,
with their `for`), the others noted as not applied; a few client threads write
through Sentinel with redis-py, as the applications' Sentinel-aware pools do, so
failed writes and how long they fail are measured; every sentinel's events are
recorded in Sentinel's own words under the simulator's names.
Routes, pods and queues are not here: checks on them are "not applicable".
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from twin.model.topology import Redis, Topology
from twin.replica import redis_drill
from twin.result import events as names
from twin.result.backend import BackendRun, CannotRun, Observes, Progress, bucket_for

WRITERS = 4  # client threads writing through Sentinel
WRITE_EVERY = 0.02  # s between one writer's writes
CLIENT_TIMEOUT = 0.5  # s, socket and connect timeout of the writers' connections
KEY = "twin:acknowledged"


class Writers:
    """Threads INCRementing one key through Sentinel: every acknowledged INCR is a
    write the final value must hold, every exception a failed write."""

    def __init__(self, sentinel_ports: list[int], master_name: str, t0: float):
        from redis.sentinel import Sentinel

        self.sentinel = Sentinel([("127.0.0.1", p) for p in sentinel_ports],
                                 socket_timeout=CLIENT_TIMEOUT, socket_connect_timeout=CLIENT_TIMEOUT)
        self.master_name = master_name
        self.t0 = t0
        self.samples: list[tuple[float, bool]] = []  # (seconds from t0, acknowledged)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(WRITERS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _run(self) -> None:
        master = self.sentinel.master_for(self.master_name, socket_timeout=CLIENT_TIMEOUT,
                                          socket_connect_timeout=CLIENT_TIMEOUT)
        while not self.stop.is_set():
            try:
                master.incr(KEY)
                ok = True
            except Exception:  # noqa: BLE001 - connection refused, timeout, READONLY: a failed write
                ok = False
            with self.lock:
                self.samples.append((time.monotonic() - self.t0, ok))
            self.stop.wait(WRITE_EVERY)

    def finish(self) -> int | None:
        """Stop writing; the value the master Sentinel names holds (None: no master)."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        try:
            value = self.sentinel.master_for(self.master_name, socket_timeout=2).get(KEY)
        except Exception:  # noqa: BLE001 - no master to ask
            return None
        return int(value or 0)


def failing_spans(samples: list[tuple[float, bool]]) -> list[tuple[float, float]]:
    """(start, end): from a failed write to the next acknowledged one (or the last write)."""
    spans, since = [], None
    ordered = sorted(samples)
    for t, ok in ordered:
        if not ok and since is None:
            since = t
        elif ok and since is not None:
            spans.append((since, t))
            since = None
    if since is not None:
        spans.append((since, ordered[-1][0]))
    return spans


def failing_seconds(samples: list[tuple[float, bool]]) -> float:
    """Time from a failed write to the next acknowledged one, summed."""
    return sum(end - start for start, end in failing_spans(samples))


def failing_per_bucket(samples: list[tuple[float, bool]], interval: float, n: int) -> list[float]:
    """The fraction of each bucket writes were failing: the report's `writes failing for`
    (sum x interval) is then the measured time, not whole buckets that saw one error."""
    out = [0.0] * n
    for start, end in failing_spans(samples):
        for i in range(max(0, int(start // interval)), min(n, int(end // interval) + 1)):
            lo, hi = max(start, i * interval), min(end, (i + 1) * interval)
            if hi > lo:
                out[i] += (hi - lo) / interval
    return out


OBSERVES = Observes(
    # Sentinel's Pub/Sub events, what the backend says of faults it could not apply,
    # and what the writers measure
    events=names.SENTINEL | names.BACKENDS,
    metrics=tuple(f"store/*.{m}" for m in ("writes", "write_errors", "writes_lost",
                                            "write_failing", "write_error_rate")),
    series=False,  # no time series: saturation checks are not applicable
    canary=False,  # the canary section's weights are never moved here
)


class LocalBackend:
    name = "local"
    observes = OBSERVES
    real_time = True
    """The run takes the scenario's duration on the wall clock (per replication): nothing is simulated."""

    def run(self, scenario: Any, topology: Topology, seed: int, replications: int,
            progress: Progress) -> BackendRun:
        from twin.result.replications import replicate

        store = _redis_store(topology, scenario)
        interval = bucket_for(scenario.duration)
        return replicate(lambda rep, step: self.replication(scenario, store, seed, rep, interval, step),
                         replications, seed, progress, note=" (real time)", backend="local",
                         topology=str(scenario.topology), scenario=scenario.name,
                         duration=scenario.duration, warmup=scenario.warmup, interval=interval)

    def replication(self, scn: Any, store: Redis, seed: int, rep: int, interval: float,
                    progress: Any) -> tuple[Any, Any]:
        import tempfile
        from pathlib import Path

        import numpy as np

        from twin.result.model import Event, ReplicationResult, StoreMetrics
        from twin.result.trace import Trace

        sentinel = store.sentinel
        with tempfile.TemporaryDirectory(prefix="twin-local-") as tmp:
            drill = redis_drill._Drill(Path(tmp), int(sentinel.down_after * 1000),  # noqa: SLF001
                                       int(sentinel.failover_timeout * 1000), sentinel.quorum,
                                       sentinel.master_name)
            try:
                drill.start()
                drill.raw.clear()
                t0 = time.monotonic()
                writers = Writers(drill.sentinel_ports, sentinel.master_name, t0)
                writers.start()
                acts = self._schedule(scn, drill, t0)
                while (now := time.monotonic() - t0) < scn.duration:
                    progress(now / scn.duration)
                    time.sleep(min(0.2, scn.duration - now))
                for t in acts:
                    t.cancel()
                value = writers.finish()
                raw = sorted(drill.raw)
                applied = list(drill.applied)
            finally:
                drill.close()
        events = [drill.event(t - t0, s, c, d) for t, s, c, d in raw]
        events += applied
        events.sort(key=lambda e: e[0])
        n = int(math.ceil(scn.duration / interval - 1e-9))
        writes, errors = np.zeros(n), np.zeros(n)
        for t, ok in writers.samples:
            i = min(n - 1, max(0, int(t // interval)))
            writes[i] += 1
            errors[i] += 0 if ok else 1
        acked = sum(1 for _, ok in writers.samples if ok)
        key = f"store/{store.name}"
        counters = {f"{key}.writes": writes, f"{key}.write_errors": errors}
        lost = np.zeros(n)
        if value is not None:
            lost[-1] = max(0, acked - value)
            counters[f"{key}.writes_lost"] = lost
        gauges = {f"{key}.write_failing": np.array(failing_per_bucket(writers.samples, interval, n))}
        event_rows = [{"t": t, "source": s, "event": e, "detail": _detail(e, d, store)}
                      for t, s, e, d in events]
        trace = Trace(interval, counters, gauges, {}, event_rows,
                      spans={f"{key}.write_failing": failing_spans(writers.samples)})
        failing = failing_seconds(writers.samples)
        rr = ReplicationResult(
            replication=rep, seed=seed, duration=scn.duration, warmup=scn.warmup,
            events=[Event(time=r["t"], source=r["source"], event=r["event"], detail=r["detail"])
                    for r in event_rows],
            stores={store.name: StoreMetrics(
                kind="redis", up=value is not None, ops=len(writers.samples),
                errors={"write": int(errors.sum()), "acknowledged_lost": int(lost.sum())},
                in_system=0.0, mean_sojourn=0.0, mean_wait=0.0, utilisation=0.0)},
        )
        rr.stores[store.name].errors["write_failing_ms"] = int(failing * 1000)
        return rr, trace

    def _schedule(self, scn: Any, drill: Any, t0: float) -> list[threading.Timer]:
        """Timers for the timeline's actions; what cannot be applied is noted as such."""
        drill.applied = []
        timers = []

        def at(delay: float, fn: Any) -> None:
            timer = threading.Timer(max(0.0, t0 + delay - time.monotonic()), fn)
            timer.daemon = True
            timer.start()
            timers.append(timer)

        for a in scn.timeline:
            apply = APPLIED.get(a.action)
            if apply is None:
                drill.applied.append((a.at, getattr(a, "target", None) or "scenario",
                                      f"scenario:{a.action}", "not applied: the local backend runs Redis only"))
                continue
            at(a.at, lambda a=a, apply=apply: apply(a, drill, t0, at))
        return timers


def _sentinel_down(a: Any, drill: Any, t0: float, at: Any) -> None:
    now = time.monotonic() - t0
    idx = list(range(2, 2 - (a.count or 1), -1))
    for i in idx:
        drill.kill(f"sentinel/{i}")
    drill.applied.append((now, "scenario", "scenario:sentinel-down",
                          " ".join(f"sentinel/{i}" for i in idx)))
    if a.for_ is not None:
        at(a.at + a.for_, lambda: [drill._start_sentinel(i) for i in idx])  # noqa: SLF001


def _crash_master(a: Any, drill: Any, t0: float, at: Any) -> None:
    """SIGKILL of the master; back after `for` (redis-restart-empty: after 1 s), empty."""
    now = time.monotonic() - t0
    master = _current_master(drill)
    drill.kill(master)
    drill.applied.append((now, f"redis/{master}", f"scenario:{a.action}", "SIGKILL"))
    back = a.for_ if a.for_ is not None else (1.0 if a.action == "redis-restart-empty" else None)
    if back is not None:
        i = int(master.rsplit("-", 1)[1])

        def restart() -> None:
            drill._start_redis(i)  # noqa: SLF001 - no persistence: it comes back empty
            drill.applied.append((time.monotonic() - t0, f"redis/{master}", "restarted", "empty"))

        at(a.at + back, restart)


APPLIED: dict[str, Any] = {
    "redis-master-crash": _crash_master,
    "redis-restart-empty": _crash_master,
    "sentinel-down": _sentinel_down,
}
"""What real Redis processes can do of a timeline: name -> apply(action, drill, t0, at)."""


def _current_master(drill: Any) -> str:
    """The master as the first answering sentinel names it, in the simulator's name."""
    for p in drill.sentinel_ports:
        try:
            host, port = drill._client(p).execute_command(  # noqa: SLF001
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", drill.master_name)
            return drill.names[f"{host}:{port}"]
        except Exception:  # noqa: BLE001, S112 - a sentinel that is down: ask the next
            continue
    return "redis-0"


def _detail(event: str, detail: Any, store: Redis) -> str:
    """Sentinel's own message, its addresses in the simulator's names and the topology's
    ports (names.sentinel_message: the simulator writes the same text)."""
    if not isinstance(detail, dict):
        return str(detail)
    if set(detail) - {"raw"}:
        return names.sentinel_message(event, detail, store.port, store.sentinel.port)
    return str(detail.get("raw", ""))


def _redis_store(topology: Topology, scn: Any) -> Redis:
    targets = {(a.target or "").split("/", 1)[-1] for a in scn.timeline if a.action in APPLIED}
    stores = [s for s in topology.stores if isinstance(s, Redis) and s.mode == "sentinel"]
    for s in stores:
        if s.name in targets or not targets - {""}:
            return s
    raise CannotRun("the local backend runs Redis Sentinel scenarios: this topology has no "
                    "Redis store in sentinel mode", "use --backend sim")


def backend() -> LocalBackend:
    absent = redis_drill.missing()
    if absent:
        raise CannotRun(f"the local backend needs {', '.join(absent)} (not installed)",
                        f"apt-get install -y {' '.join(redis_drill.PACKAGES)}")
    try:
        import redis  # noqa: F401
    except ModuleNotFoundError:
        raise CannotRun("the local backend needs the Python package 'redis'",
                        ".venv/bin/pip install redis") from None
    return LocalBackend()


__all__ = ["APPLIED", "OBSERVES", "LocalBackend", "backend", "failing_per_bucket", "failing_seconds",
           "failing_spans"]
