"""DESIGN.md's layering: the engine never imports the UI, quick imports stay quick."""

from __future__ import annotations

import subprocess
import sys

import pytest

UI = ("textual", "typer", "rich", "tui")
HEAVY = ("matplotlib", "scipy", "kubernetes", "dask")


def _imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {m.split(".")[0] for m in out.stdout.split()}


@pytest.mark.parametrize("module", ["twin.model.topology", "twin.loading.files", "twin.loading.kinds",
                                    "twin.loading.editor_schema", "twin.graph.placement",
                                    "twin.sim.rng"])
def test_core_imports_no_ui_and_no_heavy_library(module: str) -> None:
    loaded = _imported_after(module)
    assert not loaded & set(UI), f"{module} pulls in UI modules {loaded & set(UI)}"
    assert not loaded & set(HEAVY), f"{module} pulls in heavy modules {loaded & set(HEAVY)}"


def test_engine_never_imports_ui() -> None:
    """Any module under twin.sim, twin.result, twin.capacity, twin.model, twin.graph, twin.loading
    stays free of Textual, Typer, Rich."""
    import pkgutil

    import twin

    engine = [m.name for m in pkgutil.walk_packages(twin.__path__, "twin.")
              if m.name.split(".")[1] in ("sim", "result", "capacity", "model", "graph", "loading")]
    assert engine, "no engine modules found"
    loaded = _imported_after(", ".join(engine))
    assert not loaded & set(UI), f"the engine pulls in UI modules {loaded & set(UI)}"


def test_loading_a_topology_imports_no_scenario_module() -> None:
    """The kinds table names the Scenario model by its dotted path: a topology command
    does not pay for (or depend on) the scenario engine."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, twin.loading.files, twin.loading.editor_schema; "
         "print('\\n'.join(sys.modules))"], capture_output=True, text=True, check=True).stdout.split()
    assert not [m for m in loaded if m.startswith("twin.scenario")]


@pytest.mark.parametrize("package", ["twin", "twin.cli", "twin.render", "twin.loading"])
def test_package_imports_none_of_its_modules(package: str) -> None:
    """A package that imports its modules, when one of them imports the package back
    (`from twin.cli import common`), is an import circle."""
    code = f"import sys, {package}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert [m for m in out.stdout.split() if m.startswith(package + ".")] == []


def test_scenario_engine_never_imports_ui() -> None:
    """twin.scenario computes the report's rows and texts; twin.cli.run_report prints them.
    Read from the source, so that an import inside a function counts too."""
    import ast
    from pathlib import Path

    import twin.scenario

    found = []
    for path in sorted(Path(twin.scenario.__path__[0]).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in UI]
    assert found == []
