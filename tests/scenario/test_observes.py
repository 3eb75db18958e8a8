"""A check the backend cannot observe is "not applicable" and leaves the exit status alone."""

from __future__ import annotations

import json

from fake_backend import FakeBackend
from test_scenario_cli import twin

from twin.replica.kind_backend import KindBackend
from twin.replica.local_backend import LocalBackend
from twin.result.backend import Observes
from twin.scenario.runner import _REGISTERED, register_backend
from twin.scenario.sim_backend import SimBackend

SUBSET = Observes(events=frozenset({"+sdown", "+odown", "+switch-master"}),
                           metrics=("route/*.requests", "route/*.failed", "route/*.error_rate"))


class SentinelOnly(FakeBackend):
    """Records Sentinel's events and the chat route's requests, nothing of Kubernetes."""

    name = "sentinel-only"
    observes = SUBSET


BODY = """\
name: subset
duration: 120s
warmup: 10s
replications: 2
timeline:
  - {id: kill, at: 40s, action: redis-master-crash, for: 20s}
checks:
  - {name: failover within 40s, event: +switch-master, stat: delay, window: kill..end, max: 40s}
  - {name: no node goes NotReady, event: NodeNotReady, max: 0}
  - {name: a pod is scheduled, event: Scheduled, min: 1}
  - {name: no acknowledged write lost, metric: store/redis.writes_lost, max: 0}
  - {name: chat-api not saturated, metric: service/chat-api.utilisation, max: 0.1}
  - {name: chat errors during the crash, metric: route/chat.error_rate, window: kill..kill.end, max: 0.7}
"""


def test_unobservable_checks_are_not_applicable_and_exit_0(write_scenario, tmp_path, monkeypatch,
                                                           capsys) -> None:
    register_backend("sentinel-only", SentinelOnly)
    try:
        code = twin("run", str(write_scenario(BODY)), "--backend", "sentinel-only", "--out",
                    str(tmp_path / "o"), monkeypatch=monkeypatch)
    finally:
        _REGISTERED.pop("sentinel-only", None)
    result = json.loads((tmp_path / "o/result.json").read_text())
    status = {c["name"]: c["status"] for c in result["checks"]}
    # without the declaration NodeNotReady max 0 "held", Scheduled min 1 and the
    # fake's lost writes and utilisation 0.5 failed: exit 1
    assert status == {"failover within 40s": "held", "no node goes NotReady": "n/a",
                      "a pod is scheduled": "n/a", "no acknowledged write lost": "n/a",
                      "chat-api not saturated": "n/a", "chat errors during the crash": "held"}
    assert code == 0
    assert "PASSED subset: 2 checks held, 4 not applicable" in capsys.readouterr().out


def test_an_observable_failure_still_fails(write_scenario, monkeypatch) -> None:
    register_backend("sentinel-only", SentinelOnly)
    try:
        body = BODY.replace("max: 0.7", "max: 0.1")
        assert twin("run", str(write_scenario(body)), "--backend", "sentinel-only",
                    monkeypatch=monkeypatch) == 1
    finally:
        _REGISTERED.pop("sentinel-only", None)


def test_builtin_backends_declare_what_they_see() -> None:
    assert LocalBackend.observes.event("+switch-master")
    assert not LocalBackend.observes.event("NodeNotReady")
    assert not LocalBackend.observes.event("Scheduled")
    assert LocalBackend.observes.metric("store/redis.writes_lost")
    assert not LocalBackend.observes.metric("route/chat.error_rate")
    assert KindBackend.observes.metric("route/chat.p99")
    assert not KindBackend.observes.event("+switch-master")
    assert SimBackend.observes.event("NodeNotReady")
