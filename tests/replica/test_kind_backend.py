"""The kind backend's load driver and what it records, against a stand-in on
loopback playing the gateway; and clean "cannot run" without a replica."""

from __future__ import annotations

import pytest
from sample_topology import small
from test_standin import StandInProcess, _config

from twin.replica import kind_backend
from twin.result.backend import CannotRun
from twin.scenario.model import Scenario


def _scenario(**kw) -> Scenario:
    doc = {"apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "pod-kill", "duration": "2s",
           "load": {"scale": 2.0}}
    doc.update(kw)
    return Scenario.model_validate(doc)


def test_driver_records_requests_failures_and_latency(tmp_path) -> None:
    gateway = StandInProcess(tmp_path, _config("gateway", error_rate=0.25,
                                               service_time={"dist": "constant", "value": 0.01}))
    try:
        topo, scn = small("dev"), _scenario()
        import time

        driver = kind_backend.Driver(f"http://{gateway.addr}", topo, scn, seed=3, t0=time.monotonic())
        driver.run(scn.duration)
    finally:
        gateway.stop()
    samples = driver.samples
    by_route = {r: [s for s in samples if s.route == r] for r in ("chat", "character")}
    # Poisson at 2 x (10/s, 5/s) for 2 s: means 40 and 20
    assert 22 <= len(by_route["chat"]) <= 60 and 8 <= len(by_route["character"]) <= 34
    failed = sum(not s.ok for s in samples) / len(samples)
    assert 0.1 < failed < 0.42
    assert all(s.latency >= 0.01 for s in samples if s.ok)
    trace = kind_backend.traces(samples, [{"t": 1.0, "source": "pod/x", "event": "Killed", "detail": ""}],
                                scn.duration, 1.0, ["chat", "character"])
    assert trace.counters["route/chat.requests"].sum() == len(by_route["chat"])
    assert trace.value("route/chat.error_rate", "mean", 0, 2) == pytest.approx(
        sum(not s.ok for s in by_route["chat"]) / len(by_route["chat"]))
    assert trace.events("Killed") == [1.0]
    metrics = kind_backend._route_metrics(samples, "chat", 2.0, *_models())
    assert metrics.arrivals == len(by_route["chat"]) and metrics.errors == {"500": metrics.arrivals - metrics.ok}


def _models():
    from twin.result.model import RouteMetrics, Summary

    return RouteMetrics, Summary


def test_without_a_replica_the_backend_cannot_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path))
    with pytest.raises(CannotRun, match="no replica twin-eco2-dev is up"):
        kind_backend.KindBackend().run(_scenario(), small("dev"), 1, 1, lambda f, s: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CannotRun, match="kind not found on PATH"):
        kind_backend.backend()


def test_every_event_the_replica_records_of_a_fault_is_one_it_observes(monkeypatch) -> None:
    """A check on an event the backend records but does not declare would be "not
    applicable" for ever; one it names differently from the simulator would never match."""
    from twin.replica import faults
    from twin.result.events import known

    done = faults.Done("x", "pod/chat-api-0", 0.0, "ok")
    for name in ("kill_redis_master", "cordon", "drain", "scale"):
        monkeypatch.setattr(faults, name, lambda *a, **k: done)
    monkeypatch.setattr(faults, "kill_pods", lambda *a, **k: [done])
    monkeypatch.setattr(faults, "kind_node", lambda *a, **k: "twin-worker")
    monkeypatch.setattr(kind_backend.kind, "run", lambda *a, **k: None)
    action = type("A", (), {"replicas": 2, "count": 1, "end": 10.0})()
    names = set()
    for applies in kind_backend.ACTS.values():
        for fn in (applies.act, applies.end):
            if fn is None:
                continue
            args = (None, small("dev"), action, "k8s-worker-1", 1.0)
            events = fn(*args, 10.0) if fn is applies.act else fn(*args)
            names |= {e["event"] for e in events}
    assert {"Drained", "NodeSchedulable", "Killed", "Scaled", "NodeDown"} <= names
    assert all(kind_backend.OBSERVES.event(n) and known(n) for n in names), names
