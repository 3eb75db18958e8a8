"""`twin sim`'s summary is honest about asynchronous routes: the turn table puts turns
completed per second, failures out of the turns completed and the turns still open next to
the API's accept rate; a warm-up not shorter than the run is refused with exit 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from twin.cli.sim import summary_table, turn_rows, turn_table, window_problems
from twin.result.model import ReplicationResult, Result, RouteMetrics, Saturation, Summary

ROOT = Path(__file__).resolve().parents[2]


def twin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def saturated_result() -> Result:
    """An API that accepted 30/s for 270 s while 2.2 turns/s completed (the 30/s chat run)."""
    chat = RouteMetrics(arrivals=8100, completed=8100, ok=8090, errors={"5xx": 10},
                        error_rate=10 / 8100, throughput=30.0, latency=Summary(count=8100),
                        in_flight=1.0, end_to_end=Summary(count=600, p50=150.0, p95=267.0,
                                                          p99=275.0),
                        end_to_end_ok=593, end_to_end_errors={"5xx": 7}, end_to_end_open=7500)
    login = RouteMetrics(arrivals=1350, completed=1350, ok=1350, errors={}, error_rate=0.0,
                         throughput=5.0, latency=Summary(count=1350), in_flight=0.1)
    run = ReplicationResult(replication=0, seed=1, duration=300.0, warmup=30.0,
                            routes={"login": login, "chat": chat})
    from twin.result.stats import aggregate

    return Result(topology="t.yaml", seed=1, replications=1, duration=300.0, warmup=30.0,
                  interval=2.5, loads={"chat": "30/s", "login": "5/s"}, runs=[run],
                  aggregate=aggregate([run]),
                  saturated=[Saturation(component="route/chat", evidence="e2e p95 grew")])


def render(table) -> str:  # noqa: ANN001 - a Rich Table
    console = Console(width=80, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_turn_row_puts_the_end_to_end_side_next_to_the_accept_side() -> None:
    (row,) = turn_rows(saturated_result())
    name, accepted, done, failed, still_open, p50, p95, p99 = row
    assert name == "chat"
    assert accepted == f"{8090 / 270:.2f}" and done == f"{600 / 270:.2f}"  # 29.96 vs 2.22
    assert failed == f"{7 / 600 * 100:.2f}% of 600"  # out of the turns completed, and says so
    assert still_open == f"7500 ({7500 / 8100 * 100:.0f}%)"
    assert (p50, p95, p99) == ("150s", "267s", "275s")


def test_tables_say_what_the_figures_are_out_of() -> None:
    res = saturated_result()
    responses = render(summary_table(res))
    assert "resp/s" in responses and "done/s" not in responses
    assert '"accepted", not done' in responses and "failed: of the responses" in responses
    chat = next(line for line in responses.splitlines() if line.startswith(" chat"))
    assert f"{10 / 8100 * 100:.2f}%" in chat  # the synchronous failures, not the turns'
    assert "chat: 5xx 10, turn:5xx 7" in responses
    turns = render(turn_table(res))
    assert "turns/s" in turns and "of the turns completed" in turns and "open" in turns
    assert "…" not in turns  # fits 80 columns without truncating a figure
    assert turn_table(res.model_copy(update={"runs": [res.runs[0].model_copy(
        update={"routes": {"login": res.runs[0].routes["login"]}})]})) is None


def test_warmup_must_be_shorter_than_the_duration() -> None:
    (p,) = window_problems(600.0, 1200.0, None, "10m", "20m", None)
    assert p.field == "warmup" and "--warmup 20m" in str(p) and "--duration 10m" in str(p)
    assert "shorter than the duration" in p.message
    assert window_problems(600.0, 600.0, None, "10m", "10m", None)  # equal: nothing measured
    assert window_problems(600.0, 599.0, None, "10m", "599s", None) == []
    assert window_problems(600.0, None, 5.0, "10m", None, "5s") == []
    (p,) = window_problems(600.0, None, 700.0, "10m", None, "700s")
    assert p.field == "interval"


def test_cli_refuses_a_warmup_longer_than_the_run_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "o"
    p = twin("sim", "--duration", "10m", "--warmup", "20m", "--out", str(out))
    assert p.returncode == 2, p.stdout
    assert "--warmup 20m" in p.stderr and "--duration 10m" in p.stderr
    assert p.stdout == "" and not out.exists()


def test_saturated_chat_run_shows_turns_far_below_the_accept_rate(tmp_path: Path) -> None:
    out = tmp_path / "s"
    p = twin("sim", "--load", "chat=30/s", "--duration", "2m", "--no-plots", "--out", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads((out / "result.json").read_text())
    run = data["runs"][0]
    chat = run["routes"]["chat"]
    span = run["duration"] - run["warmup"]
    row = next(line for line in p.stdout.splitlines()
               if line.startswith(" chat ") and "%" in line and "(" in line)
    cells = row.split()
    accepted, done = float(cells[1]), float(cells[2])
    assert abs(done - chat["end_to_end"]["count"] / span) < 0.006
    assert abs(accepted - chat["ok"] / span) < 0.006
    assert done < accepted / 5  # chat-worker serves a few turns/s of the 30/s accepted
    share = int(re.search(r"(\d+) \((\d+)%\)", row).group(1))
    assert share == chat["end_to_end_open"] and share > chat["arrivals"] / 2
