"""`twin sim`: a simulation without a scenario file.

Prints a table of the API's responses per route and, for asynchronous routes, a
table of turns end to end next to the accept rate (an API accepting 30/s while
2 turns/s complete is a queue filling, not a healthy route); shows progress on
stderr while it runs, and
writes result.json (deterministic), run.json (wall clock, versions) and PNGs of
latency, errors, throughput and queue depth (twin.result.plots) into --out, each
file atomically. Components whose backlog grew through the run (Result.saturated)
get a red warning; the exit status stays 0 (a saturated answer is still an answer).
Exit 2 on bad input, including a warm-up not shorter than the duration (nothing
would be left to measure); nothing is written then.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from twin.cli import common, out_dir
from twin.sim.saturation import warning_lines as saturation_warning


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


def _fmt_long(x: float) -> str:
    """Seconds in three significant figures or so: end-to-end latencies run to minutes."""
    if x < 10:
        return _fmt_s(x)
    return f"{x:.1f}s" if x < 100 else f"{x:.0f}s"


def measured_seconds(run) -> float:  # noqa: ANN001 - a ReplicationResult
    """The window the metrics cover: the run after its warm-up."""
    return max(run.duration - run.warmup, 1e-9)


def heading(result) -> str:  # noqa: ANN001 - a Result
    run0 = result.runs[0]
    window = (f" ({measured_seconds(run0):g}s measured after a {run0.warmup:g}s warm-up)"
              if run0.warmup else "")
    n = result.replications
    return (f"{result.topology}: {result.duration:g}s simulated{window}, {n} replication"
            f"{'s' if n != 1 else ''}, seed {result.seed}")


def turn_rows(result) -> list[tuple[str, ...]]:  # noqa: ANN001 - a Result
    """Per asynchronous route, the end-to-end side next to the accept side, as means over
    replications: accepted/s, turns done/s, failed of done, still open at the end (count and
    share of accepted), e2e p50, p95, p99. An API that answers at once can show a healthy
    accept rate while the turns pile up in a queue; these are the figures the user waits on."""
    rows = []
    runs = result.runs
    for name, route in runs[0].routes.items():
        if route.end_to_end is None:
            continue
        per = [(r.routes[name], measured_seconds(r)) for r in runs]
        k = len(per)
        accepted = sum(m.ok / span for m, span in per) / k
        done = sum(m.end_to_end.count / span for m, span in per) / k
        n_done = sum(m.end_to_end.count for m, _ in per) / k
        n_failed = sum(sum(m.end_to_end_errors.values()) for m, _ in per) / k
        n_open = sum(m.end_to_end_open for m, _ in per) / k
        n_arrived = sum(m.arrivals for m, _ in per) / k
        failed = f"{n_failed / n_done * 100:.2f}% of {n_done:.0f}" if n_done else "none done"
        share = f" ({n_open / n_arrived * 100:.0f}%)" if n_arrived else ""
        rows.append((name, f"{accepted:.2f}", f"{done:.2f}", failed, f"{n_open:.0f}{share}",
                     *(_ci(result, f"route/{name}/end_to_end.{q}", _fmt_long)
                       for q in ("p50", "p95", "p99"))))
    return rows


def summary_table(result):  # noqa: ANN001, ANN201 - a Result -> a Rich Table
    """The API's side of every route: responses per second, failed responses out of
    responses, response latency. For an asynchronous route a response means "accepted"."""
    from rich import box
    from rich.table import Table

    n = result.replications
    run0 = result.runs[0]
    asynchronous = [name for name, r in run0.routes.items() if r.end_to_end is not None]
    title = "Responses" + (f" (for {', '.join(asynchronous)}: \"accepted\", not done)"
                           if asynchronous else "")
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left",
                  pad_edge=False)
    cols = ("route", "load", "resp/s", "failed", "p50", "p95", *(("±",) if n > 1 else ()), "p99")
    for col in cols:
        table.add_column(col, justify="left" if col in ("route", "load") else "right",
                         no_wrap=col == "route")
    notes = (["means over the replications; ±: the 95 % CI of p95"] if n > 1 else []) + [
        "failed: of the responses"]
    first = len(notes)
    for name in run0.routes:
        causes: dict[str, int] = {}
        for run in result.runs:
            for k, v in run.routes[name].errors.items():
                causes[k] = causes.get(k, 0) + v
            for k, v in run.routes[name].end_to_end_errors.items():
                causes[f"turn:{k}"] = causes.get(f"turn:{k}", 0) + v
        ci = (_ci(result, f"route/{name}/latency.p95", half=True),) if n > 1 else ()
        failed = sum(r.routes[name].error_rate for r in result.runs) / len(result.runs)
        table.add_row(
            name, result.loads.get(name, ""),
            _ci(result, f"route/{name}/throughput", lambda x: f"{x:.2f}"),
            f"{failed * 100:.2f}%",
            _ci(result, f"route/{name}/latency.p50"), _ci(result, f"route/{name}/latency.p95"),
            *ci, _ci(result, f"route/{name}/latency.p99"))
        if causes:
            if len(notes) == first:
                notes.append("errors by cause" + (f" over {n} replications" if n > 1 else "")
                             + " (turn: the asynchronous part):")
            notes.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(causes.items())))
    table.caption = "\n".join(notes)
    return table


def turn_table(result):  # noqa: ANN001, ANN201 - a Result -> a Rich Table or None
    """Asynchronous routes end to end (accepted to last event), next to their accept rate;
    routes the Result flags as saturated in red."""
    from rich import box
    from rich.table import Table

    rows = turn_rows(result)
    if not rows:
        return None
    flagged = {s.component.split("/", 1)[1] for s in result.saturated
               if s.component.startswith("route/")}
    table = Table(title="Turns end to end (accepted to last event)",
                  caption="turns/s: completed per second; failed: of the turns completed;\n"
                          "open: still running when the run ended, and its share of\n"
                          "those accepted after the warm-up",
                  box=box.SIMPLE_HEAD, title_justify="left", caption_justify="left",
                  pad_edge=False, padding=(0, 1, 0, 0))
    for col in ("route", "accepted/s", "turns/s", "failed", "open", "p50", "p95", "p99"):
        table.add_column(col, justify="left" if col == "route" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row, style="red" if row[0] in flagged else None)
    return table


def window_problems(duration: float, warmup: float | None, interval: float | None,
                    duration_text: str, warmup_text: str | None,
                    interval_text: str | None) -> list:
    """What is wrong with the measured window, as Problems naming the options: the warm-up
    is deleted from the metrics, so one as long as the run leaves nothing to measure (and
    rates divided by a negative or zero span)."""
    from twin.model.errors import Problem

    problems = []
    if duration <= 0:
        problems.append(Problem(f"--duration {duration_text}", 0, 0, "duration",
                                "must be positive"))
    elif warmup is not None and warmup >= duration:
        problems.append(Problem(
            f"--warmup {warmup_text}", 0, 0, "warmup",
            f"the warm-up must be shorter than the duration (--duration {duration_text}): "
            "it is deleted from the metrics, so nothing would be left to measure"))
    if interval is not None and duration > 0 and interval > duration:
        problems.append(Problem(
            f"--interval {interval_text}", 0, 0, "interval",
            f"must be at most the duration (--duration {duration_text})"))
    return problems


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""

    @app.command("sim")
    def sim(
        topology: Annotated[Path, typer.Option("--topology", "-t", help="Topology file.",
                                               show_default=common.DEFAULT_SHOWN)] =
        common.DEFAULT_TOPOLOGY,
        load: Annotated[list[str] | None, typer.Option(
            "--load", help="ROUTE=RATE (300, 300/s, 5/m; users:N:think=2s; or a spike, "
            "RATE:spike:SPEC, SPEC as at=60s,factor=4 and ,length=30s). Other routes run at "
            "their nominal rate. Repeatable.")] = None,
        duration: Annotated[str, typer.Option(help="Simulated time, e.g. 600s, 10m, 1h.")] = "10m",
        seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
        replications: Annotated[int, typer.Option(min=1, help="Independent replications.")] = 1,
        warmup: Annotated[str | None, typer.Option(
            help="Warm-up deleted from the metrics (default 10 % of the duration).")] = None,
        interval: Annotated[str | None, typer.Option(
            help="Time-series interval (default duration / 120, at least 1s).")] = None,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help=common.SET_HELP)] = None,
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

        from twin.loading.files import load_topology
        from twin.model.errors import ModelError, Problem
        from twin.model.units import parse_duration
        from twin.result.io import write_run
        from twin.result.model import RunInfo
        from twin.sim.api import run_replications
        from twin.sim.load import resolve

        problems: list[Problem] = out_dir.problems("--out", out)  # every bad option, file and --set at once

        def seconds(opt: str, value: str | None) -> float | None:
            if value is None:
                return None
            try:
                return parse_duration(value)
            except ValueError as e:
                problems.append(Problem(f"--{opt} {value}", 0, 0, opt, str(e)))
                return None

        dur = seconds("duration", duration)
        warm = seconds("warmup", warmup)
        iv = seconds("interval", interval)
        common.warn_sets(set_)
        topo = loads = None
        try:
            topo = load_topology(topology, sets=set_ or ())
            loads = resolve(topo, list(load or []))
        except ModelError as e:
            problems += e.problems
        if dur is not None:
            problems += window_problems(dur, warm, iv, duration, warmup, interval)
        if problems:
            raise typer.Exit(common.bad_input(ModelError(problems)).code)

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
        common.out.print(heading(result), markup=False, soft_wrap=True)
        common.out.print(summary_table(result))
        turns = turn_table(result)
        if turns is not None:
            common.out.print(turns)
        for line in saturation_warning(result):
            common.out.print(line, style="bold red", markup=False, soft_wrap=True)
        pending = sorted({p for run in result.runs for p in run.pending_pods})
        if pending:
            common.out.print(f"Pending pods (no node fits): {', '.join(pending)}", style="yellow",
                             markup=False, soft_wrap=True)
        written = write_run(out, result, info, plots=plots)
        common.wrote(f"{dur * replications:g} simulated seconds in {wall:.1f}s "
                     f"({info.speed:.0f}x real time)", list(written))
