"""SLOs apart from expectations, and the saturation check that gates the saturation warning."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import ValidationError
from scenario_texts import CRASH, ROOT

from twin.cli.app import main
from twin.result.model import Saturation
from twin.scenario.checks import (
    EXPECTATION,
    FAILED,
    HELD,
    NOT_APPLICABLE,
    SLO,
    judge,
    saturation_problem,
    verdict_text,
)
from twin.scenario.model import Check, Scenario


def twin(*args: str, monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["twin", *args])
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code or 0


@pytest.mark.parametrize(("fields", "kind"), [
    ({"metric": "route/chat.error_rate", "max": 0.02}, SLO),
    ({"metric": "route/chat.p99", "max": "2s"}, SLO),
    ({"metric": "store/redis.writes_lost", "max": 0}, SLO),
    ({"recovery": "route/chat.error_rate", "within": "60s"}, SLO),
    ({"saturation": "any"}, SLO),
    ({"event": "+sdown", "stat": "delay", "range": ["30s", "31s"]}, EXPECTATION),
    ({"metric": "worker/chat-worker.replicas", "max": 3}, EXPECTATION),
    ({"metric": "queue/chat-tasks.length", "max": 5}, EXPECTATION),
    # a harm bounded from below asserts that the fault does harm: what the scenario shows
    ({"metric": "route/chat.error_rate", "min": 0.9}, EXPECTATION),
    ({"metric": "route/login.error_rate", "range": ["10%", "35%"]}, EXPECTATION),
    ({"metric": "route/chat.error_rate", "range": [0, 0.02]}, SLO),
    # an explicit kind wins
    ({"metric": "route/scan.error_rate", "max": 0.01, "kind": "expectation"}, EXPECTATION),
    ({"event": "+switch-master", "max": 0, "kind": "slo"}, SLO),
])
def test_default_kind_from_one_table_explicit_wins(fields: dict, kind: str) -> None:
    assert Check(name="c", **fields).kind == kind


def test_kind_is_slo_or_expectation() -> None:
    with pytest.raises(ValidationError, match="kind"):
        Check(name="c", metric="route/chat.error_rate", max=0.1, kind="sla")


@pytest.mark.parametrize(("extra", "message"), [
    ({"stat": "mean"}, "has no stat"),
    ({"min": 1}, "only bound is max"),
    ({"window": "warmup..kill"}, "takes no window"),
    ({"metric": "route/chat.error_rate"}, "exactly one of metric, event, recovery, saturation"),
])
def test_saturation_check_shape(extra: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Check(name="c", saturation="any", **extra)


def test_saturation_target_named_against_the_topology() -> None:
    from twin.loading.files import load

    topo = load(ROOT / "topologies" / "eco2-prod.yaml")
    for good in ("any", "queue", "workload/chat-worker", "worker/chat-worker", "route/chat",
                 "queue/chat-tasks"):
        assert saturation_problem(topo, good) is None, good
    assert "no workload named 'chat-wrker'" in saturation_problem(topo, "workload/chat-wrker")
    assert "a saturation check names `any`" in saturation_problem(topo, "node/x")


def test_bad_saturation_target_is_exit_2_naming_the_line(write_scenario, monkeypatch, capsys) -> None:
    path = write_scenario("""\
        name: s
        duration: 60s
        checks:
          - name: keeps up
            saturation: workload/nope
        """)
    assert twin("validate", str(path), monkeypatch=monkeypatch) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert f"{path.name}:8" in text and "no workload named 'nope'" in text


class _Obs:
    """A replication with no metrics: saturation checks read the flagged components only."""

    def observable(self, metric: str) -> bool:
        return False

    def value(self, metric, stat, t0, t1):  # noqa: ANN001, ANN201
        return None

    def events(self, name, source=None):  # noqa: ANN001, ANN201
        return []

    def observes_event(self, name: str) -> bool:
        return False


BUSY = Saturation(component="workload/chat-worker", metric="utilisation", utilisation=1.0,
                  evidence="its pods were busy 100% of their slots after the warm-up")
QUEUE = Saturation(component="queue/chat-tasks", metric="depth", evidence="depth 81 -> 284")


def _scenario(*checks: dict) -> Scenario:
    return Scenario.model_validate({"apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "s",
                                    "duration": 60, "checks": list(checks)})


def test_saturation_judged_per_replication_and_named() -> None:
    scn = _scenario({"name": "all keep up", "saturation": "any"},
                    {"name": "chat-worker keeps up", "saturation": "worker/chat-worker"},
                    {"name": "queues may grow once", "saturation": "queue", "max": 1},
                    {"name": "routes keep up", "saturation": "route"})
    out = {o.name: o for o in judge(scn, [_Obs(), _Obs()], [[BUSY, QUEUE], []])}
    assert out["all keep up"].status == FAILED and out["all keep up"].observed == [2.0, 0.0]
    sentence = out["chat-worker keeps up"].sentence()
    assert sentence.startswith("SLO 'chat-worker keeps up' failed in 1 of 2 replications: ")
    assert "workload/chat-worker: its pods were busy 100%" in sentence
    assert "queue/chat-tasks" not in sentence  # only the components the check names
    assert out["queues may grow once"].status == HELD
    assert out["routes keep up"].status == HELD


def test_saturation_not_applicable_without_series() -> None:
    scn = _scenario({"name": "keeps up", "saturation": "any"})
    (o,) = judge(scn, [_Obs()], [None])
    assert o.status == NOT_APPLICABLE and "no time series" in o.reason
    (o,) = judge(scn, [_Obs()])  # a runner that passed nothing: not a pass either
    assert o.status == NOT_APPLICABLE


def test_verdict_says_which_kind_failed() -> None:
    scn = _scenario({"name": "keeps up", "saturation": "any"},
                    {"name": "shows the backlog", "saturation": "queue", "min": None,
                     "max": 5, "kind": "expectation"},
                    {"name": "no failover", "event": "+switch-master", "max": 0})
    outcomes = judge(scn, [_Obs()], [[BUSY]])
    assert verdict_text("s", outcomes) == (
        "FAILED s: 1 of 3 checks failed, 1 not applicable; SLO failed: keeps up")
    for o in outcomes:
        o.status = FAILED if o.name != "keeps up" else HELD
    assert verdict_text("s", outcomes).endswith("; expectation failed: shows the backlog, no failover")
    for o in outcomes:
        o.status = FAILED
    assert verdict_text("s", outcomes).endswith(
        "; SLO failed: keeps up; expectation failed: shows the backlog, no failover")


def test_report_json_and_junit_carry_the_kind(write_scenario, fake_backend, tmp_path, monkeypatch,
                                              capsys) -> None:
    path = write_scenario(CRASH + """\
  - name: no failover
    event: +switch-master
    max: 0
