"""`twin demo`: the main job in one command, on the embedded simulator."""

from __future__ import annotations

import typer

from twin.cli import common

DEMO_SCENARIO = "scenarios/redis-master-crash.yaml"


def register(app: typer.Typer) -> None:
    @app.command()
    def demo() -> None:
        """A simulated Redis master crash in prod, with its verdict (no cluster needed)."""
        scenario = common.shipped(DEMO_SCENARIO)
        if not scenario.exists():
            raise common.cannot_run(f"{DEMO_SCENARIO} not found",
                                    "run `twin demo` from a clone of the eco2-twin repository")
        code = app(["run", str(scenario)], standalone_mode=False)
        raise typer.Exit(code if isinstance(code, int) else common.OK)
