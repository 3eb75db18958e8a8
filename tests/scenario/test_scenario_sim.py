"""Shipped scenarios on the simulator, shortened: they validate and their checks hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scenario import loader
from twin.scenario.runner import execute

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path: Path) -> None:
    assert loader.load(path).scenario.name == path.stem


def test_master_crash_with_5s_down_after_fails_over_in_time() -> None:
    """+sdown within [D, D + 150 ms] of the crash, a failover within 10 s, chat back."""
    path = [p for p in SCENARIOS if p.stem == "redis-master-crash-down-after-5s"][0]
    run = execute(loader.load(path, ["scenario.replications=1", "scenario.duration=90s"]))
    assert run.passed, [o.sentence() for o in run.outcomes]
    assert run.impact["routes"]["chat"]["failed"] > 0  # the crash did hurt chat


def test_failing_example_fails_with_sentences() -> None:
    path = Path(__file__).resolve().parents[2] / "examples/failing/redis-master-crash-tight-slo.yaml"
    run = execute(loader.load(path, ["scenario.replications=1", "scenario.duration=80s"]))
    assert not run.passed
    failed = [o.sentence() for o in run.outcomes if o.status == "failed"]
    assert any("a +switch-master within 10s of the crash' failed" in s and "bound <= 10s" in s
               for s in failed)
