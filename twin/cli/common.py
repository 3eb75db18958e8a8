"""What every command shares: exit codes, error printing, option types."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console

from twin.model.errors import ModelError

OK, CHECK_FAILED, BAD_INPUT, CANNOT_RUN = 0, 1, 2, 3
REPO = Path(__file__).resolve().parents[2]


def shipped(relative: str) -> Path:
    """A file the repository ships (`topologies/eco2-prod.yaml`): from the current
    directory when it has one, else from the repository this package runs from, so
    that the defaults work from any directory."""
    here = Path(relative)
    if here.exists() or not (REPO / relative).exists():
        return here
    return REPO / relative


DEFAULT_TOPOLOGY = shipped("topologies/eco2-prod.yaml")
DEV_TOPOLOGY = shipped("topologies/eco2-dev.yaml")
DEFAULT_SHOWN = "eco2-prod.yaml in topologies/"
"""DEFAULT_TOPOLOGY in --help: in words that wrap at 80 columns (Typer's panels cut a
long word with an ellipsis), and the same from any directory."""
SET_HELP = ("PATH=VALUE override: fields joined by dots, list items by name "
            "(e.g. pools.app.cpu=8). Repeatable.")
"""--set in --help (an example short enough to stay whole in Typer's 80-column panels)."""

def _width(stream: object) -> int | None:
    """A terminal's own width; 120 columns into a file, a pipe or a CI log (Rich's 80
    folds check names and timelines there), unless COLUMNS says otherwise."""
    tty = getattr(stream, "isatty", lambda: False)()
    return None if tty or "COLUMNS" in os.environ else 120


out = Console(highlight=False, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, width=_width(sys.stderr))


class Exit(Exception):
    def __init__(self, code: int):
        self.code = code


def bad_input(error: ModelError) -> Exit:
    """Print every problem as FILE:LINE:COL: field: message; exit status 2."""
    for problem in error.problems:
        err.print(str(problem), markup=False, soft_wrap=True)
    n = len(error.problems)
    err.print(f"{n} problem{'s' if n != 1 else ''} found", style="bold red")
    return Exit(BAD_INPUT)


def cannot_run(what: str | Exception, how: str = "") -> Exit:
    """Something this machine lacks (a twin.result.backend.CannotRun, or its words):
    say what and how to get it; exit status 3."""
    if not isinstance(what, str):
        what, how = getattr(what, "what", str(what)), getattr(what, "how", how)
    err.print(f"cannot run: {what}", style="bold red", markup=False)
    if how:
        err.print(how, markup=False)
    return Exit(CANNOT_RUN)


def warn_sets(sets: list[str] | None, scenario: bool = False) -> None:
    """Say when a --set number on a duration looks like milliseconds (it is seconds)."""
    if not sets:
        return
    from twin.model.set_hints import warnings
    from twin.model.topology import Topology

    lines = warnings(Topology, list(sets))
    if scenario:
        from twin.scenario.model import Scenario

        lines += warnings(Scenario, list(sets), prefix="scenario.")
    for line in lines:
        err.print(f"warning: {line}", style="yellow", markup=False, soft_wrap=True)


def die(code: int) -> None:
    sys.exit(code)


def wrote(head: str, paths: list[Path]) -> None:
    """`HEAD; wrote to DIR/:` and the files' names under it: a command's closing line,
    whose paths would otherwise run past 80 columns (and never break mid-path)."""
    dirs = {p.parent for p in paths}
    if len(dirs) != 1:
        out.print(f"{head}; wrote " + ", ".join(str(p) for p in paths), markup=False, soft_wrap=True)
        return
    out.print(f"{head}; wrote to {dirs.pop()}/:", markup=False, soft_wrap=True)
    out.print("  " + ", ".join(p.name for p in paths), markup=False)
