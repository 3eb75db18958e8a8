"""A sweep's results as files: CSV and JSON of every point, PNG plots, the SLO summary.

points.csv: one row per point, the axes' values then, per metric, the mean over
replications and its 95 % half-width. sweep.json: the same points with every
metric the simulator reports. Plots (matplotlib, imported here only): the SLO's
metric (else each route's p95 latency) against the x axis, one line per variant
(a combination of the other axes' values), and the largest x that still meets the
SLO per variant. Every file is written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Any

from twin.capacity.sweep import PointResult, SweepResult
from twin.model.units import parse_rate

COLUMNS = ("throughput", "error_rate", "latency.p50", "latency.p95", "latency.p99",
           "end_to_end.p95")


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def metrics(result: SweepResult) -> list[str]:
    """The CSV's metrics: every route's COLUMNS the runs measured, workloads' utilisation,
    pods ready, and the SLO's metric."""
    seen = set(result.points[0].aggregate) if result.points else set()
    keys = [f"route/{name}/{c}" for name in _routes(result) for c in COLUMNS
            if f"route/{name}/{c}" in seen]
    keys += sorted(k for k in seen if k.startswith("workload/")
                   and k.endswith(("/utilisation", "/pods_ready")))
    slo = result.sweep.slo
    if slo is not None and slo.metric not in keys:
        keys.append(slo.metric)
    return keys


def _routes(result: SweepResult) -> list[str]:
    names: list[str] = []
    for k in result.points[0].aggregate if result.points else {}:
        if k.startswith("route/"):
            name = k.split("/")[1]
            if name not in names:
                names.append(name)
    return names


def x_value(result: SweepResult, p: PointResult) -> float:
    axis = result.sweep.x_axis
    shown = dict(p.point.values)[axis.name]
    value = axis.values[[axis.shown(j) for j in range(len(axis.values))].index(shown)]
    if axis.kind == "rate":
        return parse_rate(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float(axis.values.index(value))


def variant(result: SweepResult, p: PointResult) -> tuple[tuple[str, Any], ...]:
    x = result.sweep.x_axis.name
    return tuple((k, v) for k, v in p.point.values if k != x)


def variant_name(v: tuple[tuple[str, Any], ...]) -> str:
    return ", ".join(f"{k}={val}" for k, val in v) or "all"


def largest_meeting_slo(result: SweepResult) -> list[tuple[str, float | None]]:
    """Per variant: the largest x whose point meets the SLO, and every smaller one too
    (None: not even the smallest)."""
    if result.sweep.slo is None:
        return []
    out = []
    for v, points in _by_variant(result).items():
        best = None
        for p in sorted(points, key=lambda q: x_value(result, q)):
            if not p.slo:
                break
            best = x_value(result, p)
        out.append((variant_name(v), best))
    return out


def _by_variant(result: SweepResult) -> dict[tuple, list[PointResult]]:
    groups: dict[tuple, list[PointResult]] = {}
    for p in result.points:
        groups.setdefault(variant(result, p), []).append(p)
    return groups


def csv_text(result: SweepResult) -> str:
    keys = metrics(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    axes = [a.name for a in result.sweep.axes]
    w.writerow(["point", *axes, *[c for k in keys for c in (k, f"{k} ±")], "pending_pods", "slo"])
    for p in result.points:
        row: list[Any] = [p.point.index, *[v for _, v in p.point.values]]
        for k in keys:
            est = p.aggregate.get(k)
            row += ["", ""] if est is None else [
                repr(est.mean), "" if est.half_width is None else repr(est.half_width)]
        row += [p.pending, "" if p.slo is None else ("met" if p.slo else "missed")]
        w.writerow(row)
    return buf.getvalue()


def json_doc(result: SweepResult) -> dict[str, Any]:
    s = result.sweep
    return {
        "sweep": s.name, "seed": s.seed, "replications": s.replications, "duration": s.duration,
        "warmup": s.warmup, "axes": [{"name": a.name, "path": a.path, "values": a.values}
                                     for a in s.axes],
        "slo": None if s.slo is None else {"metric": s.slo.metric, "max": s.slo.max},
        "largest_meeting_slo": [{"variant": v, "x": x} for v, x in largest_meeting_slo(result)],
        "points": [{"point": p.point.index, "values": dict(p.point.values),
                    "rates": p.point.rates, "pending_pods": p.pending, "slo": p.slo,
                    "metrics": {k: e.model_dump() for k, e in p.aggregate.items()}}
                   for p in result.points],
    }


def write(result: SweepResult, out: Path, plots: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "points.csv"
    _atomic(path, csv_text(result).encode())
    written.append(path)
    path = out / "sweep.json"
    _atomic(path, (json.dumps(json_doc(result), indent=2, sort_keys=True) + "\n").encode())
    written.append(path)
    if plots:
        written += write_plots(result, out)
    return written


def write_plots(result: SweepResult, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result.sweep
    xname = s.x_axis.name
    keys = [s.slo.metric] if s.slo else [f"route/{r}/latency.p95" for r in _routes(result)]
    written = []
    for key in keys:
        fig, ax = plt.subplots(figsize=(7, 4.2))
        for v, points in _by_variant(result).items():
            pts = sorted(points, key=lambda q: x_value(result, q))
            xs = [x_value(result, p) for p in pts]
            ys = [p.aggregate[key].mean if key in p.aggregate else math.nan for p in pts]
            ax.plot(xs, ys, marker="o", label=variant_name(v))
        if s.slo and key == s.slo.metric:
            ax.axhline(s.slo.max, color="red", linestyle="--", linewidth=1, label="SLO")
        ax.set_xlabel(xname)
        ax.set_ylabel(key)
        ax.set_title(f"{s.name}: {key} against {xname}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{key.replace('/', '_')}.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
        _atomic(path, buf.getvalue())
        written.append(path)
    best = largest_meeting_slo(result)
    if best:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.4 * len(best)))
        ax.barh([v for v, _ in best], [x or 0.0 for _, x in best])
        ax.set_xlabel(f"largest {xname} meeting {s.slo.metric} <= {s.slo.max:g}")
        fig.tight_layout()
        path = out / "largest_meeting_slo.png"
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
        _atomic(path, buf.getvalue())
        written.append(path)
    return written
