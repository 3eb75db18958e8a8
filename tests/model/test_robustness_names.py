"""A misspelt field, store or item name says which known one was probably meant."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.loading.files import load_topology
from twin.model.base import Distribution
from twin.model.errors import ModelError, closest, did_you_mean

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")


def problems(tmp_path: Path, text: str, sets: tuple[str, ...] = ()) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as e:
        load_topology(path, sets)
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize(("name", "known", "match"), [
    ("concurency", ["concurrency", "replicas"], "concurrency"),
    ("postgress", ["postgres", "redis", "rabbitmq"], "postgres"),
    ("redsi", ["postgres", "redis", "rabbitmq"], "redis"),
    ("v3", ["v1", "v2"], None),
    ("timeout", ["replicas", "namespace"], None),
])
def test_closest_names_a_likely_misspelling_only(name: str, known: list[str], match: str | None) -> None:
    assert closest(name, known) == match
    assert did_you_mean(name, known) == (f"; did you mean {match!r}?" if match else "")


def test_a_misspelt_field_names_the_field_meant(tmp_path: Path) -> None:
    text = BASE.replace("    concurrency: 8\n", "    concurency: 8\n", 1)
    line = text.split("\n").index("    concurency: 8") + 1
    found = problems(tmp_path, text)
    assert any(p.startswith(f"{tmp_path / 't.yaml'}:{line}:") and p.endswith(
        "auth-api.concurency: unknown field (check the spelling; did you mean 'concurrency'?)")
        for p in found), found


def test_an_unknown_field_like_no_known_one_keeps_the_plain_message(tmp_path: Path) -> None:
    found = problems(tmp_path, BASE.replace("    port: 8000\n", "    port: 8000\n    colour: red\n", 1))
    assert any(p.endswith("colour: unknown field (check the spelling; see `twin schema`)")
               for p in found), found


def test_the_hint_keeps_the_other_errors_of_the_same_model() -> None:
    with pytest.raises(ValidationError) as e:
        Distribution.model_validate({"dist": "lognormal", "mena": "1s", "cv": -1, "median": "x"})
    kinds = {(err["loc"], err["type"]) for err in e.value.errors()}
    assert (("mena",), "unknown_field") in kinds
    assert (("cv",), "greater_than") in kinds and (("median",), "value_error") in kinds
    assert "did you mean 'mean'?" in str(e.value)


def test_a_nested_hint_survives_a_hint_at_an_outer_level() -> None:
    from twin.model.topology import Topology

    data = {"apiVersion": "twin.eco2/v1", "kind": "Topology", "clustr": {},
            "cluster": {"name": "c", "kubernetes_verison": "1.30"}}
    with pytest.raises(ValidationError) as e:
        Topology.model_validate(data)
    msgs = {err["loc"]: err["msg"] for err in e.value.errors()}
    assert "did you mean 'cluster'?" in msgs[("clustr",)]
    assert "did you mean 'kubernetes_version'?" in msgs[("cluster", "kubernetes_verison")]


def test_a_misspelt_store_name_names_the_store_meant(tmp_path: Path) -> None:
    found = problems(tmp_path, BASE.replace("{store: redis, pool: 10}", "{store: redsi, pool: 10}", 1))
    assert any("no store named 'redsi'; did you mean 'redis'?" in p for p in found), found


def test_a_set_on_a_misspelt_store_names_the_store_meant(tmp_path: Path) -> None:
    found = problems(tmp_path, BASE, ("stores.postgress.max_connections=10",))
    assert any("no item named 'postgress'" in p and p.endswith("did you mean 'postgres'?")
               for p in found), found


def test_a_set_through_a_value_names_the_value_in_the_way(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, BASE, ("cluster.name.x=1",))
    assert found == "--set cluster.name.x=1: cluster.name.x: name is a value ('eco2'), not a mapping or a list"
