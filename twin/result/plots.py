"""PNG plots of a Result's time series: latency, errors and throughput per route."""

from __future__ import annotations

from pathlib import Path

from twin.result.model import Result

PLOTS = {
    "latency.png": (("p50", "p95"), "latency (s)", "Latency per route (p50 solid, p95 dashed)"),
    "errors.png": (("errors",), "errors per second", "Errors per route"),
    "throughput.png": (("throughput",), "requests per second", "Throughput per route"),
}


def plot_result(result: Result, out: Path) -> list[Path]:
    """One PNG per PLOTS entry from the first replication's series (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not result.runs or result.runs[0].series is None:
        return []
    series = result.runs[0].series
    routes = sorted({k.split("/")[1] for k in series.values if k.startswith("route/")})
    written = []
    for fname, (metrics, ylabel, title) in PLOTS.items():
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        for i, route in enumerate(routes):
            color = f"C{i % 10}"
            for j, m in enumerate(metrics):
                ys = series.values.get(f"route/{route}/{m}")
                if ys:
                    ax.plot(series.t[: len(ys)], ys, color=color, linestyle="-" if j == 0 else "--",
                            label=route if j == 0 else None, linewidth=1.2)
        if result.warmup:
            ax.axvspan(0, result.warmup, color="0.9", label="warm-up")
        ax.set_xlabel("simulated time (s)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if routes:
            ax.legend(loc="upper right", fontsize=8, ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out / fname
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        written.append(path)
    return written
