"""A run's charts over simulated time (textual-plotext): one route's latency
percentiles, error rate and throughput, and every queue's depth (a canary release's
weight instead, when the scenario has one); the faults drawn as vertical lines where
they start."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual_plotext import PlotextPlot

CHARTS = (
    ("latency", "latency (s)"),
    ("errors", "error rate"),
    ("throughput", "throughput (requests/s)"),
    ("queues", "queue depth (messages)"),  # titles fit a 40-column chart, or plotext drops them
)
"""(id, title) of each chart, in the order they are laid out."""

LATENCY = (("p50", "green"), ("p95", "orange"), ("p99", "red"))


def _points(t: list[float], values: list[float | None]) -> tuple[list[float], list[float]]:
    """The buckets that have a value (None: nothing measured there)."""
    pairs = [(x, y) for x, y in zip(t, values, strict=False) if y is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]


class RunCharts(Grid):
    """Four charts of one finished run; `show(data, route)` redraws them."""

    def compose(self) -> ComposeResult:
        for chart_id, _ in CHARTS:
            yield PlotextPlot(id=f"chart-{chart_id}")

    def on_mount(self) -> None:
        self.show(None, None)

    def show(self, data: dict[str, Any] | None, route: str | None) -> None:
        series = (data or {}).get("series") or {}
        t = series.get("t", [])
        per_route = series.get("routes", {}).get(route, {}) if route else {}
        faults = (data or {}).get("faults", [])
        for chart_id, title in CHARTS:
            plot = self.query_one(f"#chart-{chart_id}", PlotextPlot)
            plt = plot.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(f"{route} {title}" if route and chart_id != "queues" else title)
            drawn = False
            if chart_id == "latency":
                for name, color in LATENCY:
                    x, y = _points(t, per_route.get(name, []))
                    if x:
                        plt.plot(x, y, label=name, color=color, marker="braille")
                        drawn = True
            elif chart_id in ("errors", "throughput"):
                key = "error_rate" if chart_id == "errors" else "throughput"
                x, y = _points(t, per_route.get(key, []))
                if x:
                    plt.plot(x, y, color="red" if chart_id == "errors" else "cyan",
                             marker="braille")
                    drawn = True
            elif series.get("canary"):  # a canary release: its weight instead of queues
                canary = series["canary"]
                plt.title(f"{canary['label']} weight (%)")
                x, y = _points(t, canary.get("weight", []))
                if x:
                    plt.plot(x, y, color="magenta", marker="braille")
                    plt.ylim(0, 100)
                    drawn = True
            else:
                queues = series.get("queues", {})
                for name, values in queues.items():
                    x, y = _points(t, values)
                    if x:
                        plt.plot(x, y, label=name, marker="braille")
                        drawn = True
                if drawn and not any(v for vs in queues.values() for v in vs):
                    plt.title("queue depth: all stayed empty")
                    plt.ylim(0, 1)
            if drawn:
                for f in faults:
                    plt.vline(f["at"], "magenta")
                plt.xlabel("simulated s")
            plot.refresh()
