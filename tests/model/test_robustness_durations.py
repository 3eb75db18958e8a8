"""A bare number on a duration in a file warns as the same `--set` does: one rule."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from twin.loading.files import load, load_topology
from twin.model.set_hints import warnings
from twin.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")
PROD = (ROOT / "topologies" / "eco2-prod.yaml").read_text(encoding="utf-8")
MS_SCENARIO = (ROOT / "scenarios" / "redis-master-crash-down-after-5s.yaml").read_text(
    encoding="utf-8").replace("stores.redis.sentinel.down_after: 5s", "stores.redis.sentinel.down_after: 5000")


def said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "twin.input"]


def test_a_millisecond_number_in_a_topology_file_warns_with_file_and_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = PROD.replace("      down_after: 30s ", "      down_after: 5000", 1)
    path = tmp_path / "prod.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "eco2-base.yaml").write_text(BASE, encoding="utf-8")
    line = next(i for i, s in enumerate(text.split("\n"), 1) if "down_after: 5000" in s)
    with caplog.at_level(logging.WARNING, "twin.input"):
        load_topology(path)  # valid: 5000 s is a duration, just not the one meant
    (set_line,) = warnings(Topology, ["stores.redis.sentinel.down_after=5000"])
    assert said(caplog) == [f"warning: {path}:{line}:7: stores.redis.sentinel.down_after: "
                            + set_line.split(": ", 1)[1]]


def test_a_scenario_override_warns_at_its_own_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "ms.yaml"
    path.write_text(MS_SCENARIO.replace("../topologies/", f"{ROOT / 'topologies'}/"), encoding="utf-8")
    with caplog.at_level(logging.WARNING, "twin.input"):
        load(path)
    line = MS_SCENARIO.split("\n").index("  stores.redis.sentinel.down_after: 5000") + 1
    assert said(caplog) == [f"warning: {path}:{line}:3: stores.redis.sentinel.down_after: a bare number "
                            "is seconds: 5000 is read as 5000s; for milliseconds write 5000ms (5s), "
                            "for seconds 5000s"]


def test_a_set_is_not_warned_twice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "twin.input"):
        load_topology(ROOT / "topologies" / "eco2-prod.yaml", ["stores.redis.sentinel.down_after=5000"])
    assert said(caplog) == []  # the command line says it, from the --set text (common.warn_sets)


def test_plausible_numbers_and_the_shipped_files_warn_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "twin.input"):
        for path in sorted((ROOT / "topologies").glob("eco2-*.yaml")) + sorted(
                (ROOT / "scenarios").glob("*.yaml")):
            load(path)
    assert said(caplog) == []


def test_the_warning_reaches_stderr_of_the_command(tmp_path: Path) -> None:
    path = tmp_path / "prod.yaml"
    path.write_text(PROD.replace("      down_after: 30s ", "      down_after: 5000", 1), encoding="utf-8")
    (tmp_path / "eco2-base.yaml").write_text(BASE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "twin.cli", "validate", str(path)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "warning: " in run.stderr and "stores.redis.sentinel.down_after: a bare number is seconds" \
        in run.stderr
    assert "ok " in run.stdout


def test_a_plausible_bare_number_in_each_kind_of_file_warns_how_it_was_read(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Topology, scenario and sweep: file, line, field, how it was read, how to write it."""
    (tmp_path / "eco2-base.yaml").write_text(BASE, encoding="utf-8")
    topo = PROD.replace("      down_after: 30s ", "      down_after: 5 ", 1)
    (tmp_path / "eco2-prod.yaml").write_text(topo, encoding="utf-8")
    scenario = (ROOT / "scenarios" / "redis-master-crash.yaml").read_text(encoding="utf-8") \
        .replace("\nduration: 3m\n", "\nduration: 180\n").replace("    at: 60s\n", "    at: 60\n") \
        .replace("../topologies/", "")
    (tmp_path / "s.yaml").write_text(scenario, encoding="utf-8")
    sweep = (ROOT / "sweeps" / "chat-3x.yaml").read_text(encoding="utf-8") \
        .replace("\nduration: 5m", "\nduration: 300").replace("../topologies/", "")
    (tmp_path / "w.yaml").write_text(sweep, encoding="utf-8")

    def line(text: str, what: str) -> int:
        return next(i for i, s in enumerate(text.split("\n"), 1) if s.strip().startswith(what))

    with caplog.at_level(logging.WARNING, "twin.input"):
        load(tmp_path / "eco2-prod.yaml")
        topo_said = said(caplog)
        caplog.clear()
        load(tmp_path / "s.yaml")
        scenario_said = said(caplog)
        caplog.clear()
        load(tmp_path / "w.yaml")
        sweep_said = said(caplog)
    down_after = (f"warning: {tmp_path / 'eco2-prod.yaml'}:{line(topo, 'down_after: 5')}:7: "
                  "stores.redis.sentinel.down_after: a bare number is seconds: 5 is read as 5s; "
                  "write 5s")
    assert topo_said == [down_after]
    s = tmp_path / "s.yaml"
    assert sorted(scenario_said) == sorted([
        down_after,  # its topology, loaded with it
        f"warning: {s}:{line(scenario, 'duration: 180')}:1: duration: a bare number is seconds: "
        "180 is read as 180s (3m); write 180s",
        f"warning: {s}:{line(scenario, 'at: 60')}:5: timeline.0.at: a bare number is seconds: "
        "60 is read as 60s; write 60s"])
    assert f"warning: {tmp_path / 'w.yaml'}:{line(sweep, 'duration: 300')}:1: duration: a bare " \
        "number is seconds: 300 is read as 300s (5m); write 300s" in sweep_said
