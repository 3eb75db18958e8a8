"""routes.png and checks.png as a reader takes them: no effect before its cause, a legend
for the bands and lines, each check's bound and window, units on the y axes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from scenario_texts import PROD

from twin.result.trace import Trace
from twin.scenario.loader import load
from twin.scenario.plots import checks_figure, held_steps, plot_run, routes_figure, unit
from twin.scenario.runner import _REGISTERED, Run, execute, register_backend

CRASH_AT = 30.0
LONG_NAME = "the crash drops the SSE gateway's Pub/Sub subscriptions " * 3

SCENARIO = f"""\
apiVersion: twin.eco2/v1
kind: Scenario
topology: {PROD}
name: plots
duration: 60s
warmup: 10s
replications: 2
timeline:
  - {{id: crash, at: {CRASH_AT:g}s, action: redis-master-crash, target: store/redis}}
checks:
  - name: chat is healthy before the crash
    metric: route/chat.error_rate
    window: warmup..crash
    max: 0.02
  - name: {LONG_NAME.strip()}
    metric: store/redis.subscriptions_dropped
    stat: sum
    window: crash-1s..end
    min: 1
  - name: chat recovers
    recovery: route/chat.error_rate
    after: crash
    within: 20s
    max: 0.05
  - name: one failover
    event: +switch-master
    window: crash..end
    range: [1, 1]