""")
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    code = twin("run", str(path), "--backend", "fake", "--out", str(out), "--junit", str(junit),
                monkeypatch=monkeypatch)
    text = capsys.readouterr().out
    assert code == 1
    assert ("FAILED crash: 2 of 4 checks failed; SLO failed: chat errors during the crash; "
            "expectation failed: no failover") in " ".join(text.split())
    import json

    result = json.loads((out / "result.json").read_text())
    assert result["failed_kinds"] == ["slo", "expectation"]
    assert {c["name"]: c["kind"] for c in result["checks"]}["failover within 40s"] == "expectation"
    root = ET.parse(junit).getroot()
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["chat errors during the crash"].get("classname") == "scenarios.crash.slo"
    assert cases["no failover"].get("classname") == "scenarios.crash.expectation"
    assert cases["no failover"].find("failure").get("type") == "ExpectationFailed"
    assert cases["chat errors during the crash"].find("failure").get("type") == "SLOFailed"
    kinds = {c.get("name"): c.find("properties/property[@name='kind']").get("value")
             for c in cases.values()}
    assert kinds["chat recovers"] == "slo"


SHIPPED = ROOT / "scenarios" / "redis-master-crash.yaml"
ONE_WORKER = ("--set", "workers.chat-worker.replicas=1", "--set", "workers.chat-worker.hpa.min=1")


def test_one_chat_worker_fails_redis_master_crash_on_saturation(tmp_path: Path, monkeypatch,
                                                                 capsys) -> None:
    """Issue 10: chat-worker at one replica (its HPA's floor too, else the HPA restores
    three) passed redis-master-crash with only a warning. It now fails an SLO by name,
    and the warning is in JUnit."""
    junit = tmp_path / "junit.xml"
    code = twin("run", str(SHIPPED), *ONE_WORKER, "--replications", "1", "--junit", str(junit),
                monkeypatch=monkeypatch)
    text = " ".join(capsys.readouterr().out.split())
    assert code == 1
    assert "SLO failed: every worker and queue keeps up at peak" in text
    assert ("SLO 'every worker and queue keeps up at peak' failed: components saturated after "
            "warm-up was") in text
    assert "workload/chat-worker: its pods were busy 100% of their slots" in text
    suite = ET.parse(junit).getroot().find("testsuite")
    assert "WARNING: saturated" in suite.find("system-out").text
    assert any("workload/chat-worker" in p.get("value")
               for p in suite.findall("properties/property[@name='warning']"))
    case = suite.find("testcase[@name='every worker and queue keeps up at peak']")
    assert case.find("failure").get("type") == "SLOFailed"


def test_redis_master_crash_keeps_up_at_three_workers(monkeypatch, capsys) -> None:
    code = twin("run", str(SHIPPED), "--replications", "1", monkeypatch=monkeypatch)
    text = capsys.readouterr().out
    assert code == 0, text
    assert "WARNING: saturated" not in text


def test_report_prints_slos_and_expectations_in_two_tables(write_scenario, fake_backend,
                                                           monkeypatch, capsys) -> None:
    path = write_scenario(CRASH)
    twin("run", str(path), "--backend", "fake", monkeypatch=monkeypatch)
    text = capsys.readouterr().out
    slos, expectations = text.index("SLOs (what users see)"), text.index("Expectations (")
    assert slos < text.index("chat errors during the crash") < expectations
    assert expectations < text.index("failover within 40s")
