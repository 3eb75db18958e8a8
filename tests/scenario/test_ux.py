"""What a new user meets first: the editor schema, typos, the run header, the report's layout."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from twin import schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted([*(ROOT / "scenarios").glob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")])
TOPOLOGY_FILES = sorted((ROOT / "topologies").rglob("*.yaml"))


def _validator(kind: str) -> jsonschema.Draft202012Validator:
    data = json.loads((schema.SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def _errors(kind: str, path: Path) -> list[str]:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(kind).iter_errors(data)]


# ------------------------------------------------------------ 1: the schema


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_passes_the_committed_schema(path: Path) -> None:
    assert _errors("scenario", path) == []


@pytest.mark.parametrize("path", TOPOLOGY_FILES, ids=lambda p: p.name)
def test_every_topology_passes_the_committed_schema(path: Path) -> None:
    # overlays (`extends:`) are judged by the relaxed definitions: see twin/schema.py
    assert _errors("topology", path) == []


def test_scenario_schema_still_rejects_bad_windows_bounds_and_fields() -> None:
    v = _validator("scenario")
    good = YAML(typ="safe", pure=True).load((ROOT / "scenarios" / "redis-master-crash.yaml").read_text())
    assert list(v.iter_errors(good)) == []
    good["checks"][0]["window"] = "crash"           # no FROM..TO
    good["checks"][0]["range"] = ["30s", "soon"]     # not a bound
    good["checks"][1]["evnt"] = "+sdown"            # a typo'd field
    paths = {tuple(e.absolute_path)[:3] for e in v.iter_errors(good)}
    assert ("checks", 0, "window") in paths and ("checks", 0, "range") in paths
    assert any(p[:2] == ("checks", 1) for p in paths)
