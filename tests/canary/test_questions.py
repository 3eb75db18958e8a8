"""`twin canary`: detection probability with Wilson's interval, the recommendation's rule,
and the command on a short scenario (bad input exits 2; a run writes its table and plot)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twin.scenario import canary_questions as q

ROOT = Path(__file__).resolve().parents[2]


def _cell(strategy: str, regression: str, decisions: list[str | None], settings: str = "",
          bad: int = 0) -> q.Cell:
    c = q.Cell(q.Variant(strategy, regression, settings))
    for d in decisions:
        c.outcomes.append({"decision": d, "detected_at": 60.0 if d in q.DETECTED else None,
                           "failed_tries": bad, "slow_tries": 0})
    return c


def test_detection_probability_and_wilsons_interval() -> None:
    """7 of 10: Wilson's 95 % interval is [0.3968, 0.8922] (Newcombe 1998's formula)."""
    c = _cell("fixed", "2%", ["detected"] * 7 + [None] * 3)
    assert c.probability == 0.7 and c.time_to_detection == 60.0
    lo, hi = c.interval()
    assert (lo, hi) == pytest.approx((0.3968, 0.8922), abs=1e-4)


def test_how_long_a_fixed_split_must_run_is_the_quantile_of_its_detection_times() -> None:
    c = _cell("fixed", "2%", [])
    c.outcomes = [{"decision": "detected", "detected_at": t, "failed_tries": 0, "slow_tries": 0}
                  for t in (60.0, 120.0, 180.0, 240.0)] + [
        {"decision": None, "detected_at": None, "failed_tries": 0, "slow_tries": 0}]
    assert c.time_to_catch(0.6) == 180.0 and c.time_to_catch(0.8) == 240.0
    assert c.time_to_catch(0.9) is None  # one release in five was not caught in the run


def test_recommend_takes_the_cheapest_setting_that_catches_it_without_false_rollbacks() -> None:
    cells = [
        _cell("progressive", "2%", ["rolled back"] * 10, "cheap but jumpy", bad=1),
        _cell("progressive", "none", ["rolled back"] + ["promoted"] * 9, "cheap but jumpy"),
        _cell("progressive", "2%", ["rolled back"] * 9 + ["promoted"], "careful", bad=5),
        _cell("progressive", "none", ["promoted"] * 10, "careful"),
        _cell("progressive", "2%", ["rolled back"] * 10, "costly", bad=9),
        _cell("progressive", "none", ["promoted"] * 10, "costly"),
    ]
    assert q.recommend(cells, 0.9).variant.settings == "careful"
    assert q.recommend(cells, 0.95).variant.settings == "costly"
    assert q.recommend(cells, 0.9, false_alarms=0.1).variant.settings == "cheap but jumpy"
    assert q.recommend(cells[:2], 0.9) is None


@pytest.mark.parametrize("bad", ["2", "x", "-3%"])
def test_a_regression_that_is_not_one_is_refused(bad: str) -> None:
    if bad == "-3%":  # a negative error rate is refused by the scenario's own model
        from twin.model.errors import ModelError

        with pytest.raises(ModelError, match="error_rate"):
            q.run(ROOT / "scenarios" / "canary-good.yaml", q.side_by_side(["fixed"], [bad]), 2, 1)
        return
    with pytest.raises(ValueError, match="a regression is 2% \\(errors\\), x1.5"):
        q.regression_sets(bad)


def twin(*args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80"})


def test_a_scenario_without_a_canary_is_bad_input() -> None:
    r = twin("canary", "scenarios/retry-storm.yaml", "--regression", "2%,zz")
    assert r.returncode == 2, r.stderr
    assert "scenarios/retry-storm.yaml:1:1: canary: the scenario has no canary: section" in r.stderr
    assert "--regression zz: regression:" in r.stderr


def test_the_command_answers_side_by_side_and_writes_its_plot(tmp_path: Path) -> None:
    """A short, loud regression: the progressive canary catches 50 % errors, never a good one."""
    text = (ROOT / "scenarios" / "canary-bad-errors.yaml").read_text(encoding="utf-8")
    scn = tmp_path / "c.yaml"
    scn.write_text(text.replace("../topologies/", f"{ROOT}/topologies/")
                   .replace("duration: 7m", "duration: 4m")
                   .replace("{interval: 1m, step_weight: 10, max_weight: 50, threshold: 5}",
                            "{interval: 30s, step_weight: 10, max_weight: 50, threshold: 2}"),
                   encoding="utf-8")
    out = tmp_path / "out"
    r = twin("canary", str(scn), "--regression", "none,50%", "--replications", "3",
             "--out", str(out))
    assert r.returncode == 0, r.stderr
    rows = {(x["strategy"], x["regression"]): x for x in json.loads((out / "canary.json").read_text())}
    assert rows[("progressive", "50%")]["probability"] == 1.0
    assert rows[("progressive", "none")]["probability"] == 0.0
    # the fixed split keeps its own analysis (5 checks of 1 min): it cannot decide in 4 min
    assert rows[("fixed", "50%")]["detected"] == 0 < rows[("fixed", "50%")]["bad_tries"]
    assert (out / "detection.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "caught" in r.stdout and "after" in r.stdout
    assert "the fixed split sees 50% in 90% of releases only after more than 4m" in " ".join(
        r.stdout.split())
    assert max(len(line) for line in r.stdout.splitlines() if "wrote" not in line) <= 80
