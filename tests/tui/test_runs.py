"""tui.runs: the scenario files, the child's JSON lines, merging progress."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tui_helpers import sync

from tui import runs

ROOT = Path(__file__).resolve().parents[2]


def test_every_shipped_scenario_is_listed_by_its_name() -> None:
    files = runs.scenario_files(ROOT / "scenarios")
    assert len(files) == len(list((ROOT / "scenarios").glob("*.yaml")))
    by_name = {f.name: f for f in files}
    crash = by_name["redis-master-crash"]
    assert crash.duration == "3m" and crash.replications == 3 and not crash.problem
    assert crash.description.startswith("Redis master crash")
    # a description quoting a topology value says the value in force, as `twin run` does
    assert crash.description.endswith("(down-after 30s)"), crash.description
    assert "{" not in by_name["redis-master-crash-down-after-5s"].description


def test_a_file_that_does_not_read_is_listed_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: twin.eco2/v1\nkind: Topology\n")
    (f,) = runs.scenario_files(tmp_path)
    assert f.name == "bad" and "bad.yaml:" in f.problem


def test_the_child_says_bad_input_as_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text((ROOT / "scenarios" / "redis-master-crash.yaml").read_text()
                   .replace("topology: ../topologies/eco2-prod.yaml",
                            f"topology: {ROOT / 'topologies' / 'eco2-prod.yaml'}")
                   .replace("duration: 3m", "duration: three minutes"))
    proc = subprocess.run(runs.command(bad), capture_output=True, text=True, env=runs._env())
    assert proc.returncode == 2
    (line,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert any("s.yaml:" in p and "duration" in p for p in line["error"]), line


def test_latest_merges_and_throttles() -> None:
    now = [0.0]
    latest = runs.Latest(0.1, clock=lambda: now[0])
    assert latest.take() is None  # nothing offered
    latest.offer(1)
    assert latest.take() == 1
    latest.offer(2)
    latest.offer(3)
    assert latest.take() is None  # too soon after the last one
    now[0] = 0.05
    assert latest.take(force=True) == 3 and latest.merged == 1  # 2 was merged into 3
    now[0] = 0.2
    latest.offer(4)
    assert latest.take() == 4 and latest.take() is None


def test_a_canary_runs_payload_carries_its_weight_over_time_for_the_chart() -> None:
    from twin.scenario import loader
    from twin.scenario.runner import execute

    run = execute(loader.load(ROOT / "scenarios" / "canary-good.yaml"), replications=1)
    canary = runs.payload(run)["series"]["canary"]
    weights = [w for w in canary["weight"] if w is not None]
    assert canary["label"] == "chat-api v2"
    assert weights[0] == 10 and max(weights) == 50 and weights[-1] == 0  # promoted at 5m
    assert {"v1 p99", "v2 p99"} <= set(canary)
    assert "canary" not in runs.payload(execute(loader.load(
        ROOT / "scenarios" / "retry-storm.yaml"), replications=1))["series"]


@sync
async def test_the_fourth_chart_shows_the_canarys_weight() -> None:
    from textual.app import App

    from tui.charts import RunCharts

    t = [60.0 * i for i in range(1, 8)]
    data = {"series": {"t": t, "routes": {}, "queues": {"chat-tasks": [0.0] * 7},
                       "canary": {"label": "chat-api v2", "weight": [10, 20, 30, 40, 50, 0, 0]}}}

    class One(App):
        def compose(self):  # noqa: ANN202
            yield RunCharts()

    async with One().run_test(size=(120, 40)) as pilot:
        charts = pilot.app.query_one(RunCharts)
        charts.show(data, None)
        await pilot.pause()
        plot = charts.query_one("#chart-queues")
        plot.plt.plotsize(100, 20)
        assert "chat-api v2 weight (%)" in plot.plt.build()
