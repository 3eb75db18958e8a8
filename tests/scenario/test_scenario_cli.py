"""`twin run` and `twin compare`: exit codes, files written, JUnit, determinism."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET

import pytest
from scenario_texts import CRASH

from twin.cli.app import main


def twin(*args: str, monkeypatch) -> int:
    monkeypatch.setattr(sys, "argv", ["twin", *args])
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code or 0


def test_run_judges_writes_results_and_junit(write_scenario, fake_backend, tmp_path, monkeypatch,
                                             capsys) -> None:
    path = write_scenario(CRASH)
    out = tmp_path / "out"
    junit = tmp_path / "junit.xml"
    code = twin("run", str(path), "--backend", "fake", "--out", str(out), "--junit", str(junit),
                monkeypatch=monkeypatch)
    text = capsys.readouterr().out
    assert code == 1  # the fake fails 'chat errors during the crash' in replication 2
    assert "FAILED crash: 1 of 3 checks failed" in text
    result = json.loads((out / "result.json").read_text())
    assert result["verdict"] == "failed" and result["failed_checks"] == ["chat errors during the crash"]
    bad = next(c for c in result["checks"] if c["status"] == "failed")
    assert bad["failed_in"] == 1 and bad["replications"] == 2
    assert (out / "run.json").exists() and (out / "routes.png").stat().st_size > 1000
    case = ET.parse(junit).getroot().find(".//testcase[@name='chat errors during the crash']")
    msg = case.find("failure").get("message")
    assert msg == ("SLO 'chat errors during the crash' failed in 1 of 2 replications: "
                   "route/chat.error_rate mean over kill..kill.end was 0.6, bound <= 0.5")


def test_same_seed_same_bytes_and_compare(write_scenario, fake_backend, tmp_path, monkeypatch,
                                          capsys) -> None:
    path = write_scenario(CRASH)
    for name in ("a", "b"):
        twin("run", str(path), "--backend", "fake", "--out", str(tmp_path / name),
             monkeypatch=monkeypatch)
    assert (tmp_path / "a/result.json").read_bytes() == (tmp_path / "b/result.json").read_bytes()
    twin("run", str(path), "--backend", "fake", "--out", str(tmp_path / "c"), "--set",
         "stores.redis.sentinel.down_after=5s", monkeypatch=monkeypatch)
    capsys.readouterr()
    assert twin("compare", str(tmp_path / "a"), str(tmp_path / "c"), "--format", "json",
                monkeypatch=monkeypatch) == 0
    rows = {r["label"]: r["cells"] for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["first +switch-master"] == ["+34.00s after kill", "+9.00s after kill"]
    assert rows["set stores.redis.sentinel.down_after"] == ["-", "5s"]


def test_exit_codes_for_bad_input_and_missing_backend(write_scenario, tmp_path, monkeypatch,
                                                      capsys) -> None:
    bad = write_scenario("name: x\nduration: 10s\nchecks: [{name: y, metric: nope, max: 1}]\n")
    assert twin("run", str(bad), monkeypatch=monkeypatch) == 2
    assert f"{bad}:6:20: checks.y.metric: 'nope' is not a metric" in capsys.readouterr().err
    from twin.result.backend import CannotRun
    from twin.scenario.runner import _REGISTERED, register_backend

    def missing():
        raise CannotRun("redis-server not found", "make servers")

    register_backend("gone", missing)
    good = write_scenario(CRASH, "good.yaml")
    try:
        assert twin("run", str(good), "--backend", "gone", monkeypatch=monkeypatch) == 3
        assert "cannot run: redis-server not found\nmake servers" in capsys.readouterr().err
        # an unknown name is bad input (2) naming the valid ones; a known one that cannot run is 3
        assert twin("run", str(good), "--backend", "nosuch", monkeypatch=monkeypatch) == 2
        err = capsys.readouterr().err
        assert "no backend named 'nosuch'" in err and "gone, kind, local, sim" in err
    finally:
        _REGISTERED.pop("gone", None)


def test_all_held_exits_0(write_scenario, fake_backend, monkeypatch) -> None:
    path = write_scenario(CRASH.replace("max: 0.5", "max: 0.7"))
    assert twin("run", str(path), "--backend", "fake", "--format", "json",
                monkeypatch=monkeypatch) == 0


@pytest.mark.parametrize("real_time,word", [(True, "real time"), (False, "simulated")])
def test_run_says_whether_its_backend_runs_in_real_time(write_scenario, fake_backend, monkeypatch,
                                                        capsys, real_time: bool, word: str) -> None:
    monkeypatch.setattr(fake_backend, "real_time", real_time, raising=False)
    twin("run", str(write_scenario(CRASH)), "--backend", "fake", monkeypatch=monkeypatch)
    err = capsys.readouterr().err
    assert f"x 120s {word}" in err


def test_strict_fails_a_run_with_a_check_its_backend_cannot_see(write_scenario, fake_backend,
                                                                monkeypatch, capsys) -> None:
    path = write_scenario(CRASH.replace("max: 0.5", "max: 0.7") + (
        "  - name: chat stays fast\n    metric: route/chat.p99\n    max: 1s\n"))
    assert twin("run", str(path), "--backend", "fake", monkeypatch=monkeypatch) == 0
    assert twin("run", str(path), "--backend", "fake", "--strict", monkeypatch=monkeypatch) == 1
    assert "--strict: checks not applicable on fake in crash" in capsys.readouterr().err
