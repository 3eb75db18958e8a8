"""result.json keeps every event with its own time; only the printed timeline merges
what several sentinels saw into one row."""

from __future__ import annotations

import json

from scenario_texts import CRASH
from test_scenario_cli import twin


def test_result_json_keeps_each_sentinels_event(write_scenario, fake_backend, tmp_path, monkeypatch,
                                                capsys) -> None:
    out = tmp_path / "o"
    assert twin("run", str(write_scenario(CRASH)), "--backend", "fake", "--out", str(out),
                monkeypatch=monkeypatch) == 1
    text = capsys.readouterr().out
    rows = json.loads((out / "result.json").read_text())["timeline"]
    sdown = [r for r in rows if r["event"] == "+sdown"]
    # the fake's three sentinels see +sdown 10 ms apart; each keeps its own source and time
    assert [r["source"] for r in sdown] == ["sentinel/0", "sentinel/1", "sentinel/2"]
    gaps = [b["t"] - a["t"] for a, b in zip(sdown, sdown[1:], strict=False)]
    assert all(abs(g - 0.01) < 1e-3 for g in gaps)
    assert "sentinel/0,1,2" in text  # merged for display only


def test_the_old_master_down_after_the_failover_reads_as_a_replica() -> None:
    """At down-after 5 s the crashed master is a replica by the time the sentinels mark
    it +sdown again: the timeline says `slave`, as Sentinel's own message does."""
    from pathlib import Path

    from twin.scenario import loader
    from twin.scenario.runner import execute

    path = Path(__file__).resolve().parents[2] / "scenarios" / "redis-master-crash-down-after-5s.yaml"
    run = execute(loader.load(path, ["scenario.replications=1"]))
    switch = next(e["t"] for e in run.timeline if e["event"] == "+switch-master")
    sdowns = [e for e in run.timeline if e["event"] == "+sdown"]
    before = [e for e in sdowns if e["t"] < switch]
    after = [e for e in sdowns if e["t"] > switch]
    assert before and all(e["detail"] == "master mymaster redis-0 6379" for e in before)
    assert after and all(e["detail"].startswith("slave redis-0:6379 redis-0 6379 @ mymaster redis-")
                         for e in after)


def test_a_merged_row_shows_the_span_of_the_sentinels_own_times() -> None:
    from twin.scenario.metrics import merged, when

    rows = [{"t": 30.04, "source": "sentinel/1", "event": "+sdown", "detail": "master mymaster redis-0 6379"},
            {"t": 30.07, "source": "sentinel/0", "event": "+sdown", "detail": "master mymaster redis-0 6379"},
            {"t": 30.11, "source": "sentinel/2", "event": "+sdown", "detail": "master mymaster redis-0 6379"},
            {"t": 30.11, "source": "sentinel/2", "event": "+odown",
             "detail": "master mymaster redis-0 6379 #quorum 2/2"},
            {"t": 33.5, "source": "sentinel/0", "event": "+sdown", "detail": "master mymaster redis-0 6379"}]
    out = merged(rows)
    assert [(r["source"], r["n"], r["t"], r["t_last"]) for r in out] == [
        ("sentinel/1,0,2", 3, 30.04, 30.11), ("sentinel/2", 1, 30.11, 30.11),
        ("sentinel/0", 1, 33.5, 33.5)]  # 3.5 s after the first: another row
    assert when(out[0]) == "30.04-30.11s"
    assert when(out[0], 10.0, "+") == "+20.04-20.11s"
    assert when(out[1]) == "30.11s"
    assert rows[0].get("n") is None  # the timeline itself keeps each event


def test_the_printed_timeline_shows_how_many_and_when(write_scenario, fake_backend, tmp_path,
                                                      monkeypatch, capsys) -> None:
    twin("run", str(write_scenario(CRASH)), "--backend", "fake", monkeypatch=monkeypatch)
    line = next(x for x in capsys.readouterr().out.splitlines() if "+sdown" in x)
    assert "+sdown x3" in line and "sentinel/0,1,2" in line
    first, last = line.split("+sdown")[0].split()[1].rstrip("s").lstrip("+").split("-")
    assert abs(float(last) - float(first) - 0.02) < 0.006  # the fake's sentinels: 10 ms apart
