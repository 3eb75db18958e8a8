"""The layers hold and no module of twin imports itself round a circle (function-level imports count)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


def _graph() -> nx.DiGraph:
    """Every import that runs (at module level or inside a function); `if TYPE_CHECKING:` ones never do."""
    import grimp

    imports = grimp.build_graph("twin", cache_dir=None, exclude_type_checking_imports=True)
    g = nx.DiGraph()
    for module in imports.modules:
        g.add_node(module)
        for target in imports.find_modules_directly_imported_by(module):
            g.add_edge(module, target)
    return g


def test_no_import_circle_between_modules_of_twin() -> None:
    g = _graph()
    assert g.number_of_edges() > 300, "grimp found too few imports to judge"
    circles = sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)
    assert not circles, f"import circles: {circles}"


def test_a_function_level_import_counts() -> None:
    """grimp reads imports inside functions too, so a lazy import cannot hide a circle."""
    import ast

    lazy: list[tuple[str, str]] = []
    for path in sorted((ROOT / "twin").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef):
                lazy += [(module, node.module, alias.name) for node in ast.walk(fn)
                         if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("twin.")
                         for alias in node.names]
    assert lazy, "no function-level import of twin found to check"
    g = _graph()
    missed = [(m, t, name) for m, t, name in lazy
              if not (g.has_edge(m, t) or g.has_edge(m, f"{t}.{name}"))]
    assert not missed, f"function-level imports grimp missed: {missed}"
