"""`twin whatif` and `twin sweep`: capacity answers, instant or simulated, one or a grid.

whatif prints the analytical answer (twin.capacity.whatif.answer): components with
their utilisation, wait and the load at which they saturate, routes, HPAs, pools,
the placement now, at HPA maximum and with any one node lost, PostgreSQL's
connections, the bottleneck and warnings; `--simulate` runs the simulator too and
shows both side by side. Exit 0 when it answered, saturated or not; 2 on bad input.

sweep runs a `kind: Sweep` file's grid on a local process pool or a Dask cluster
(twin.capacity.sweep) and writes CSV, JSON and PNG plots.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from twin.cli import common


def _s(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x < 1e-4:
        return "0ms"
    return f"{x * 1000:.1f}ms" if x < 1 else f"{x:.2f}s"


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if math.isfinite(x) else "no pods"


def _cores(x: float) -> str:
    return f"{x:.2f}"


def _gib(x: float) -> str:
    return f"{x / 2**30:.1f}Gi"


def _names(names: tuple[str, ...], most: int = 4) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _table(title: str, *cols: str, caption: str | None = None):  # noqa: ANN202 - a Rich Table
    from rich import box
    from rich.table import Table

    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
                  caption_justify="left", pad_edge=False)
    for i, col in enumerate(cols):
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return table


_STYLE = {"saturated": "bold red", "high": "yellow", "idle": "dim", "ok": None}


def print_answer(a: Any, elapsed: float) -> None:  # noqa: ANN401 - twin.capacity.whatif.Answer
    out = common.out
    t = _table("Components", "component", "pods", "req/s", "util", "wait", "latency",
               "saturates at", f"pods for {a.threshold * 100:.0f}%",
               caption="util: busy slots over slots per pod (an external: of its rate limit);\n"
                       "pods: serving / the topology's; saturates at: this load times;\n"
                       "'>=': a component below it is saturated, so these are lower bounds")
    for c in a.components:
        if c.rate <= 0:
            continue
        pods = f"{c.pods}/{c.replicas}" if c.kind in ("service", "worker") else ""
        need = str(c.needed) if c.needed is not None and c.kind in ("service", "worker") else (
            f"{c.needed} slots" if c.kind == "store" and c.needed and c.needed > c.concurrency
            else f"{c.needed}/s limit" if c.kind == "external" and c.status != "ok" else "")
        sat = "-" if c.saturates_at is None else f"{c.saturates_at:.2f}x"
        util = ("saturated " if c.status == "saturated" else "") + _pct(c.utilisation)
        t.add_row(c.name, pods, f"{c.rate:.2f}", (">=" if c.bound else "") + util, _s(c.wait),
                  _s(c.latency), sat, need, style=_STYLE[c.status])
    out.print(t)
    t = _table("Routes", "route", "load", "latency", "end to end", "failing", "note")
    for r in a.routes:
        note = f"saturated by {', '.join(r.saturated_by)}" if r.saturated_by else (
            f"closed: {r.users} users, {r.rate:.2f}/s" if r.users is not None else "")
        t.add_row(r.route, a.loads.get(r.route, ""), _s(r.latency) if not r.saturated_by else "saturated",
                  _s(r.end_to_end) if r.end_to_end is not None or not r.saturated_by else "saturated",
                  f"{r.failing * 100:.2f}%", note, style="bold red" if r.saturated_by else None)
    out.print(t)
    if a.hpas:
        t = _table("HPAs at this load", "workload", "metric", "reading", "target", "replicas",
                   "settles at", "min-max", "pool holds")
        serving = {c.name: c.pods for c in a.components}
        for h in a.hpas:
            reading = ("grows" if h.reading is None else
                       f"{h.reading:.0f}%" if h.metric == "cpu" else f"{h.reading:.1f} msgs")
            target = f"{h.target:g}%" if h.metric == "cpu" else f"{h.target:g} msgs"
            held = serving.get(h.station, h.desired)
            t.add_row(h.workload, h.metric, reading, target, str(h.current), str(h.desired),
                      f"{h.min}-{h.max}", "yes" if held >= h.desired else f"only {held}",
                      style="yellow" if h.limited and h.desired >= h.max or held < h.desired
                      else None)
        out.print(t)
    t = _table("Pools", "pool", "nodes", "CPU requested", "memory requested", "CPU used",
               "pending", caption="requested: of allocatable, at the replicas above (sidecars, "
               "platform, DaemonSets counted);\nCPU used: the apps' work from the model")
    for p in a.pools:
        high = max(p.requested_share, p.memory_share, p.used_share) >= a.threshold
        t.add_row(p.pool, str(p.nodes),
                  f"{_cores(p.cpu_requested)}/{_cores(p.cpu_allocatable)} ({_pct(p.requested_share)})",
                  f"{_gib(p.memory_requested)}/{_gib(p.memory_allocatable)} ({_pct(p.memory_share)})",
                  f"{_cores(p.cpu_used)} ({_pct(p.used_share)})", _names(p.pending),
                  style="bold red" if p.pending else "yellow" if high else None)
    out.print(t)
    if a.fit:
        t = _table("Fit", "case", "fits", "pods without a node")
        for c in a.fit:
            t.add_row(c.name, "yes" if c.fits else "no",
                      f"{len(c.pending)}: {_names(c.pending)}" if c.pending else "",
                      style=None if c.fits else "red")
        out.print(t)
    for c in a.connections:
        line = (f"{c.store} connections: {c.now} now, {c.at_max} at HPA maximum, "
                f"max_connections {c.max_connections}")
        out.print(line, style=None if c.fits else "bold red", markup=False, soft_wrap=True)
    if a.bottleneck:
        row = next(c for c in a.components if c.name == a.bottleneck)
        out.print(f"Bottleneck: {a.bottleneck} ({_pct(row.utilisation)}; saturates at "
                  f"{row.saturates_at:.2f}x this load)", style="bold", markup=False)
    for w in a.warnings:
        out.print(f"warning: {w}", style="yellow", markup=False, soft_wrap=True)
    common.err.print(f"answered in {elapsed * 1000:.0f} ms", style="dim", markup=False)


def print_compared(rows: list[Any], result: Any) -> None:  # noqa: ANN401
    n = result.replications
    t = _table(f"Analytical against simulated ({result.duration:g}s, {n} replication"
               f"{'s' if n != 1 else ''}, seed {result.seed})", "figure", "analytical",
               "simulated", "95% CI", "inside",
               caption="simulated: mean over replications; the simulator runs the HPAs from the "
                       "topology's replicas")
    for r in rows:
        fmt = _s if r.unit == "s" else _pct
        ci = "" if r.half_width is None else f"±{fmt(r.half_width)}"
        inside = "" if r.within is None else "yes" if r.within else "no"
        t.add_row(r.what, fmt(r.analytic) if r.analytic is not None else "saturated",
                  fmt(r.simulated), ci, inside)
    common.out.print(t)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""

    @app.command("whatif")
    def whatif(
        topology: Annotated[Path, typer.Option("--topology", "-t", help="Topology file.",
                                               show_default=common.DEFAULT_SHOWN)] =
        common.DEFAULT_TOPOLOGY,
        load: Annotated[list[str] | None, typer.Option(
            "--load", help="ROUTE=RATE (6, 6/s, 30/m, users:N:think=2s) or ROUTE=xF (F times "
            "its nominal rate, e.g. chat=x3). Other routes run at their nominal rate.")] = None,
        scale: Annotated[float, typer.Option(help="Every route's rate times this.")] = 1.0,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help=common.SET_HELP)] = None,
        threshold: Annotated[float, typer.Option(
            help="Warn above this utilisation (0.8 = 80 %).")] = 0.8,
        simulate: Annotated[bool, typer.Option(
            help="Run the simulator too and show both side by side.")] = False,
        duration: Annotated[str, typer.Option(help="With --simulate: simulated time.")] = "10m",
        seed: Annotated[int, typer.Option(help="With --simulate: random seed.")] = 1,
        replications: Annotated[int, typer.Option(
            min=2, help="With --simulate: replications (2 or more, for a CI).")] = 3,
        warmup: Annotated[str | None, typer.Option(
            help="With --simulate: warm-up left out (default 10 % of the duration).")] = None,
        format_: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """Capacity at a load, at once: utilisation, bottleneck, HPAs, fit, N-1."""
        from twin.capacity.whatif import answer, resolve_loads
        from twin.loading.files import load_topology
        from twin.model.errors import ModelError, Problem
        from twin.model.units import parse_duration

        problems: list[Problem] = []
        if format_ not in ("table", "json"):
            problems.append(Problem(f"--format {format_}", 0, 0, "format", "use table or json"))
        if not 0 < threshold <= 1:
            problems.append(Problem(f"--threshold {threshold:g}", 0, 0, "threshold",
                                    "a share between 0 and 1 (0.8 = 80 %)"))
        dur = warm = None
        if simulate:
            try:
                dur = parse_duration(duration)
                warm = parse_duration(warmup) if warmup is not None else None
            except ValueError as e:
                problems.append(Problem(f"--duration {duration}", 0, 0, "duration", str(e)))
            if dur is not None and warm is not None and warm >= dur:
                problems.append(Problem(f"--warmup {warmup}", 0, 0, "warmup",
                                        "must be shorter than the duration"))
        common.warn_sets(set_)
        topo = loads = None
        try:
            topo = load_topology(topology, sets=set_ or ())
        except ModelError as e:
            problems += e.problems
        try:  # the --load problems too, against the file as it is when a --set broke it
            plain = topo or (load_topology(topology) if set_ else None)
            if plain is not None:
                loads = resolve_loads(plain, list(load or []), scale)
        except ModelError as e:
            problems += e.problems
        if problems:
            raise typer.Exit(common.bad_input(ModelError(problems)).code)
        t0 = time.perf_counter()
        a = answer(topo, loads, threshold=threshold)
        elapsed = time.perf_counter() - t0
        result = compared = None
        if simulate:
            from twin.capacity.confirm import run, side_by_side

            with common.err.status("simulating"):
                result = run(topo, loads, dur, seed, replications, warm, name=str(topology))
            compared = side_by_side(a, result)
        if format_ == "json":
            doc = {"topology": str(topology), "sets": list(set_ or []), "answer": a.to_dict()}
            if compared is not None:
                doc["simulated"] = [{"what": r.what, "analytic": r.analytic,
                                     "simulated": r.simulated, "half_width": r.half_width,
                                     "within": r.within} for r in compared]
            typer.echo(json.dumps(doc, indent=2))
            return
        common.out.print(f"{topology}: " + ", ".join(f"{k} {v}" for k, v in a.loads.items()),
                         markup=False, soft_wrap=True)
        print_answer(a, elapsed)
        if compared is not None:
            print_compared(compared, result)

    @app.command("sweep")
    def sweep_cmd(
        file: Annotated[Path, typer.Argument(help="A kind: Sweep file.")],
        executor: Annotated[str, typer.Option(
            help="local (a process pool) or tcp://HOST:PORT (a Dask scheduler).")] = "local",
        workers: Annotated[int, typer.Option(min=1, help="Local processes.")] = 2,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="PATH=VALUE on the topology of every point.")] = None,
        out: Annotated[Path, typer.Option(help="Folder for points.csv, sweep.json, plots.")] =
        Path("out/sweep"),
        plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
    ) -> None:
        """A grid of simulator runs: CSV, JSON, plots, the largest load meeting the SLO."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from twin.capacity import sweep as sweeps
        from twin.capacity.grid import ExecutorUnavailable, executor_problem
        from twin.capacity.sweep_output import largest_meeting_slo, write
        from twin.model.errors import ModelError, Problem

        problems: list[Problem] = []
        why = executor_problem(executor)
        if why:
            problems.append(Problem(f"--executor {executor}", 0, 0, "executor", why))
        points = None
        try:
            spec, doc = sweeps.load(file)
            if spec.scenario is not None:
                return _scenario_sweep(spec, doc, problems, set_ or [], executor, workers, out,
                                       plots)
            points = sweeps.plan(spec, doc, set_ or [])
        except ModelError as e:
            problems += e.problems
        if problems:
            raise typer.Exit(common.bad_input(ModelError(problems)).code)
        n = len(points) * spec.replications
        bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=common.err, transient=True)
        task = bar.add_task(f"{spec.name}: {len(points)} points x {spec.replications}", total=n)
        t0 = time.perf_counter()
        try:
            with bar:
                result = sweeps.run(spec, points, executor, workers,
                                    lambda done, _total: bar.update(task, completed=done))
        except ExecutorUnavailable as e:
            raise typer.Exit(common.cannot_run(e.what, e.how).code) from None
        wall = time.perf_counter() - t0
        keys = [k for k in (spec.slo.metric,) if spec.slo] or ["route/chat/latency.p95"]
        t = _table(f"{spec.name}: {len(points)} points, {spec.replications} replication"
                   f"{'s' if spec.replications != 1 else ''} each", "point",
                   *[a.name for a in spec.axes], *keys, "pending", "SLO")
        for p in result.points:
            cells = [str(v) for _, v in p.point.values]
            for k in keys:
                est = p.aggregate.get(k)
                cells.append("-" if est is None else _s(est.mean))
            slo = "" if p.slo is None else "met" if p.slo else "missed"
            t.add_row(str(p.point.index), *cells, str(p.pending), slo,
                      style="red" if p.slo is False else None)
        common.out.print(t)
        for v, x in largest_meeting_slo(result):
            common.out.print(f"largest {spec.x_axis.name} meeting the SLO with {v}: "
                             + ("none" if x is None else f"{x:g}"), markup=False, soft_wrap=True)
        written = write(result, out, plots)
        common.wrote(f"{n} runs in {wall:.1f}s on {executor}", written)


