"""The PNGs say why the end-to-end latency has gaps (no turn completed in those intervals)
and what the throughput counts (accepted by the API vs turns completed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from twin.result.model import ReplicationResult, Result, RouteMetrics, Series, Summary
from twin.result.plots import idle_intervals, idle_mask, plot_result

T = [2.5 * i for i in range(1, 13)]  # 30 s at 2.5 s intervals, warm-up 5 s
P95 = [3.0, 4.0, 5.0, 0.0, 0.0, 0.0, 9.0, 0.0, 11.0, 0.0, 0.0, 14.0]


def result(extra: dict[str, list[float]] | None = None) -> Result:
    values = {"route/chat/throughput": [30.0] * 12, "route/chat/p50": [0.02] * 12,
              "route/chat/p95": [0.09] * 12, "route/chat/e2e_p50": [y * 0.9 for y in P95],
              "route/chat/e2e_p95": P95, "route/chat/error_rate": [0.0] * 11 + [0.5],
              "route/login/throughput": [5.0] * 12, "route/login/p50": [0.02] * 12,
              "route/login/p95": [0.06] * 12, "route/login/error_rate": [0.0] * 12,
              **(extra or {})}
    chat = RouteMetrics(arrivals=750, completed=750, ok=750, errors={}, error_rate=0.0,
                        throughput=30.0, latency=Summary(count=750), in_flight=1.0,
                        end_to_end=Summary(count=50), end_to_end_open=700)
    login = RouteMetrics(arrivals=125, completed=125, ok=125, errors={}, error_rate=0.0,
                         throughput=5.0, latency=Summary(count=125), in_flight=0.1)
    run = ReplicationResult(replication=0, seed=1, duration=30.0, warmup=5.0,
                            routes={"chat": chat, "login": login},
                            series=Series(interval=2.5, t=T, values=values))
    return Result(topology="t", seed=1, replications=1, duration=30.0, warmup=5.0,
                  interval=2.5, runs=[run])


def test_idle_intervals_merge_runs_and_skip_the_warmup() -> None:
    values = result().runs[0].series.values
    assert idle_intervals(T, values, "chat", 2.5) == [(7.5, 15.0), (17.5, 20.0), (22.5, 27.5)]
    # a completions series, when present, decides instead of a zero p95
    done = {**values, "route/chat/e2e_throughput": [1.0] * 11 + [0.0]}
    assert idle_mask(done, "chat") == [False] * 11 + [True]
    assert idle_intervals(T[:2], {"route/chat/e2e_p95": [0.0, 0.0]}, "chat", 2.5, 2.5) == [
        (2.5, 5.0)]  # the interval ending at the warm-up is inside it: not marked


def capture(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Each figure's axes texts, titles and legend labels, by file name."""
    from matplotlib.figure import Figure

    seen: dict[str, Any] = {}
    save = Figure.savefig

    def spy(self: Figure, path: Any, *args: Any, **kwargs: Any) -> None:
        texts = []
        for ax in self.axes:
            texts.append(ax.get_title(loc="left"))
            texts += [t.get_text() for t in ax.texts]
            legend = ax.get_legend()
            if legend is not None:
                texts += [t.get_text() for t in legend.get_texts()]
        seen[Path(path).name] = "\n".join(texts)
        save(self, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return seen


def test_latency_names_the_no_completion_intervals(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(monkeypatch)
    written = plot_result(result(), tmp_path)
    assert {p.name for p in written} == {"latency.png", "errors.png", "throughput.png"}
    latency = seen["latency.png"]
    assert "chat: no turn completed\n(15s in 3 spans)" in latency
    assert "no turn completed in the interval, so there is no latency to plot" in latency
    throughput = seen["throughput.png"]
    assert "chat: accepted by the API" in throughput and "login: responses" in throughput
    assert "chat: turns completed\n(mean after warm-up 2.00/s)" in throughput  # 50 / 25 s
    assert "dotted" in throughput
    assert "of the turns completed" in seen["errors.png"]


def test_throughput_uses_per_interval_completions_when_the_series_has_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = capture(monkeypatch)
    plot_result(result({"route/chat/e2e_throughput": [2.0] * 12}), tmp_path)
    assert "chat: turns completed" in seen["throughput.png"]
    assert "mean after warm-up" not in seen["throughput.png"]
    assert "dashed" in seen["throughput.png"]
    assert "no turn completed" not in seen["latency.png"]  # the series says every one had some
