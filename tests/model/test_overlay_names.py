"""An overlay's item whose name matches nothing in its base says so, with the name it
probably meant, in every list that overlays merge by name; not "namespace: required
field is missing" for a field the base's item had."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.loading.files import load
from twin.model.errors import ModelError
from twin.model.set_hints import _models, field_at
from twin.model.source import CLIENT_LISTS, document
from twin.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "topologies" / "eco2-base.yaml"


def _named_lists() -> dict[str, tuple[tuple, str]]:
    """Every list of named items in the base, by its kind (`services.clients`): the path
    of its first instance and the key its items merge by."""
    found: dict[str, tuple[tuple, str]] = {}

    def walk(data: Any, path: tuple) -> None:
        if isinstance(data, dict):
            for k, v in data.items():
                walk(v, (*path, k))
        elif isinstance(data, list) and data and all(isinstance(i, dict) for i in data):
            key = "store" if path[-1] in CLIENT_LISTS else "name"
            if all(isinstance(i.get(key), str) for i in data):
                found.setdefault(".".join(p for p in path if isinstance(p, str)), (path, key))
            for n, item in enumerate(data):
                walk(item, (*path, n))

    walk(document(BASE).data, ())
    return found


LISTS = _named_lists()


def _overlay(data: Any, path: tuple, leaf: Any) -> dict:
    """The overlay that reaches the list at `path` through its parents' names."""
    head = path[0]
    if len(path) == 1:
        return {head: leaf}
    if isinstance(path[1], int):
        item = data[head][path[1]]
        return {head: [{"name": item["name"], **_overlay(item, path[2:], leaf)}]}
    return {head: _overlay(data[head], path[1:], leaf)}


def _names(data: Any, path: tuple) -> list[str]:
    """`path` as --set names it (list items by name), for field_at."""
    out, cur = [], data
    for part in path:
        item = cur[part]
        out.append(item["name"] if isinstance(part, int) else part)
        cur = item
    return out


def test_the_base_has_the_lists_overlays_merge() -> None:
    assert {"pools", "pools.nodes", "services", "services.clients", "services.versions", "workers",
            "stores", "stores.queues", "mesh.virtual_services", "mesh.destination_rules",
            "mesh.destination_rules.subsets", "externals", "routes", "namespaces",
            "platform", "daemonsets"} <= set(LISTS)


@pytest.mark.parametrize("kind", sorted(LISTS))
def test_a_misspelt_item_name_says_it_matches_nothing(kind: str, tmp_path: Path) -> None:
    path, key = LISTS[kind]
    data = document(BASE).data
    items = data
    for part in path:
        items = items[part]
    base = items[0]
    field = field_at(Topology, _names(data, path))
    assert field is not None
    models = _models(field.annotation)
    # one field the base's item sets that a new item does not need: an override's shape
    other = next(((k, v) for k, v in base.items() if k not in (key, "kind")
                  and not isinstance(v, dict | list)
                  and not any(k in m.model_fields and m.model_fields[k].is_required() for m in models)),
                 None)
    wrong = base[key] + base[key][-1]  # `postgress` for `postgres`
    item = {key: wrong, **dict([other] if other else [])}
    text = yaml.safe_dump({"apiVersion": "twin.eco2/v1", "kind": "Topology",
                           "extends": "eco2-base.yaml", **_overlay(data, path, [item])},
                          sort_keys=False)
    (tmp_path / "eco2-base.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    over = tmp_path / "over.yaml"
    over.write_text(text, encoding="utf-8")
    needs_more = any(n not in (key, "kind") and (other is None or n != other[0]) and f.is_required()
                     for m in models for n, f in m.model_fields.items())
    if key == "store":  # a workload's clients: a store by that name must exist
        with pytest.raises(ModelError) as e:
            load(over)
        assert [p.message for p in e.value.problems] == [
            f"no store named {wrong!r}; did you mean {base[key]!r}?"]
        return
    if not needs_more:  # a name alone makes a whole item: the overlay adds one, as it may
        topo = load(over)
        assert wrong in topo.model_dump_json()
        return
    with pytest.raises(ModelError) as e:
        load(over)
    (problem,) = e.value.problems
    line = next(i for i, s in enumerate(text.split("\n"), 1) if f"{key}: {wrong}" in s)
    assert (problem.file, problem.line) == (str(over), line)
    assert problem.message == (f"{wrong!r} matches no item in {tmp_path / 'eco2-base.yaml'}, so it "
                               f"is a new item and lacks required fields; did you mean {base[key]!r}?")
