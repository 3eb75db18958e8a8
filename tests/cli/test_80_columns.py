"""At an 80-column terminal every command's help and the model's and a run's views
fit: no line longer than 80, no help text cut with an ellipsis, no name split
inside a word."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from rich.cells import cell_len
from typer.testing import CliRunner

from twin.cli import common
from twin.cli.app import app
from twin.cli.fit import cell, wrap

WIDTH = 80
ROOT = Path(__file__).resolve().parents[2]


def _commands(command: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.fixture
def run80(monkeypatch: pytest.MonkeyPatch):
    """The CLI in this process at COLUMNS=80 (the consoles' width is fixed at import)."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    monkeypatch.setattr(common.out, "width", WIDTH)
    monkeypatch.setattr(common.err, "width", WIDTH)
    monkeypatch.chdir(ROOT)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(app, list(args), env={"COLUMNS": str(WIDTH)})
        assert result.exit_code in (0, 1), (args, result.output)
        return result.output

    return run


def _too_long(text: str) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > WIDTH]


def test_every_command_is_found() -> None:
    assert ("run",) in COMMANDS and ("status",) in COMMANDS and () in COMMANDS
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "twin")
def test_help_fits_80_columns_uncut(run80, path: tuple[str, ...]) -> None:
    text = run80(*path, "--help")
    assert "Usage:" in text
    assert not _too_long(text)
    # Typer's panels cut a word too long for the column with an ellipsis; the usage
    # line's `[ARGS]...` is click's notation for a repeatable argument, not a cut
    cut = [line for line in text.splitlines()
           if not line.lstrip().startswith("Usage:")
           and line.rstrip(" │").endswith(("...", "…"))]
    assert not cut, cut


@pytest.mark.parametrize("args", [
    ("status",), ("domain", "chat"), ("domain", "scan"), ("graph",),
    ("graph", "--blast-radius", "node/k8s-storage"), ("graph", "--route", "chat"),
])
def test_model_views_fit_80_columns(run80, args: tuple[str, ...]) -> None:
    text = run80(*args)
    assert not _too_long(text), _too_long(text)


def test_views_wrap_without_losing_words(run80) -> None:
    """The graph's longest line (chat-api's needs, 245 columns) is all there, wrapped."""
    lines = run80("graph").splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("service/chat-api -> "))
    block = [lines[start]] + [x for x in lines[start + 1:] if x.startswith("    ")][:3]
    joined = " ".join(x.strip() for x in block)
    for needed in ("store/rabbitmq (client via service)", "node/k8s-worker-2 (runs on)"):
        assert needed in joined
    assert lines[start + 1].startswith("    ")  # a continuation, indented


def test_run_report_and_compare_fit_80_columns(run80, tmp_path: Path) -> None:
    scenario = "scenarios/redis-master-crash.yaml"
    report = run80("run", scenario, "--replications", "2", "--out", str(tmp_path / "a"))
    assert not _too_long(report), _too_long(report)
    lines = report.splitlines()
    # the timeline's details are there, wrapped under their events, not cut to a sliver
    assert any(x.strip() == "master mymaster redis-0 6379 #quorum 2/2" for x in lines)
    # a metric name breaks at most after `/` or `.`: its words stay whole
    assert any("subscriptions_dropped" in x for x in lines)
    assert any("route/chat.error_rate" in x for x in lines)
    assert "(worst of 2)" in report

    run80("run", scenario, "--replications", "1", "--set", "stores.redis.sentinel.down_after=5s",
          "--out", str(tmp_path / "b"))
    side = run80("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert not _too_long(side), _too_long(side)
    assert "…" not in side
    label = [x.split("│")[1].strip() for x in side.splitlines() if x.startswith("│")]
    at = label.index("set")
    assert "".join(label[at + 1:at + 3]) == "stores.redis.sentinel.down_after"


@pytest.mark.parametrize(("width", "expected"), [
    (30, ["route/chat/end_to_end.p95 sum", "over crash..end"]),
    (14, ["route/chat/", "end_to_end.p95", "sum over", "crash..end"]),
])
def test_a_metric_breaks_only_after_a_slash_or_a_dot(width: int, expected: list[str]) -> None:
    assert cell("route/chat/end_to_end.p95 sum over crash..end", width).split("\n") == expected


def test_continuation_lines_are_indented_under_their_line() -> None:
    lines = wrap("  store/redis: 3 of 3 pods on k8s-storage; down until the node returns", 40)
    assert lines == ["  store/redis: 3 of 3 pods on", "      k8s-storage; down until the node",
                     "      returns"]
    assert wrap("short", 40) == ["short"]
