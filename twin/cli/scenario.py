"""`twin run` and `twin compare`: scenarios on a backend, judged; runs side by side.

Exit 0 when every check held, 1 when one failed, 2 on bad input (every problem
of every file, with file and line), 3 when the backend cannot run here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from twin.cli import common, out_dir


def _progress_runner(label: str):
    """A Rich progress bar on stderr while the backend runs (silent when not a terminal)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"),
                   TimeElapsedColumn(), console=common.err, transient=True)
    task = bar.add_task(label, total=1.0, note="")

    def progress(fraction: float, note: str) -> None:
        bar.update(task, completed=max(0.0, min(1.0, fraction)), note=note)

    return bar, progress


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""

    @app.command("run")
    def run_cmd(
        scenarios: Annotated[list[Path], typer.Argument(help="kind: Scenario files.")],
        backend: Annotated[str, typer.Option(help="sim, local or kind.")] = "sim",
        seed: Annotated[int | None, typer.Option(help="Overrides the scenario's seed.")] = None,
        replications: Annotated[int | None, typer.Option(
            min=1, help="Overrides the scenario's replications.")] = None,
        set_: Annotated[list[str] | None, typer.Option(
            "--set", help="PATH=VALUE on the topology; scenario.PATH=VALUE on the scenario.")] = None,
        out: Annotated[Path | None, typer.Option(
            help="Write result.json, run.json and plots here (a subfolder per scenario when several).")] = None,
        format_: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
        junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here, for CI.")] = None,
        events: Annotated[str, typer.Option(
            help="Timeline: related (the faults and what follows them) or all; result.json has all.")
        ] = "related",
        strict: Annotated[bool, typer.Option(
            help="A check the backend cannot observe (not applicable) fails the run (exit 1).")
        ] = False,
    ) -> None:
        """Run scenarios (on the simulator by default) and judge their checks."""
        from twin.cli import run_report
        from twin.model.errors import ModelError
        from twin.result.backend import CannotRun
        from twin.scenario import junit as junit_xml
        from twin.scenario import loader, report
        from twin.scenario.checks import NOT_APPLICABLE
        from twin.scenario.runner import backend_names, execute, get_backend

        loaded, problems = [], out_dir.problems("--out", out) + out_dir.problems("--junit", junit, False)
        if format_ not in ("table", "json"):
            problems.append(_problem("--format", "must be table or json"))
        if events not in ("related", "all"):
            problems.append(_problem("--events", "must be related or all"))
        common.warn_sets(set_, scenario=True)
        if backend not in backend_names():  # a typo is bad input (2), not a backend that cannot run (3)
            problems.append(_problem("--backend", f"no backend named {backend!r}; the backends are "
                                                  f"{', '.join(backend_names())}"))
        for path in scenarios:
            try:
                loaded.append(loader.load(path, set_ or ()))
            except ModelError as e:
                problems += e.problems
        if problems:
            raise common.bad_input(ModelError(problems))
        names = [item.scenario.name for item in loaded]
        if out is not None and len(set(names)) != len(names):
            raise common.bad_input(ModelError([_problem("--out", "two scenarios share a name; "
                                                                 "their results would overwrite each other")]))
        try:
            be = get_backend(backend)
        except CannotRun as e:
            raise common.cannot_run(e) from None

        runs = []
        for item in loaded:
            scn = item.scenario
            reps = replications or scn.replications
            label = f"{scn.name} on {backend}"
            clock = "real time" if getattr(be, "real_time", False) else "simulated"
            common.err.print(f"running {label}: {reps} x {scn.duration:g}s {clock}", style="dim")
            bar, progress = _progress_runner(label)
            try:
                with bar:
                    run = execute(item, backend, seed, replications, progress)
            except CannotRun as e:
                raise common.cannot_run(e) from None
            runs.append(run)
            if format_ == "table":
                run_report.print_run(run, common.out, events)
                common.out.print()
            if out is not None:
                target = out if len(loaded) == 1 else out / scn.name
                report.write(run, target)
        if format_ == "json":
            common.out.print_json(json.dumps(report.json_summary(runs)))
        if junit is not None:
            junit_xml.write(runs, junit)
        if out is not None and format_ == "table":
            common.err.print(f"results in {out}", style="dim")
        if len(runs) > 1 and format_ == "table":
            failed = [r.scenario.name for r in runs if not r.passed]
            common.out.print(f"[bold]{len(runs) - len(failed)} of {len(runs)} scenarios passed[/]"
                             + (f"; failed: {', '.join(failed)}" if failed else ""))
        unobserved = [r.scenario.name for r in runs if any(o.status == NOT_APPLICABLE
                                                           for o in r.outcomes)]
        if strict and unobserved:
            common.err.print(f"--strict: checks not applicable on {backend} in "
                             f"{', '.join(unobserved)}", style="bold red")
        if any(not r.passed for r in runs) or (strict and unobserved):
            raise common.Exit(common.CHECK_FAILED)

    @app.command("compare")
    def compare_cmd(
        dirs: Annotated[list[Path], typer.Argument(help="Output folders of `twin run --out`.")],
        format_: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """Runs side by side: settings, key events, user impact, checks."""
        from twin.cli import run_report
        from twin.model.errors import ModelError
        from twin.scenario import compare

        try:
            cols = compare.find_results(dirs)
        except ModelError as e:
            raise common.bad_input(e) from None
        if format_ == "json":
            common.out.print_json(json.dumps(compare.compare_json(cols)))
        else:
            run_report.print_compare(cols, common.out)


def _problem(field: str, message: str):
    from twin.model.errors import Problem

    return Problem("command line", 0, 0, field, message)
