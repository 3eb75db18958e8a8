"""JSON Schema of each file kind, from the pydantic models, for editors' YAML language server.

The committed copies under twin/schemas/ are what `# yaml-language-server:
$schema=../twin/schemas/topology.json` points to; a test keeps them equal to
what this module generates (`python -m twin.loading.editor_schema` rewrites them).
A topology that `extends:` another is an overlay: it may leave out required
fields and may drop items with `$remove: true`, so the schema checks such files
against a relaxed copy of the definitions.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from twin.loading.kinds import KINDS
from twin.model.source import REMOVE

SCHEMA_DIR = Path(__file__).parents[1] / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def kinds() -> dict[str, type]:
    """Every file kind's model by its schema name (`topology`, `scenario`), from the table."""
    return {name.lower(): kind.model for name, kind in KINDS.items()}


def _overlay(defs: dict[str, Any]) -> dict[str, Any]:
    """The definitions with nothing required, and `$remove` allowed on named items."""
    out = {}
    for name, d in defs.items():
        d = copy.deepcopy(d)
        d.pop("required", None)
        if "name" in d.get("properties", {}):
            d["properties"][REMOVE] = {"type": "boolean", "description": "Drop this item (overlays)."}
        out[name + "Overlay"] = _rename_refs(d)
    return out


def _rename_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v + "Overlay" if k == "$ref" and isinstance(v, str) else _rename_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rename_refs(v) for v in node]
    return node


_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


def _numeric_bounds(node: Any) -> Any:
    """pydantic leaves `gt: 0` beside a custom schema (a duration: number or "30s"),
    where no JSON Schema keyword reads it: move it into the number branch, spelt as
    JSON Schema spells it."""
    if isinstance(node, list):
        return [_numeric_bounds(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = {k: _numeric_bounds(v) for k, v in node.items()}
    bounds = {_BOUNDS[k]: node.pop(k) for k in list(node) if k in _BOUNDS}
    if bounds:
        for branch in [node, *node.get("anyOf", [])]:
            for b in [branch, *branch.get("anyOf", [])]:
                if b.get("type") in ("number", "integer"):
                    b.update(bounds)
    return node


def schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one file kind; KeyError names the kinds there are."""
    models = kinds()
    if kind not in models:
        raise KeyError(f"no file kind {kind!r}; registered: {', '.join(sorted(models))}")
    model = models[kind]
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    title = raw.get("title", model.__name__)
    defs[title] = raw
    out: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"https://eco2.twin/schemas/{kind}.json",
        "title": f"Eco2 twin {title} file",
        "description": (raw.get("description") or "").strip(),
    }
    if "extends" in raw.get("properties", {}):
        defs.update(_overlay(defs))
        out["if"] = {"required": ["extends"]}
        out["then"] = {"$ref": f"#/$defs/{title}Overlay"}
        out["else"] = {"$ref": f"#/$defs/{title}"}
    else:
        out["$ref"] = f"#/$defs/{title}"
    out["$defs"] = _numeric_bounds(dict(sorted(defs.items())))
    return out


def dumps(kind: str) -> str:
    return json.dumps(schema(kind), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every kind's schema; the files the repository commits."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in sorted(kinds()):
        path = directory / f"{kind}.json"
        path.write_text(dumps(kind), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        print(p)