"""


class Instant:
    """Like the simulator's recorder: bucket i covers [i, i+1) and is sampled when it
    closes, so what happens at the crash's instant (subscriptions dropped) is in the
    bucket the instant closes, 29; requests fail from the crash on, in bucket 30."""

    name = "plots-fake"

    def run(self, scenario, topology, seed, replications, progress):  # noqa: ANN001, ANN201
        n = 60
        out = []
        for rep in range(replications):
            failed = np.zeros(n)
            failed[int(CRASH_AT):] = 10.0 - rep
            dropped = np.zeros(n)
            dropped[int(CRASH_AT) - 1] = 3.0
            failing = np.zeros(n)
            failing[int(CRASH_AT):] = 1.0
            out.append(Trace(1.0, counters={
                "route/chat.requests": np.full(n, 10.0), "route/chat.failed": failed,
                "store/redis.subscriptions_dropped": dropped},
                gauges={"store/redis.write_failing": failing},
                event_list=[{"t": CRASH_AT + 31, "source": "sentinel/0", "event": "+switch-master",
                             "detail": {}}]))
        return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    path = tmp_path_factory.mktemp("plots") / "plots.yaml"
    path.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    register_backend("plots-fake", Instant)
    try:
        return execute(load(path), backend="plots-fake")
    finally:
        _REGISTERED.pop("plots-fake", None)


@pytest.fixture(scope="module")
def checks(run: Run):  # noqa: ANN201 - a matplotlib Figure
    return checks_figure(run)


def _panel(fig, title: str):  # noqa: ANN001, ANN202
    return next(ax for ax in fig.axes if ax.get_title() == title)


def _replication(ax, n: int = 1) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    line = next(ln for ln in ax.get_lines() if ln.get_gid() == f"replication-{n}")
    return np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)


def _first_rise(x: np.ndarray, y: np.ndarray) -> float:
    return float(x[np.nonzero(np.nan_to_num(y) > 0)[0][0]])


def _bound_segments(ax) -> list[tuple[float, float, float]]:  # noqa: ANN001
    """(y, x0, x1) of each dashed bound line."""
    segs = [s for c in ax.collections if c.get_gid() == "bound" for s in c.get_segments()]
    return [(float(s[0][1]), float(s[0][0]), float(s[1][0])) for s in segs]


def test_a_bucket_is_drawn_from_its_end() -> None:
    x, y = held_steps(np.array([0.0, 1.0, 2.0]), np.array([5.0, np.nan, 7.0]), 1.0)
    assert list(x) == [1.0, 2.0, 3.0, 4.0]
    assert y[0] == 5.0 and np.isnan(y[1]) and list(y[2:]) == [7.0, 7.0]


def test_no_effect_before_its_cause(run: Run, checks) -> None:  # noqa: ANN001
    # counted at the crash's instant, in the bucket [29, 30) that instant closes
    ax = _panel(checks, LONG_NAME.strip()[:79].rstrip() + "\u2026")
    x, y = _replication(ax)
    assert _first_rise(x, y) == CRASH_AT  # bucket start (the old placement) would say 29
    assert y[-1] == 3.0  # the running total the check sums
    routes = routes_figure(run)
    for n in (1, 2):
        x, y = _replication(_panel(routes, "chat: error rate"), n)
        assert CRASH_AT <= _first_rise(x, y) <= CRASH_AT + 1.0  # its first bucket, at its end
    fault_lines = [ln for ln in _panel(routes, "chat: error rate").get_lines()
                   if ln.get_linestyle() == "--"]
    assert [float(ln.get_xdata()[0]) for ln in fault_lines] == [CRASH_AT]


def test_one_legend_names_the_bands_and_lines(run: Run, checks) -> None:  # noqa: ANN001
    for fig in (routes_figure(run), checks):
        assert len(fig.legends) == 1
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels[0] == "warm-up (0 to 10s)"
        assert labels[1] == ("fault crash: redis-master-crash store/redis, 30s to end of run "
                             "(no `for`)")
        assert "replication 1" in labels and "replication 2" in labels
    labels = [t.get_text() for t in checks.legends[0].get_texts()]
    assert "check bound" in labels and "check window / recovery deadline" in labels


def test_metric_check_panel_has_its_name_bound_window_and_unit(checks) -> None:  # noqa: ANN001
    ax = _panel(checks, "chat is healthy before the crash")
    subtitle = " ".join(t.get_text() for t in ax.texts)
    assert "route/chat.error_rate mean over warmup..crash" in subtitle
    assert _bound_segments(ax) == [(0.02, 10.0, CRASH_AT)]
    dotted = sorted(float(ln.get_xdata()[0]) for ln in ax.get_lines() if ln.get_linestyle() == ":")
    assert dotted == [10.0, CRASH_AT]
    assert ax.get_ylabel() == "fraction"
    assert ax.get_title(loc="right") == "held"
    ax = _panel(checks, LONG_NAME.strip()[:79].rstrip() + "\u2026")
    assert _bound_segments(ax) == [(1.0, CRASH_AT - 1, 60.0)]
    assert ax.get_ylabel() == "count, total so far"


def test_recovery_panel_has_the_steady_state_bound_and_deadline(checks) -> None:  # noqa: ANN001
    ax = _panel(checks, "chat recovers")
    assert _bound_segments(ax) == [(0.05, CRASH_AT, 60.0)]
    dotted = sorted(float(ln.get_xdata()[0]) for ln in ax.get_lines() if ln.get_linestyle() == ":")
    assert dotted == [CRASH_AT, CRASH_AT + 20]
    assert ax.get_title(loc="right") == "failed"  # chat never recovers here


def test_event_checks_are_left_to_the_report(checks) -> None:  # noqa: ANN001
    titles = [ax.get_title() for ax in checks.axes]
    assert len(titles) == 3 and "one failover" not in titles
    assert "1 event check not plotted" in checks._suptitle.get_text()


def test_units() -> None:
    assert unit("route/chat.latency", "p99") == "s"
    assert unit("route/chat.p99", "mean") == "s"
    assert unit("route/chat.error_rate", "mean") == "fraction"
    assert unit("route/chat.requests", "rate") == "1/s"
    assert unit("store/redis.connections_opened", "sum") == "count"
    assert unit("store/redis.write_failing", "max") == "0/1"
    assert unit("queue/scan-tasks.length", "max") == "count"


def test_plot_run_writes_both_pngs(run: Run, tmp_path: Path) -> None:
    files = plot_run(run, tmp_path)
    assert [f.name for f in files] == ["routes.png", "checks.png"]
    assert all(f.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f.stat().st_size > 10_000 for f in files)
