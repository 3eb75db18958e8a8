"""An overlay's item that matches nothing in its base says so, not which fields it lacks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model.errors import ModelError

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
PROD = (TOPOLOGIES / "eco2-prod.yaml").read_text(encoding="utf-8")


def overlay(tmp_path: Path, text: str) -> Path:
    shutil.copy(TOPOLOGIES / "eco2-base.yaml", tmp_path / "eco2-base.yaml")
    path = tmp_path / "prod.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ModelError) as e:
        load_topology(path)
    return [str(p) for p in e.value.problems]


def test_a_misspelt_overlay_item_is_one_problem_naming_the_item_meant(tmp_path: Path) -> None:
    text = PROD.replace("  - name: scan-api\n", "  - name: scan-apii\n", 1)
    path = overlay(tmp_path, text)
    line = text.split("\n").index("  - name: scan-apii") + 1
    assert problems(path) == [
        f"{path}:{line}:5: services.scan-apii: 'scan-apii' matches no item in {tmp_path / 'eco2-base.yaml'}, "
        "so it is a new item and lacks required fields; did you mean 'scan-api'?"]


def test_a_new_overlay_item_with_all_its_fields_is_fine(tmp_path: Path) -> None:
    assert "      - {name: k8s-worker-4}\n" in PROD  # prod adds nodes the base does not have
    topo = load_topology(overlay(tmp_path, PROD))
    assert "k8s-worker-4" in {n.name for p in topo.pools for n in p.nodes}


def test_a_new_overlay_item_with_a_bad_value_keeps_the_plain_problem(tmp_path: Path) -> None:
    text = PROD.replace("      - {name: k8s-worker-4}\n", "      - {name: k8s-worker-4, cpu: lots}\n")
    found = problems(overlay(tmp_path, text))
    assert len(found) == 1 and "pools.app.nodes.k8s-worker-4.cpu" in found[0], found
    assert "matches no item" not in found[0]


def test_a_remove_that_names_nothing_in_the_base_is_a_problem(tmp_path: Path) -> None:
    text = PROD.replace("      - {name: k8s-worker-4}\n",
                        "      - {name: k8s-worker-4}\n      - {name: k8s-wroker-2, $remove: true}\n")
    path = overlay(tmp_path, text)
    (found,) = problems(path)
    assert found.startswith(f"{path}:")
    assert found.endswith("$remove: 'k8s-wroker-2' matches no item in "
                          f"{tmp_path / 'eco2-base.yaml'}: nothing to remove; did you mean 'k8s-worker-2'?")


def test_the_shipped_overlays_have_no_unmatched_removal() -> None:
    for name in ("eco2-dev.yaml", "eco2-prod.yaml"):
        load_topology(TOPOLOGIES / name)
