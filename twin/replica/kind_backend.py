"""The `kind` backend of the scenario runner: the same scenario file, run on
the replica in real time.

It drives each route's load at the gateway (127.0.0.1:<gateway node_port>, the
port kind maps), applies the timeline's actions through the client (kill-pod,
redis-master-crash, scale, drain as cordon + evictions that respect PDBs and an
uncordon when its `for` ends, node-down as `docker stop` of the kind node), and
records what it observes: per route, requests, failures and latency, and the
actions as events. Everything else (store internals, Sentinel's timeline,
queues) it cannot see, so checks on it are "not applicable".
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.render.kind_config import cluster_name
from twin.replica import faults, kind
from twin.scenario.runner import BackendRun


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


def _act(api: Any, topo: Topology, action: Any, events: list[dict], t: float, name: str,
         duration: float | None = None) -> None:
    target = (action.target or "").split("/", 1)[-1]
    try:
        if action.action == "kill-pod":
            for d in faults.kill_pods(api, topo, target, action.count or 1):
                events.append({"t": t, "source": f"pod/{d.target.split('/', 1)[1]}", "event": "Killed",
                               "detail": d.detail})
        elif action.action == "redis-master-crash":
            d = faults.kill_redis_master(api, topo, target or "redis")
            events.append({"t": t, "source": f"store/{target or 'redis'}", "event": "Killed", "detail": d.detail})
        elif action.action == "scale":
            d = faults.scale(api, topo, target, action.replicas or 0)
            events.append({"t": t, "source": f"service/{target}", "event": "Scaled", "detail": d.detail})
        elif action.action == "drain":
            d = faults.drain(api, target, timeout=drain_timeout(action, t, duration), interval=DRAIN_RETRY)
            events.append({"t": t, "source": f"node/{target}", "event": "Drained", "detail": d.detail})
        elif action.action == "node-down":
            node = faults.kind_node(api, target)
            kind.run(["docker", "stop", node], check=True)
            events.append({"t": t, "source": f"node/{target}", "event": "NodeDown", "detail": node})
        else:
            events.append({"t": t, "source": action.target or "", "event": "NotApplied",
                           "detail": f"{action.action} is not available on the kind backend"})
    except faults.FaultError as e:
        events.append({"t": t, "source": action.target or "", "event": "FaultFailed", "detail": str(e)})


DRAIN_RETRY = 5.0
"""Seconds between eviction retries a PodDisruptionBudget refused (429), as kubectl drain."""


def drain_timeout(action: Any, now: float, duration: float | None = None) -> float:
    """A drain gives up when its `for` ends (the node is uncordoned then), else after 10 min,
    and never later than the scenario's end."""
    until = float(action.end) if action.end is not None else now + 600.0
    if duration is not None:
        until = min(until, float(duration))
    return max(0.0, until - now)

def _end(api: Any, topo: Topology, action: Any, events: list[dict] | None = None, t: float = 0.0) -> None:
    """The end of a fault's `for`: the node comes back (node-down) or is uncordoned (drain)."""
    target = (action.target or "").split("/", 1)[-1]
    try:
        if action.action == "node-down":
            kind.run(["docker", "start", faults.kind_node(api, target)])
        elif action.action == "drain":
            d = faults.cordon(api, target, on=False)
            if events is not None:
                events.append({"t": t, "source": f"node/{target}", "event": "Uncordoned", "detail": d.target})
    except faults.FaultError as e:
        if events is not None:
            events.append({"t": t, "source": action.target or "", "event": "FaultFailed", "detail": str(e)})


def traces(samples: list[Sample], events: list[dict], duration: float, interval: float,
           routes: list[str]) -> Any:
    import numpy as np

    from twin.scenario.metrics import Trace
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
    real_time = True  # a real cluster: a 3m scenario takes three minutes

    def __init__(self, topology: Topology | None = None):
        self._checked = topology

    def run(self, scenario: Any, topology: Topology, seed: int, replications: int, progress: Any) -> BackendRun:
        from twin.result.model import Event, ReplicationResult, Result, RouteMetrics, Summary
        from twin.scenario.runner import BackendMissing
        from twin.scenario.sim_backend import bucket_for

        name = cluster_name(topology)
        config = kind.kubeconfig_path(name)
        if not Path(config).exists():
            raise BackendMissing(f"no replica {name} is up", "run `twin up -t <topology>` first")
        from twin.replica.apply import api_client

        api = api_client(config, f"kind-{name}")
        if topology.mesh is None:
            raise BackendMissing("the topology has no gateway to drive load at")
        port = topology.mesh.gateway.node_port
        base = f"http://127.0.0.1:{port}"
        gateway = gateway_answers(port)
        interval = bucket_for(scenario)
        runs, trace_list = [], []
        for rep in range(replications):
            events: list[dict] = []
            timers: list[threading.Thread] = []
            t0 = time.monotonic()
            driver = Driver(base, topology, scenario, seed + rep, t0)
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
                progress((rep + action.at / scenario.duration) / replications, f"{action.action} {action.target or ''}")
                now = time.monotonic() - t0
                if action.action == "drain":   # evictions a PDB refuses are retried: the timeline goes on
                    drainer = threading.Thread(target=_act, daemon=True, args=(
                        api, topology, action, events, now, name, scenario.duration))
                    drainer.start()
                    timers.append(drainer)
                else:
                    _act(api, topology, action, events, now, name, scenario.duration)
                if action.end is not None:
                    timer = threading.Timer(max(0.0, t0 + action.end - time.monotonic()),
                                            lambda a=action, ev=events, start=t0: _end(
                                                api, topology, a, ev, time.monotonic() - start))
                    timer.start()
                    timers.append(timer)
            thread.join()
            for timer in timers:       # every `for` ends (nodes back, uncordoned) before the next run
                timer.join()
            routes = [r for r, _, _ in driver.routes()] if gateway else []
            trace_list.append(traces(driver.samples, events, scenario.duration, interval, routes))
            runs.append(ReplicationResult(
                replication=rep, seed=seed + rep, duration=scenario.duration, warmup=scenario.warmup,
                events=[Event(time=e["t"], source=e["source"], event=e["event"], detail=e["detail"])
                        for e in sorted(events, key=lambda e: e["t"])],
                routes={r: _route_metrics(driver.samples, r, scenario.duration, RouteMetrics, Summary)
                        for r in routes}))
        result = Result(backend="kind", topology=name, scenario=scenario.name, seed=seed,
                        replications=replications, duration=scenario.duration, warmup=scenario.warmup,
                        interval=interval, runs=runs)
        return BackendRun(result, trace_list)


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
    """For the runner: fails cleanly (BackendMissing) when kind itself is absent."""
    import shutil

    from twin.scenario.runner import BackendMissing

    if shutil.which("kind") is None:
        raise BackendMissing("kind not found on PATH", kind._HOW["kind"])
    return KindBackend()
