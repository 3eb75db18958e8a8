"""`twin sim`: a simulation without a scenario file.

Prints a summary table per route, shows progress on stderr while it runs, and
writes result.json (deterministic), run.json (wall clock, versions) and PNGs of
latency, errors, throughput and queue depth (twin.result.plots) into --out, each
file atomically. Components whose backlog grew through the run (Result.saturated)
get a red warning; the exit status stays 0 (a saturated answer is still an answer).
Exit 2 on bad input.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from twin.cli import common


def _fmt_s(x: float) -> str:
    return f"{x * 1000:.0f}ms" if x < 1 else f"{x:.2f}s"


def _ci(result, key: str, fmt=_fmt_s, half: bool = False) -> str:  # noqa: ANN001 - a Result
    """The mean over replications (or its 95 % half-width)."""
    est = result.aggregate.get(key)
    if est is None:
        return "-"
    if half:
        return "" if est.half_width is None else f"±{fmt(est.half_width)}"
    return fmt(est.mean)


def failure_rate(route) -> float:  # noqa: ANN001 - a RouteMetrics
    """Failed requests over finished ones, counting a failure in any part: for an
    asynchronous route the end-to-end outcome (which includes the synchronous one)."""
    if route.end_to_end is not None:
        return sum(route.end_to_end_errors.values()) / route.end_to_end.count \
            if route.end_to_end.count else 0.0
    return sum(route.errors.values()) / route.completed if route.completed else 0.0


def saturation_warning(result) -> list[str]:  # noqa: ANN001 - a Result
    """Lines of the warning about unstable components (empty when none)."""
    if not result.saturated:
        return []
    n = result.replications
    lines = ["WARNING: saturated: the backlog grew through the run, so there is no steady "
             "state and latency and backlog figures grow with run length."]
    for s in result.saturated:
        where = f" (in {s.replications} of {n} replications)" if n > 1 else ""
        lines.append(f"  {s.component}: {s.evidence}{where}")
    over = [s.component.split("/", 1)[1] for s in result.saturated
            if s.component.startswith(("workload/", "pod/"))]
    if over:
        lines.append(f"This load exceeds {', '.join(over)}'s capacity: add replicas or "
                     "concurrency, or lower the load, before reading the latencies above.")
    return lines


def summary_table(result):  # noqa: ANN001, ANN201 - a Result -> a Rich Table
    from rich import box
    from rich.table import Table

    n = result.replications
    title = (f"{result.topology}: {result.duration:g}s simulated, {n} replication"
             f"{'s' if n != 1 else ''}, seed {result.seed}"
             + (" (means; ± the 95 % CI of p95)" if n > 1 else ""))
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left")
    if any(r.end_to_end is not None for r in result.runs[0].routes.values()):
        title += ("\nerrors: failed over finished requests, asynchronous failures included;"
                  " p50-p99: the synchronous part; e2e: accepted to last event")
        table.title = title
    cols = ("route", "load", "done/s", "errors", "p50", "p95", *(("±",) if n > 1 else ()), "p99",
            "e2e p95")
    for col in cols:
        table.add_column(col, justify="left" if col in ("route", "load") else "right",
                         no_wrap=col == "route")
    run0 = result.runs[0]
    for name in run0.routes:
        causes: dict[str, int] = {}
        for run in result.runs:
            for k, v in run.routes[name].errors.items():
                causes[k] = causes.get(k, 0) + v
            for k, v in run.routes[name].end_to_end_errors.items():
                causes[f"e2e:{k}"] = causes.get(f"e2e:{k}", 0) + v
        e2e = (_ci(result, f"route/{name}/end_to_end.p95")
               if run0.routes[name].end_to_end is not None else "")
        ci = (_ci(result, f"route/{name}/latency.p95", half=True),) if n > 1 else ()
        failed = sum(failure_rate(run.routes[name]) for run in result.runs) / len(result.runs)
        table.add_row(
            name, result.loads.get(name, ""),
            _ci(result, f"route/{name}/throughput", lambda x: f"{x:.2f}"),
            f"{failed * 100:.2f}%",
            _ci(result, f"route/{name}/latency.p50"), _ci(result, f"route/{name}/latency.p95"),
            *ci, _ci(result, f"route/{name}/latency.p99"), e2e)
        if causes:
            table.caption = (table.caption + "\n" if table.caption else "errors by cause: ") + (
                f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(causes.items())))
    return table


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""

    @app.command("sim")
    def sim(
        topology: Annotated[Path, typer.Option("--topology", "-t", help="Topology file.")] =
        common.DEFAULT_TOPOLOGY,
        load: Annotated[list[str] | None, typer.Option(
            "--load", help="ROUTE=RATE (300, 300/s, 5/m; or RATE:spike:at=60s,length=30s,factor=4;"
            " or users:N:think=2s). Other routes run at their nominal rate. Repeatable.")] = None,
        duration: Annotated[str, typer.Option(help="Simulated time, e.g. 600s, 10m, 1h.")] = "10m",
        seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
        replications: Annotated[int, typer.Option(min=1, help="Independent replications.")] = 1,
        warmup: Annotated[str | None, typer.Option(
            help="Warm-up deleted from the metrics (default 10 % of the duration).")] = None,
        interval: Annotated[str | None, typer.Option(
            help="Time-series interval (default duration / 120, at least 1s).")] = None,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="PATH=VALUE override, e.g. services.chat-api.replicas=4 (repeatable).")] = None,
        out: Annotated[Path, typer.Option(help="Folder for result.json, run.json and plots.")] =
        Path("out/sim"),
        plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
    ) -> None:
        """A simulation without a scenario file: summary table, result.json, run.json, plots."""
        import datetime
        import platform
        import sys
        import time
        from importlib import metadata

        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from twin.model.errors import ModelError, Problem
        from twin.model.units import parse_duration
        from twin.result.io import write_run
        from twin.result.model import RunInfo
        from twin.sim.api import run_replications
        from twin.sim.load import resolve
        from twin.validate import load_topology

        def seconds(opt: str, value: str | None) -> float | None:
            if value is None:
                return None
            try:
                return parse_duration(value)
            except ValueError as e:
                raise common.bad_input(ModelError([Problem(f"--{opt} {value}", 0, 0, opt, str(e))])) from None

        try:
            dur = seconds("duration", duration) or 0.0
            warm = seconds("warmup", warmup)
            iv = seconds("interval", interval)
            topo = load_topology(topology, sets=set_ or ())
            loads = resolve(topo, list(load or []))
        except ModelError as e:
            raise typer.Exit(common.bad_input(e).code) from None
        except common.Exit as e:
            raise typer.Exit(e.code) from None
        if dur <= 0:
            raise typer.Exit(common.bad_input(ModelError(
                [Problem(f"--duration {duration}", 0, 0, "duration", "must be positive")])).code)

        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                       TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                       console=common.err, transient=True)
        task = bar.add_task("simulating", total=float(replications))

        def progress(rep: int, fraction: float) -> None:
            bar.update(task, completed=rep + fraction,
                       description=f"replication {rep + 1}/{replications}")

        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        with bar:
            result = run_replications(topo, loads, dur, seed, replications, warm, iv, progress,
                                      name=str(topology), sets=set_ or ())
        wall = time.perf_counter() - t0
        versions = {}
        for pkg in ("simpy", "numpy", "pydantic", "eco2-twin"):
            with contextlib.suppress(metadata.PackageNotFoundError):
                versions[pkg] = metadata.version(pkg)
        info = RunInfo(started=started, wall_seconds=wall, simulated_seconds=dur * replications,
                       speed=dur * replications / wall if wall > 0 else 0.0,
                       python=platform.python_version(), versions=versions,
                       host=platform.node(), command=sys.argv)
        common.out.print(summary_table(result))
        for line in saturation_warning(result):
            common.out.print(line, style="bold red", markup=False, soft_wrap=True)
        pending = sorted({p for run in result.runs for p in run.pending_pods})
        if pending:
            common.out.print(f"Pending pods (no node fits): {', '.join(pending)}", style="yellow",
                             markup=False, soft_wrap=True)
        written = write_run(out, result, info, plots=plots)
        common.out.print(f"{dur * replications:g} simulated seconds in {wall:.1f}s "
                         f"({info.speed:.0f}x real time); wrote "
                         + ", ".join(str(p) for p in written), markup=False, soft_wrap=True)
