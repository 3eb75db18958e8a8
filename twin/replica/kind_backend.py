"""The `kind` backend of the scenario runner: the same scenario file, run on
the replica in real time.

It drives each route's load at the gateway (127.0.0.1:<gateway node_port>, the
port kind maps), applies the timeline's actions of its table ACTS through the
client (kill-pod, redis-master-crash, scale, drain as cordon + evictions that
respect PDBs and an uncordon when its `for` ends, node-down as `docker stop` of
the kind node; any other action is recorded as NotApplied), and records what it
observes: per route, requests, failures and latency, and the actions as events.
Everything else (store internals, Sentinel's timeline, queues) it cannot see, so
checks on it are "not applicable".
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.render.kind_config import cluster_name
from twin.replica import faults, kind
from twin.result import events as names
from twin.result.backend import BackendRun, CannotRun, Observes, Progress, bucket_for

OBSERVES = Observes(
    # the faults it applied (or could not) and the load generator's requests
    events=frozenset({"Killed", "Scaled", "NodeDown", "Drained", "NodeSchedulable"})
    | names.BACKENDS,
    metrics=tuple(f"route/*.{m}" for m in ("requests", "failed", "error_rate", "latency",
                                            "p50", "p95", "p99")),
    series=False,  # no time series: saturation checks are not applicable
    canary=False,  # the canary section's weights are never moved here
)


@dataclass
class Sample:
    route: str
    t: float
    latency: float
    ok: bool
    why: str = ""


class Driver:
    """Open-loop Poisson arrivals per route against the gateway."""

    def __init__(self, base: str, topo: Topology, scn: Any, seed: int, t0: float, workers: int = 64):
        import numpy as np

        self.base, self.topo, self.scn, self.t0 = base, topo, scn, t0
        self.rng = np.random.default_rng(seed)
        self.samples: list[Sample] = []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.stop = threading.Event()

    def routes(self) -> list[tuple[str, float, str]]:
        out = []
        for r in self.topo.routes:
            if self.scn.load.only and r.name not in self.scn.load.rates:
                continue
            rate = self.scn.load.rates.get(r.name, r.rate) * self.scn.load.scale
            out.append((r.name, rate, r.match or "/"))
        return out

    def request(self, route: str, path: str, t: float) -> None:
        start = time.monotonic()
        try:
            with urllib.request.urlopen(self.base + path, timeout=30) as resp:
                resp.read()
                ok, why = 200 <= resp.status < 300, ""
        except urllib.error.HTTPError as e:
            ok, why = False, f"{e.code}"
        except (urllib.error.URLError, OSError) as e:
            ok, why = False, type(e).__name__
        with self.lock:
            self.samples.append(Sample(route, t, time.monotonic() - start, ok, why))

    def run(self, duration: float) -> None:
        next_at = {name: float(self.rng.exponential(1 / rate)) if rate > 0 else float("inf")
                   for name, rate, _ in self.routes()}
        spec = {name: (rate, path) for name, rate, path in self.routes()}
        while not self.stop.is_set():
            name = min(next_at, key=next_at.get) if next_at else None
            if name is None or next_at[name] >= duration:
                break
            t = next_at[name]
            delay = self.t0 + t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            rate, path = spec[name]
            factor = self.scn.load.factor(t)
            if factor >= 1 or self.rng.random() < factor:  # thinning for profiles below 1
                self.pool.submit(self.request, name, path, t)
            next_at[name] = t + float(self.rng.exponential(1 / rate))
        self.pool.shutdown(wait=True)


Events = list[dict]
"""{t, source, event, detail}: what the backend records of the timeline."""


def _kill_pods(api: Any, topo: Topology, action: Any, target: str, t: float,
               duration: float | None) -> Events:
    return [{"t": t, "source": f"pod/{d.target.split('/', 1)[1]}", "event": "Killed", "detail": d.detail}
            for d in faults.kill_pods(api, topo, target, action.count or 1)]


def _kill_redis_master(api: Any, topo: Topology, action: Any, target: str, t: float,
                       duration: float | None) -> Events:
    d = faults.kill_redis_master(api, topo, target or "redis")
    return [{"t": t, "source": f"store/{target or 'redis'}", "event": "Killed", "detail": d.detail}]


def _scale(api: Any, topo: Topology, action: Any, target: str, t: float,
           duration: float | None) -> Events:
    d = faults.scale(api, topo, target, action.replicas)
    return [{"t": t, "source": f"service/{target}", "event": "Scaled", "detail": d.detail}]


def _drain(api: Any, topo: Topology, action: Any, target: str, t: float,
           duration: float | None) -> Events:
    d = faults.drain(api, target, timeout=drain_timeout(action, t, duration), interval=DRAIN_RETRY)
    return [{"t": t, "source": f"node/{target}", "event": "Drained", "detail": d.detail}]


def _uncordon(api: Any, topo: Topology, action: Any, target: str, t: float) -> Events:
    faults.cordon(api, target, on=False)
    return [{"t": t, "source": f"node/{target}", "event": "NodeSchedulable", "detail": "uncordoned"}]


def _node_down(api: Any, topo: Topology, action: Any, target: str, t: float,
               duration: float | None) -> Events:
    node = faults.kind_node(api, target)
    kind.run(["docker", "stop", node], check=True)
    return [{"t": t, "source": f"node/{target}", "event": "NodeDown", "detail": node}]


def _node_up(api: Any, topo: Topology, action: Any, target: str, t: float) -> Events:
    kind.run(["docker", "start", faults.kind_node(api, target)])
    return []


@dataclass(frozen=True)
class Applies:
    """How the replica applies one action: at its time, and when its `for` ends."""

    act: Callable[[Any, Topology, Any, str, float, float | None], Events]
    end: Callable[[Any, Topology, Any, str, float], Events] | None = None
    background: bool = False
    """In a thread of its own (a drain retrying refused evictions): the timeline goes on."""


ACTS: dict[str, Applies] = {
    "kill-pod": Applies(_kill_pods),
    "redis-master-crash": Applies(_kill_redis_master),
    "scale": Applies(_scale),
    "drain": Applies(_drain, end=_uncordon, background=True),
    "node-down": Applies(_node_down, end=_node_up),
}
"""What the replica can do of a timeline: name -> how; anything else is NotApplied."""


def _target(action: Any) -> str:
    """The model name a target names (`node/k8s-worker-1` -> `k8s-worker-1`)."""
    return (getattr(action, "target", None) or "").split("/", 1)[-1]


def _failed(action: Any, t: float, e: Exception) -> dict:
    return {"t": t, "source": getattr(action, "target", None) or "", "event": "FaultFailed",
            "detail": str(e)}


def _act(api: Any, topo: Topology, action: Any, events: Events, t: float,
         duration: float | None = None) -> None:
    applies = ACTS.get(action.action)
    if applies is None:
        events.append({"t": t, "source": getattr(action, "target", None) or "", "event": "NotApplied",
                       "detail": f"{action.action} is not available on the kind backend"})
        return
    try:
        events.extend(applies.act(api, topo, action, _target(action), t, duration))
    except faults.FaultError as e:
        events.append(_failed(action, t, e))


DRAIN_RETRY = 5.0
"""Seconds between eviction retries a PodDisruptionBudget refused (429), as kubectl drain."""


def drain_timeout(action: Any, now: float, duration: float | None = None) -> float:
    """A drain gives up when its `for` ends (the node is uncordoned then), else after 10 min,
    and never later than the scenario's end."""
    until = float(action.end) if action.end is not None else now + 600.0
    if duration is not None:
        until = min(until, float(duration))
    return max(0.0, until - now)


