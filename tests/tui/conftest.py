"""The Eco2 prod topology's view, loaded once; apps on it; a small scenarios folder."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
PROD = ROOT / "topologies" / "eco2-prod.yaml"
SMALL_SET = ("llm-slow.yaml", "redis-master-crash.yaml", "storage-node-loss.yaml")


@pytest.fixture(scope="session")
def prod_view():  # noqa: ANN201 - a TopologyView
    from twin.loading.files import load_topology
    from twin.views.tree import TopologyView

    return TopologyView(load_topology(PROD), "topologies/eco2-prod.yaml")


@pytest.fixture
def scenarios_dir(tmp_path: Path) -> Path:
    """Three of the shipped scenarios, their topology reachable as from scenarios/."""
    folder = tmp_path / "scenarios"
    folder.mkdir()
    (tmp_path / "topologies").symlink_to(ROOT / "topologies")
    for name in SMALL_SET:
        shutil.copy(ROOT / "scenarios" / name, folder / name)
    return folder


@pytest.fixture
def make_app(prod_view: Any, scenarios_dir: Path) -> Callable[..., Any]:
    from tui.app import RunOptions, TwinApp

    def make(sets: tuple[str, ...] = (), replications: int | None = 1, **kw: Any) -> TwinApp:
        return TwinApp(prod_view, kw.pop("scenarios", scenarios_dir),
                       RunOptions(sets, replications), **kw)

    return make


@pytest.fixture(scope="session")
def recorded() -> dict[str, Any]:
    """A finished run of redis-master-crash (1 replication, seed 7) as tui.runs sends it:
    written by `python -m tui.runs scenarios/redis-master-crash.yaml --replications 1`."""
    return json.loads((DATA / "redis-master-crash.json").read_text())