def _scenario_sweep(spec: Any, doc: Any, problems: list, sets: list[str], executor: str,  # noqa: ANN401
                    workers: int, out: Path, plots: bool) -> None:
    """`twin sweep` of a Sweep that names a scenario (twin.scenario.sweep): per point, how
    often each check held."""
    import csv
    import io
    import json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from twin.capacity.grid import ExecutorUnavailable
    from twin.model.errors import ModelError
    from twin.scenario import sweep as scenario_sweep

    try:
        points = scenario_sweep.plan(spec, doc, sets)
    except ModelError as e:
        problems += e.problems
    if problems:
        raise typer.Exit(common.bad_input(ModelError(problems)).code)
    n = len(points) * spec.replications
    bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=common.err, transient=True)
    task = bar.add_task(f"{spec.name}: {len(points)} points x {spec.replications}", total=n)
    t0 = time.perf_counter()
    try:
        with bar:
            results = scenario_sweep.run(spec, doc, points, executor, workers,
                                         lambda done, _t: bar.update(task, completed=done))
    except ExecutorUnavailable as e:
        raise typer.Exit(common.cannot_run(e.what, e.how).code) from None
    wall = time.perf_counter() - t0
    canary = any(r.caught() is not None for r in results)
    t = _table(f"{spec.name}: {len(points)} points, {spec.replications} replications each",
               "point", *[a.name for a in spec.axes], "all held", "weakest check",
               *(["caught"] if canary else []))
    for r in results:
        checks = list(r.runs[0]["checks"]) if r.runs else []
        shares = [(c, *r.held(c)) for c in checks]
        weakest = min(shares, key=lambda x: x[1] / x[2] if x[2] else 1.0, default=None)
        t.add_row(str(r.point.index), *[str(v) for _, v in r.point.values],
                  f"{r.all_held()}/{len(r.runs)}",
                  f"{weakest[0]} {weakest[1]}/{weakest[2]}" if weakest else "-",
                  *([f"{r.caught()}/{len(r.runs)}"] if canary else []))
    common.out.print(t)
    rows = scenario_sweep.rows(results)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    for path, text in ((out / "checks.csv", buf.getvalue()),
                       (out / "sweep.json", json.dumps(rows, indent=2, sort_keys=True) + "\n")):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    if plots and rows:
        png = out / "checks.png"
        scenario_sweep.plot(spec, results, png)
        written.append(png)
    common.wrote(f"{n} runs in {wall:.1f}s on {executor}", written)