def _end(api: Any, topo: Topology, action: Any, events: Events, t: float) -> None:
    """The end of a fault's `for`: the node comes back (node-down) or is uncordoned (drain)."""
    applies = ACTS.get(action.action)
    if applies is None or applies.end is None:
        return
    try:
        events.extend(applies.end(api, topo, action, _target(action), t))
    except faults.FaultError as e:
        events.append(_failed(action, t, e))


def traces(samples: list[Sample], events: list[dict], duration: float, interval: float,
           routes: list[str]) -> Any:
    import numpy as np

    from twin.result.trace import Trace
    from twin.sim.stats import Histogram

    n = max(1, int(np.ceil(duration / interval)))
    trace = Trace(interval=interval, event_list=sorted(events, key=lambda e: e["t"]))
    for r in routes:
        requests, failed = np.zeros(n), np.zeros(n)
        hist = [Histogram() for _ in range(n)]
        for s in samples:
            if s.route != r:
                continue
            i = min(int(s.t // interval), n - 1)
            requests[i] += 1
            if s.ok:
                hist[i].add(s.latency)
            else:
                failed[i] += 1
        trace.counters[f"route/{r}.requests"] = requests
        trace.counters[f"route/{r}.failed"] = failed
        trace.histograms[f"route/{r}.latency"] = hist
    return trace


class KindBackend:
    name = "kind"
    observes = OBSERVES
    real_time = True  # a real cluster: a 3m scenario takes three minutes

    def __init__(self, topology: Topology | None = None):
        self._checked = topology

    def run(self, scenario: Any, topology: Topology, seed: int, replications: int,
            progress: Progress) -> BackendRun:
        from twin.result.replications import replicate

        name = cluster_name(topology)
        config = kind.kubeconfig_path(name)
        if not Path(config).exists():
            raise CannotRun(f"no replica {name} is up", "run `twin up -t <topology>` first")
        from twin.replica.apply import api_client

        api = api_client(config, f"kind-{name}")
        if topology.mesh is None:
            raise CannotRun("the topology has no gateway to drive load at")
        port = topology.mesh.gateway.node_port
        gateway = gateway_answers(port)
        interval = bucket_for(scenario.duration)

        def one(rep: int, step: Any) -> tuple[Any, Any]:
            return _replication(api, topology, scenario, seed + rep, rep, interval, port, gateway, step)

        return replicate(one, replications, seed, progress, backend="kind", topology=name,
                         scenario=scenario.name, duration=scenario.duration,
                         warmup=scenario.warmup, interval=interval)


def _replication(api: Any, topology: Topology, scenario: Any, seed: int, rep: int, interval: float,
                 port: int, gateway: bool, step: Any) -> tuple[Any, Any]:
    """One run of the scenario on the replica, in real time: load, actions, their ends."""
    from twin.result.model import Event, ReplicationResult, RouteMetrics, Summary

    events: Events = []
    timers: list[threading.Thread] = []
    t0 = time.monotonic()
    driver = Driver(f"http://127.0.0.1:{port}", topology, scenario, seed, t0)
    if not gateway:  # no load to drive: the faults still happen, route checks n/a
        events.append({"t": 0.0, "source": "gateway/" + topology.mesh.gateway.name,
                       "event": "NotApplied",
                       "detail": f"nothing answers at 127.0.0.1:{port} (Istio left out at "
                                 "`twin up`?): no load driven, route metrics not observed"})
    thread = threading.Thread(target=driver.run if gateway else time.sleep,
                              args=(scenario.duration,), daemon=True)
    thread.start()
    for action in sorted(scenario.timeline, key=lambda a: a.at):
        delay = t0 + action.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        step(action.at / scenario.duration, f"{action.action} {getattr(action, 'target', None) or ''}")
        now = time.monotonic() - t0
        applies = ACTS.get(action.action)
        if applies is not None and applies.background:
            worker = threading.Thread(target=_act, daemon=True, args=(
                api, topology, action, events, now, scenario.duration))
            worker.start()
            timers.append(worker)
        else:
            _act(api, topology, action, events, now, scenario.duration)
        if action.end is not None and applies is not None and applies.end is not None:
            timer = threading.Timer(max(0.0, t0 + action.end - time.monotonic()),
                                    lambda a=action: _end(api, topology, a, events,
                                                          time.monotonic() - t0))
            timer.start()
            timers.append(timer)
    thread.join()
    for timer in timers:       # every `for` ends (nodes back, uncordoned) before the next run
        timer.join()
    routes = [r for r, _, _ in driver.routes()] if gateway else []
    trace = traces(driver.samples, events, scenario.duration, interval, routes)
    run = ReplicationResult(
        replication=rep, seed=seed, duration=scenario.duration, warmup=scenario.warmup,
        events=[Event(time=e["t"], source=e["source"], event=e["event"], detail=e["detail"])
                for e in sorted(events, key=lambda e: e["t"])],
        routes={r: _route_metrics(driver.samples, r, scenario.duration, RouteMetrics, Summary)
                for r in routes})
    return run, trace


def gateway_answers(port: int, timeout: float = 2.0) -> bool:
    """Whether the gateway's NodePort (mapped by kind on 127.0.0.1) takes a connection."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _route_metrics(samples: list[Sample], route: str, duration: float, metrics: Any, summary: Any) -> Any:
    import numpy as np

    mine = [s for s in samples if s.route == route]
    ok = [s.latency for s in mine if s.ok]
    errors: dict[str, int] = {}
    for s in mine:
        if not s.ok:
            errors[s.why] = errors.get(s.why, 0) + 1
    lat = np.array(ok) if ok else np.zeros(0)

    def q(p: float) -> float:
        return float(np.percentile(lat, p)) if len(lat) else 0.0

    return metrics(
        arrivals=len(mine), completed=len(mine), ok=len(ok), errors=errors,
        error_rate=(len(mine) - len(ok)) / len(mine) if mine else 0.0,
        throughput=len(mine) / duration if duration else 0.0,
        latency=summary(count=len(ok), mean=float(lat.mean()) if len(lat) else 0.0,
                        p50=q(50), p95=q(95), p99=q(99), max=float(lat.max()) if len(lat) else 0.0),
        in_flight=sum(s.latency for s in mine) / duration if duration else 0.0)


def backend() -> KindBackend:
    """For the runner: fails cleanly (CannotRun) when kind itself is absent."""
    import shutil

    if shutil.which("kind") is None:
        raise CannotRun("kind not found on PATH", kind._HOW["kind"])
    return KindBackend()
