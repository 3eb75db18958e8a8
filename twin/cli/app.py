"""The one Typer app, every command group registered on it, and the console entry point."""

from __future__ import annotations

import sys

import typer

from twin.cli import canary, capacity, common, demo, model, replica, scenario, sim, tui

app = typer.Typer(
    name="twin",
    help="Eco2 twin: a local simulator and replica of the Eco2 Kubernetes cluster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _group in (model, sim, scenario, replica, demo, capacity, canary, tui):
    _group.register(app)


def main() -> None:
    """Console entry point: bad input exits 2 with file, line and field; never a traceback."""
    try:
        app()
    except common.Exit as e:
        sys.exit(e.code)


if __name__ == "__main__":
    main()
