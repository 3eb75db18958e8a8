"""`twin demo`: the main job in one command, on the embedded simulator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import typer

DEMO_SCENARIO = Path("scenarios/redis-master-crash.yaml")


def register(app: typer.Typer) -> None:
    @app.command()
    def demo() -> None:
        """A simulated Redis master crash in prod, with its verdict (no cluster needed)."""
        if importlib.util.find_spec("twin.scenario.runner") and DEMO_SCENARIO.exists():
            app(["run", str(DEMO_SCENARIO)], standalone_mode=False)
        elif importlib.util.find_spec("twin.sim.api"):
            app(["sim", "--duration", "2m"], standalone_mode=False)
        else:
            app(["status"], standalone_mode=False)
