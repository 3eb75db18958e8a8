"""`kind: Sweep` over a scenario: points are `twin run --set`, seeded as `twin run`, judged
by the scenario's own checks, on the sweeps' task runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.capacity import sweep as sweeps
from twin.model.errors import ModelError
from twin.scenario import loader
from twin.scenario import sweep as scenario_sweep
from twin.scenario.runner import execute

ROOT = Path(__file__).resolve().parents[2]


def _sweep(tmp_path: Path, axes: str, scenario: str = "redis-master-crash",
           extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Sweep
name: s
scenario: {ROOT}/scenarios/{scenario}.yaml
axes:
{axes}
replications: 2
{extra}""", encoding="utf-8")
    return path


def test_a_point_equal_to_the_file_judges_as_twin_run_does(tmp_path: Path) -> None:
    spec, doc = sweeps.load(_sweep(tmp_path, "  - {path: stores.redis.sentinel.down_after, "
                                             "values: [30s]}"))
    (result,) = scenario_sweep.run(spec, doc, scenario_sweep.plan(spec, doc), workers=1)
    run = execute(loader.load(ROOT / "scenarios" / "redis-master-crash.yaml"), replications=2)
    for o in run.outcomes:
        held, judged = result.held(o.name)
        if o.status != "n/a" and judged:
            assert judged - held == o.failed_in, o.name


def test_scenario_axes_reach_the_canary_and_more_traffic_to_a_worse_canary_is_caught(
        tmp_path: Path) -> None:
    axes = ("  - path: scenario.canary.regression\n"
            "    values: [[], [{error_rate: 0.5}]]\n")
    spec, doc = sweeps.load(_sweep(tmp_path, axes, "canary-bad-errors",
                                   "overrides:\n  scenario.duration: 3m\n"
                                   "  scenario.canary.progressive: {interval: 20s, threshold: 2}\n"))
    good, bad = scenario_sweep.run(spec, doc, scenario_sweep.plan(spec, doc), workers=2)
    assert (good.caught(), bad.caught()) == (0, 2)


def test_the_same_seed_gives_the_same_rows_locally_and_on_two_workers(tmp_path: Path) -> None:
    spec, doc = sweeps.load(_sweep(tmp_path, "  - {path: stores.redis.sentinel.down_after, "
                                             "values: [5s, 30s]}"))
    points = scenario_sweep.plan(spec, doc)
    one = json.dumps(scenario_sweep.rows(scenario_sweep.run(spec, doc, points, workers=1)))
    two = json.dumps(scenario_sweep.rows(scenario_sweep.run(spec, doc, points, workers=2)))
    assert one == two


def test_a_scenario_path_that_names_nothing_is_a_problem(tmp_path: Path) -> None:
    spec, doc = sweeps.load(_sweep(tmp_path, "  - {path: scenario.canary.interval, "
                                             "values: [1m]}"))
    with pytest.raises(ModelError) as e:
        scenario_sweep.plan(spec, doc)
    assert any("canary" in p.field for p in e.value.problems), e.value.problems


@pytest.mark.parametrize(("axes", "scenario", "says"), [
    ("  - {path: load.chat, values: [2/s]}", True, "a scenario sweep sets the load"),
    ("  - {path: scenario.duration, values: [1m]}", False, "name one with `scenario:`"),
])
def test_axes_that_do_not_fit_the_sweep_kind(tmp_path: Path, axes: str, scenario: bool,
                                             says: str) -> None:
    path = _sweep(tmp_path, axes)
    if not scenario:
        text = path.read_text().replace(f"scenario: {ROOT}/scenarios/redis-master-crash.yaml\n",
                                        f"topology: {ROOT}/topologies/eco2-prod.yaml\n"
                                        "duration: 1m\n")
        path.write_text(text)
    with pytest.raises(ModelError, match=says.replace("`", ".")):
        sweeps.load(path)


def test_validate_names_a_bad_axis_value_and_a_bad_axis_path_at_their_lines(tmp_path) -> None:
    """What `twin sweep` would refuse, `twin validate` finds first, in the sweep's own file."""
    from typer.testing import CliRunner

    from twin.cli.app import app

    text = (ROOT / "sweeps" / "redis-down-after.yaml").read_text(encoding="utf-8").replace(
        "../scenarios/", f"{ROOT}/scenarios/")
    bad_value = tmp_path / "value.yaml"
    bad_value.write_text(text.replace("values: [1s, 5s, 15s, 30s]", "values: [1s, banana]"), encoding="utf-8")
    bad_path = tmp_path / "path.yaml"
    bad_path.write_text(text.replace("path: stores.redis.sentinel.down_after",
                                     "path: scenario.timeline.crash.att"), encoding="utf-8")
    r = CliRunner().invoke(app, ["validate", str(bad_value), str(bad_path)])
    assert r.exit_code == 2, r.output
    out = " ".join(r.output.split())
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "values: [" in t)
    assert f"value.yaml:{line}:" in out and "axes.0.values.1" in out and "'banana' is not a duration" in out
    assert "axes.0.path" in out and "did you mean 'at'" in out
    assert "Traceback" not in r.output


def test_a_sweep_point_judges_saturation_checks_as_twin_run_does() -> None:
    """Each point's replications carry the time series a saturation check reads: with
    one chat-worker, redis-master-crash's saturation check fails (it was n/a in sweeps)."""
    from twin.scenario.canary_questions import Task
    from twin.scenario.sweep import replicate

    path = str(ROOT / "scenarios" / "redis-master-crash.yaml")
    check = "every worker and queue keeps up at peak"
    one = ("workers.chat-worker.replicas=1", "workers.chat-worker.hpa.min=1", "workers.chat-worker.hpa.max=1")
    assert replicate(Task(path, one, 7, 0))["checks"][check] == "failed"
    assert replicate(Task(path, (), 7, 0))["checks"][check] == "held"
