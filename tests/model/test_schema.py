"""JSON Schema for editors: the committed copies are current, and they judge files as the loader does."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from twin.loading import editor_schema as schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", sorted(schema.kinds()))
def test_committed_schema_equals_the_generated_one(kind: str) -> None:
    committed = schema.SCHEMA_DIR / f"{kind}.json"
    assert committed.exists(), f"{committed} missing: run `python -m twin.loading.editor_schema` and commit it"
    assert committed.read_text(encoding="utf-8") == schema.dumps(kind), (
        f"{committed} is stale: run `python -m twin.loading.editor_schema` and commit it")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    data = json.loads((schema.SCHEMA_DIR / "topology.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


@pytest.mark.parametrize("name", ["eco2-base.yaml", "eco2-dev.yaml", "eco2-prod.yaml"])
def test_eco2_files_pass_the_schema_and_point_to_it(validator: jsonschema.Validator, name: str) -> None:
    text = (ROOT / "topologies" / name).read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../twin/schemas/topology.json")
    errors = list(validator.iter_errors(YAML(typ="safe", pure=True).load(text)))
    assert errors == []


def test_schema_flags_a_typo_and_a_bad_quantity(validator: jsonschema.Validator) -> None:
    data = YAML(typ="safe", pure=True).load((ROOT / "topologies" / "eco2-base.yaml").read_text())
    data["services"][0]["replcas"] = 2
    data["stores"][0]["resources"]["requests"]["memory"] = "lots"
    messages = [e.message for e in validator.iter_errors(data)]
    assert any("replcas" in m for m in messages)
    assert len(messages) >= 2


def test_overlay_may_leave_out_required_fields_but_not_misspell(validator: jsonschema.Validator) -> None:
    overlay = {"apiVersion": "twin.eco2/v1", "kind": "Topology", "extends": "eco2-base.yaml",
               "pools": [{"name": "app", "nodes": [{"name": "k8s-worker-2", "$remove": True}]}]}
    assert list(validator.iter_errors(overlay)) == []
    overlay["pools"][0]["nodez"] = []
    assert list(validator.iter_errors(overlay))
    assert list(validator.iter_errors({"apiVersion": "twin.eco2/v1", "kind": "Topology"}))


def test_unknown_kind_names_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="topology"):
        schema.schema("nonsense")


@pytest.mark.parametrize("kind", ["topology", "scenario", "result"])
def test_schemas_use_only_json_schema_keywords_for_bounds(kind: str) -> None:
    """pydantic's `gt`/`ge` beside a custom schema mean nothing to an editor: they must
    appear as exclusiveMinimum/minimum on the number they bound."""
    found: list[str] = []

    def walk(node, path: str) -> None:  # noqa: ANN001
        if isinstance(node, dict):
            found.extend(f"{path}.{k}" for k in ("gt", "ge", "lt", "le") if k in node)
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    doc = json.loads((schema.SCHEMA_DIR / f"{kind}.json").read_text())  # the committed copies
    walk(doc, kind)
    assert found == []
    if kind == "scenario":  # every action that lasts `for` a while (one class per action)
        lasting = [d for d in doc["$defs"].values() if "for" in d.get("properties", {})]
        assert len(lasting) >= 16
        for action in lasting:
            for_ = action["properties"]["for"]["anyOf"][0]["anyOf"][0]
            assert for_ == {"minimum": 0, "type": "number", "exclusiveMinimum": 0}
