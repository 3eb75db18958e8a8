"""The Scenarios page driven by keys: list, run in a child process, checks, charts, cancel."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual_plotext import PlotextPlot
from tui_helpers import plain, sync

from tui import runs
from tui.charts import RunCharts
from tui.scenarios import ScenariosScreen
from twin.model.source import document


async def _scenarios(app: Any, pilot: Any) -> ScenariosScreen:
    await pilot.press("2")
    screen = app.screen
    assert isinstance(screen, ScenariosScreen)
    await screen.workers.wait_for_complete()
    await pilot.pause()
    return screen


async def _to(pilot: Any, screen: ScenariosScreen, name: str) -> None:
    table = screen.query_one("#files")
    await pilot.press(*["down"] * table.get_row_index(name))
    assert screen.shown == name


async def _until(pilot: Any, done: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.2)


@sync
async def test_lists_the_scenario_files(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        table = screen.query_one("#files")
        assert [str(k.value) for k in table.rows] == ["llm-slow", "redis-master-crash",
                                                      "storage-node-loss"]
        assert app.focused is table
        assert "llm-slow" in plain(screen.query_one("#run-title").content)
        assert "r (or Enter) runs it" in plain(screen.query_one("#checks-text").content)


@sync
async def test_run_a_scenario_to_the_end_and_see_its_checks(
        make_app: Callable[..., Any], scenarios_dir: Path, recorded: dict[str, Any]) -> None:
    app = make_app(replications=1)
    checks = [c["name"] for c in document(scenarios_dir / "redis-master-crash.yaml").data["checks"]]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        await _to(pilot, screen, "redis-master-crash")
        await pilot.press("r")
        assert screen.running == "redis-master-crash"
        await _until(pilot, lambda: bool(runs.CHILDREN), 30)  # the run is a child process
        await _until(pilot, lambda: screen.running is None, 90)
        data = screen.results["redis-master-crash"]
        assert set(data) == set(recorded)  # the recorded run of the snapshots has today's shape
        assert data["replications"] == 1 and len(data["checks"]) == len(checks)
        assert 1 <= screen.progress_shown <= 21  # merged: at most one per 100 ms of ~20 lines
        text = plain(screen.query_one("#checks-text").content)
        for name in checks:
            assert name in text, name
        failed = sum(c["status"] == "failed" for c in data["checks"])
        assert text.count("FAILED") == failed and text.count("held") >= len(checks) - failed
        status = screen.query_one("#files").get_cell("redis-master-crash", "status").plain
        assert status == ("ok" if data["verdict"] == "passed" else "FAIL")
        assert "checks held" in plain(screen.query_one("#run-title").content) or failed

        await pilot.press("l")
        assert "+switch-master" in plain(screen.query_one("#timeline-text").content)
        await pilot.press("g")
        assert screen.route == "chat"  # the route the checks name
        chart = screen.query_one("#chart-latency", PlotextPlot).render().plain
        assert "chat latency" in chart and "p99" in chart  # the title and the legend
        assert any(0x2800 < ord(ch) <= 0x28FF for ch in chart)  # and braille dots: a line
        await pilot.press("right_square_bracket")
        assert screen.route != "chat"
        # the child exits after its last line; on a busy machine the worker's wait for it
        # may end after the screen has shown the result
        await _until(pilot, lambda: not runs.CHILDREN, 30)


@sync
async def test_cancel_kills_the_child_process(make_app: Callable[..., Any]) -> None:
    app = make_app(replications=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        await _to(pilot, screen, "storage-node-loss")  # 8 m simulated, several replications
        await pilot.press("r")
        await _until(pilot, lambda: screen.progress_shown > 0, 60)
        (pid,) = runs.CHILDREN
        await pilot.press("x")
        await _until(pilot, lambda: not runs.CHILDREN, 10)
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
        assert screen.running is None and "storage-node-loss" not in screen.results
        assert screen.query_one("#files").get_cell("storage-node-loss", "status").plain == "stop"


@sync
async def test_quitting_during_a_run_kills_its_child(make_app: Callable[..., Any]) -> None:
    app = make_app(replications=None)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        await _to(pilot, screen, "storage-node-loss")
        await pilot.press("r")
        await _until(pilot, lambda: bool(runs.CHILDREN), 30)
        (pid,) = runs.CHILDREN
        await pilot.press("q")
    assert not runs.CHILDREN
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # killed; gone once its parent has reaped it (or init has)
            os.kill(pid, 0)
            time.sleep(0.1)


@sync
async def test_a_bad_file_is_listed_with_its_problem(make_app: Callable[..., Any],
                                                     scenarios_dir: Path) -> None:
    (scenarios_dir / "broken.yaml").write_text("apiVersion: twin.eco2/v1\nkind: Scenario\n"
                                              "name: [not, a, name\n")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        assert screen.query_one("#files").get_cell("broken", "status").plain == "bad"
        await _to(pilot, screen, "broken")
        assert "cannot be read" in plain(screen.query_one("#run-title").content)
        assert "broken.yaml:" in plain(screen.query_one("#checks-text").content)
        await pilot.press("r")
        assert screen.running is None and not runs.CHILDREN


@sync
async def test_the_cursor_redraws_the_run_panes_only_when_they_change(
        make_app: Callable[..., Any], recorded: dict[str, Any]) -> None:
    """Crossing files never run redraws no chart; a finished run's panes come back, its
    charts at the route its checks name even after `]` showed another."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _scenarios(app, pilot)
        charts = screen.query_one(RunCharts)
        drawn: list[str | None] = []
        show = charts.show
        charts.show = lambda data, route: (drawn.append(route), show(data, route))[1]  # type: ignore[method-assign]
        await _to(pilot, screen, "storage-node-loss")  # from llm-slow, over redis-master-crash
        await pilot.press("up", "down", "up")
        await pilot.pause()
        assert drawn == []
        assert "r (or Enter) runs it" in plain(screen.query_one("#checks-text").content)

        screen.results["redis-master-crash"] = recorded  # as if it had just been run
        await pilot.press("down")
        await pilot.pause()
        assert screen.shown == "storage-node-loss" and drawn == []
        await pilot.press("up")
        await pilot.pause()
        assert screen.shown == "redis-master-crash" and drawn == ["chat"]
        assert recorded["checks"][0]["name"] in plain(screen.query_one("#checks-text").content)
        await pilot.press("right_square_bracket")
        assert screen.route != "chat" and drawn[-1] == screen.route
        screen._show("redis-master-crash")  # the cursor back on it before the pane followed
        assert drawn[-1] == "chat"
        await pilot.press("right_square_bracket")
        await pilot.press("down")
        await pilot.pause()
        assert drawn[-1] is None
        assert "r (or Enter) runs it" in plain(screen.query_one("#checks-text").content)
        await pilot.press("up", "c")
        await pilot.pause()
        assert screen.route == "chat" and drawn[-1] == "chat"
        assert recorded["checks"][0]["name"] in plain(screen.query_one("#checks-text").content)
