"""`twin canary`: what a canary release can catch, over many replications of a scenario
with a `canary:` section (twin.scenario.canary_questions): the fixed split beside the
progressive strategy, and the analysis settings to choose."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from twin.cli import common
from twin.model.units import format_duration


def _table(title: str, *cols: str):  # noqa: ANN202 - a Rich Table
    from twin.cli.capacity import _table as table

    return table(title, *cols)


def _row(c) -> list[str]:  # noqa: ANN001 - a canary_questions.Cell
    lo, hi = c.interval()
    ttd = c.time_to_detection
    return [c.variant.regression, c.variant.strategy, f"{c.probability:.0%}",
            f"{lo:.0%}-{hi:.0%}", "-" if ttd is None else format_duration(ttd),
            f"{c.impact:.1f}", f"{c.promoted:.0%}"]


COLUMNS = ("regression", "strategy", "caught", "95% CI", "after", "bad tries",
           "promoted")


def _write(out: Path, rows: list[dict], name: str) -> list[Path]:
    import csv
    import io

    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    written = []
    for path, text in ((out / f"{name}.csv", buf.getvalue()),
                       (out / f"{name}.json", json.dumps(rows, indent=2, sort_keys=True) + "\n")):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def register(app: typer.Typer) -> None:
    @app.command("canary")
    def canary_cmd(
        scenario: Annotated[Path, typer.Argument(help="A scenario with a canary: section.")],
        regression: Annotated[str, typer.Option(
            help="Regressions to try, comma-separated: 2% (errors), x1.5 (latency), none.")] =
        "none,1%,2%,5%,10%",
        strategies: Annotated[str, typer.Option(help="fixed, progressive, or both.")] =
        "fixed,progressive",
        replications: Annotated[int, typer.Option(min=2, help="Runs of each variant.")] = 20,
        recommend: Annotated[str | None, typer.Option(
            help="A regression (e.g. 2%): the progressive settings that catch it at least "
                 "--target of the time at the least user impact.")] = None,
        target: Annotated[float, typer.Option(min=0, max=1, help="Detection probability.")] = 0.9,
        false_alarms: Annotated[float, typer.Option(
            min=0, max=1, help="Most good canaries a setting may roll back.")] = 0.05,
        seed: Annotated[int | None, typer.Option(help="Unset: the scenario's.")] = None,
        executor: Annotated[str, typer.Option(
            help="local (a process pool) or tcp://HOST:PORT (a Dask scheduler).")] = "local",
        workers: Annotated[int, typer.Option(min=1, help="Local processes.")] = 2,
        out: Annotated[Path, typer.Option(help="Folder for canary.csv/json and the plot.")] =
        Path("out/canary"),
    ) -> None:
        """Would a regression be caught, how fast, how likely, at what cost to users."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        from twin.capacity.grid import ExecutorUnavailable, executor_problem
        from twin.model.errors import ModelError, Problem
        from twin.scenario import canary_questions as q
        from twin.scenario import loader

        problems: list[Problem] = []
        if why := executor_problem(executor):
            problems.append(Problem(f"--executor {executor}", 0, 0, "executor", why))
        sizes = [s.strip() for s in regression.split(",") if s.strip()]
        kinds = [s.strip() for s in strategies.split(",") if s.strip()]
        for s in [*sizes, *([recommend] if recommend else [])]:
            try:
                q.regression_sets(s)
            except ValueError as e:
                problems.append(Problem(f"--regression {s}", 0, 0, "regression", str(e)))
        problems += [Problem(f"--strategies {k}", 0, 0, "strategies", "use fixed or progressive")
                     for k in kinds if k not in ("fixed", "progressive")]
        try:
            loaded = loader.load(scenario)
            if loaded.scenario.canary is None:
                problems.append(Problem(str(scenario), 1, 1, "canary", "the scenario has no "
                                        "canary: section (docs/canary.md)"))
        except ModelError as e:
            problems += e.problems
        if problems:
            raise typer.Exit(common.bad_input(ModelError(problems)).code)
        seed = loaded.scenario.seed if seed is None else seed
        variants = q.side_by_side(kinds, sizes)
        tuning = q.settings_variants(recommend) if recommend else []
        n = (len(variants) + len(tuning)) * replications
        bar = Progress("[bold]{task.description}", BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=common.err, transient=True)
        task = bar.add_task(f"{loaded.scenario.name}: {n} runs", total=n)
        t0 = time.perf_counter()
        try:
            with bar:
                cells = q.run(scenario, variants + tuning, replications, seed, executor, workers,
                              lambda done, _t: bar.update(task, completed=done))
        except ExecutorUnavailable as e:
            raise typer.Exit(common.cannot_run(e.what, e.how).code) from None
        except ModelError as e:
            raise typer.Exit(common.bad_input(e).code) from None
        wall = time.perf_counter() - t0
        main, tuned = cells[:len(variants)], cells[len(variants):]
        t = _table(f"{loaded.scenario.name}: {replications} replications per variant",
                   *COLUMNS)
        for c in main:
            t.add_row(*_row(c))
        common.out.print(t)
        common.out.print("[dim]caught: rolled back (progressive) or failed checks at the "
                         "threshold (fixed) before the end; after: the median time to it; "
                         "bad tries: the canary's failed or "
                         "slow tries until then[/]")
        for c in main:
            if c.variant.strategy != "fixed" or c.variant.regression == "none":
                continue
            need = c.time_to_catch(target)
            common.out.print(
                f"the fixed split sees {c.variant.regression} in {target:.0%} of releases "
                + (f"within {format_duration(need)}" if need is not None else
                   f"only after more than {format_duration(loaded.scenario.duration)} "
                   "(the run): run longer, or send the canary more traffic"))
        if tuned:
            t = _table(f"progressive settings against {recommend} (and a good canary)",
                       "settings", "caught", "95% CI", "after", "bad tries",
                       "good ones rolled back")
            good = {c.variant.settings: c for c in tuned if c.variant.regression == "none"}
            for c in tuned:
                if c.variant.regression == "none":
                    continue
                r = _row(c)
                t.add_row(c.variant.settings, *r[2:6], f"{good[c.variant.settings].probability:.0%}")
            common.out.print(t)
            best = q.recommend(tuned, target, false_alarms)
            common.out.print(
                f"recommended: {best.variant.settings} (caught {best.probability:.0%}, "
                f"{best.impact:.1f} bad tries)" if best else
                f"no setting catches {recommend} {target:.0%} of the time with at most "
                f"{false_alarms:.0%} good canaries rolled back: more traffic, a longer "
                "analysis or more replications")
        written = _write(out, [c.row() for c in cells], "canary")
        if len(sizes) > 1:
            png = out / "detection.png"
            q.plot(main, png)
            written.append(png)
        common.wrote(f"{n} runs in {wall:.1f}s on {executor}", written)
