"""The data side never imports Textual: `import twin`, a simulation, the views, the run adapter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI = ("textual", "textual_plotext", "plotext")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return {m.split(".")[0] for m in json.loads(out.stdout.splitlines()[-1])}


def test_twin_and_a_simulation_never_import_textual() -> None:
    loaded = _modules_after(
        "import twin\n"
        "from twin.scenario import loader\n"
        "from twin.scenario.runner import execute\n"
        "run = execute(loader.load('scenarios/redis-master-crash.yaml',\n"
        "              ['scenario.replications=1', 'scenario.duration=65s']))\n"
        "assert run.outcomes\n")
    assert "simpy" in loaded  # it did simulate
    assert not loaded & set(UI), loaded & set(UI)


def test_the_views_and_the_run_adapter_never_import_textual() -> None:
    loaded = _modules_after(
        "from twin.loading.files import load_topology\n"
        "from twin.views.tree import TopologyView\n"
        "import tui.runs, tui.live\n"
        "v = TopologyView(load_topology('topologies/eco2-prod.yaml'))\n"
        "assert v.tree() and v.blast('store/redis').marks\n"
        "assert tui.runs.scenario_files(__import__('pathlib').Path('scenarios'))\n")
    assert not loaded & set(UI), loaded & set(UI)


def test_the_cli_imports_textual_only_for_twin_tui() -> None:
    loaded = _modules_after("from twin.cli.app import app\n")
    assert not loaded & set(UI), loaded & set(UI)
