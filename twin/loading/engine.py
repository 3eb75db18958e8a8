"""The all-problems engine: validate a file's data against its model and, on errors,
cut the bad values out (or put stand-ins in) and go on, so that one pass reports
every problem of the file, each with its file and line.

Problems are data (`twin.model.errors.Problem`), collected, never raised one by
one; `ModelError` carries all of them to the CLI, which prints them and exits 2.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from twin.graph.placement import NO_NODE
from twin.model.errors import Problem
from twin.model.source import Document, _real_path, warn


def _message(err: dict) -> str:
    msg = err["msg"]
    if _a_number_for_text(err):
        return f"{msg}: YAML read a number ({err['input']!r}); write the text in quotes"
    if err["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see `twin schema`)"
    if err["type"] == "missing":
        return "required field is missing"
    return msg.removeprefix("Value error, ")


def _a_number_for_text(err: dict) -> bool:
    value = err.get("input")
    return err["type"] == "string_type" and isinstance(value, int | float) and not isinstance(value, bool)


def _written(doc: Document, loc: tuple, value: Any) -> str | None:
    """The text a number was written as (`1.30`, which YAML reads as 1.3), from the `--set`
    or the file line that supplied it, when that text reads back as the same number."""
    import yaml

    path = doc.path(loc)
    pos = doc.positions.get(path)
    if pos is None or not path:
        return None
    if pos.file.startswith("--set ") and not pos.line:
        text = pos.file.partition("=")[2].strip()
    elif pos.line:
        try:
            lines = Path(pos.file).read_bytes().decode("utf-8-sig").split("\n")
            rest = lines[pos.line - 1][pos.column - 1:]
        except (OSError, UnicodeDecodeError, IndexError):
            return None
        key = str(path[-1])  # a mapping's value is placed at its key: `kubernetes_version: 1.30`
        if rest.startswith(key) and (after := re.match(r"\s*:\s+", rest[len(key):])):
            rest = rest[len(key) + after.end():]
        text = re.match(r"[^\s,\]}#]*", rest)[0]
    else:
        return None
    try:
        same = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return text if type(same) is type(value) and same == value else None


def _as_written(doc: Document, data: Any, errors: list[dict], done: set[tuple]) -> bool:
    """A text field given a number (`kubernetes_version: 1.31`) takes the number's text as
    written: what the user meant. False when no such number's text could be found; each
    path once (`done`), so that the engine's passes always end."""
    changed = False
    for err in errors:
        if not _a_number_for_text(err):
            continue
        loc = tuple(err["loc"])
        path = _real_path(data, loc)
        if not path or path in done or (text := _written(doc, loc, err["input"])) is None:
            continue
        _parent(data, path)[path[-1]] = text
        done.add(path)
        changed = True
    return changed


def _prune(data: Any, path: tuple, missing: bool, doc: Document) -> bool:
    """Drop a bad field (it falls back to its default), or the list item holding a
    missing one, so that the rest of the file can still be checked."""
    if missing:
        cut = max((i for i, p in enumerate(path) if isinstance(p, int)), default=None)
        if cut is None:
            return False
        path = path[: cut + 1]
    if not path:
        return False
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    item = parent[path[-1]]
    if isinstance(parent, list) and isinstance(item, dict) and isinstance(item.get("name"), str):
        doc.dropped.add(item["name"])
    if isinstance(parent, list):
        doc.shifts.append((path[:-1], path[-1]))
    del parent[path[-1]]
    return True


STAND_INS = (1, 1_000_000, "1s", "1", 1.0, "x", True, [], {})
"""Values tried for a required field whose own value was invalid (and reported); a
large one for a duration that a warm-up or a fault's time must stay under."""
ABSENT_STAND_INS = (1_000_000, *(v for v in STAND_INS if v != 1_000_000))
"""For a required field the file does not write at all (a scenario without
`duration:`): the large value first, so that no time in the file is judged
against a stand-in that ends the run at once."""


def _errors(e: ValidationError) -> list[dict]:
    """pydantic's errors, a tagged union's missing tag (a store without `kind:`) said as
    the missing field it is, at the item's `kind`: so that an overlay's item that matched
    nothing in its base is reported as such (twin.model.source.Document.problem)."""
    out = []
    for err in e.errors():
        if err["type"] == "union_tag_not_found":
            tag = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
            if tag.isidentifier():
                err = {**err, "type": "missing", "loc": (*err["loc"], tag)}
        out.append(err)
    return out


def _error_paths(model: type[BaseModel], data: Any) -> set[tuple]:
    """Where the data fails validation now, as paths in the data (() for the whole file)."""
    try:
        model.model_validate(data)
        return set()
    except ValidationError as e:
        return {_real_path(data, tuple(err["loc"])) for err in _errors(e)}


def _parent(data: Any, path: tuple) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _stand_in(model: type[BaseModel], data: Any, path: tuple,
              values: tuple[Any, ...] = STAND_INS) -> bool:
    """Put the first of `values` that the field takes at `path` without a new error
    anywhere else; False (and the field left out) if none does."""
    parent = _parent(data, path)
    before = _error_paths(model, data) - {path}
    for value in values:
        parent[path[-1]] = value
        if _error_paths(model, data) <= before:
            return True
    del parent[path[-1]]
    return False


def _restand(model: type[BaseModel], data: Any, paths: set[tuple]) -> bool:
    """Another stand-in at one of `paths` that clears a whole-file error (location ())."""
    for path in sorted(paths, key=str):
        parent = _parent(data, path)
        first = parent[path[-1]]
        for value in STAND_INS:
            parent[path[-1]] = value
            if () not in _error_paths(model, data):
                return True
        parent[path[-1]] = first
    return False


def _order(last: tuple) -> tuple:
    """Sort key of a path's last part: list indices and field names never compared."""
    if not last:
        return (0, 0, "")
    return (1, last[0], "") if isinstance(last[0], int) else (2, 0, str(last[0]))


def build_all(doc: Document, model: type[BaseModel]) -> tuple[Any | None, list[Problem]]:
    """Validate; on errors, prune them and go on, so that every problem shows at once."""
    warn(doc, model)
    data = copy.deepcopy(doc.data)
    doc.live = data
    problems: list[Problem] = list(doc.set_problems)
    pruned: set[tuple] = set()
    bad: set[tuple] = set()  # real paths of invalid values already reported and cut
    written: set[tuple] = set()  # numbers given to text fields, now their text
    for _ in range(8):
        try:
            return model.model_validate(data), problems
        except ValidationError as e:
            found = _errors(e)
            if _as_written(doc, data, found, written):
                continue
            # a required value cut for its own error: a stand-in keeps its item (a route
            # with a bad rate), so that the item's references are still checked
            stood = {path for err in found if err["type"] == "missing"
                     and (path := _real_path(data, tuple(err["loc"]))) in bad
                     and _stand_in(model, data, path)}
            if stood:
                doc.stand_ins |= stood
                continue
            # a required field missing at the top of the file (no `name:`): reported, and a
            # stand-in goes on in its place, so that the rest of the file is still checked
            absent = [err for err in found if err["type"] == "missing" and len(err["loc"]) == 1
                      and isinstance(data, dict) and tuple(err["loc"]) not in doc.stand_ins]
            if absent and all(_stand_in(model, data, tuple(err["loc"]), ABSENT_STAND_INS)
                              for err in absent):
                problems += [doc.problem(tuple(err["loc"]), _message(err)) for err in absent]
                doc.stand_ins |= {tuple(err["loc"]) for err in absent}
                pruned |= {tuple(err["loc"]) for err in absent}
                continue
            # a whole-file rule broken by a stand-in (warm-up not under a stand-in duration)
            if doc.stand_ins and any(not err["loc"] for err in found) and _restand(
                    model, data, doc.stand_ins):
                continue
            # a missing field we pruned, or a parent that broke because we pruned inside it
            # (an emptied list), is a consequence, not a problem of the file
            errors = [err for err in found
                      if not (err["type"] == "missing" and tuple(err["loc"]) in pruned)
                      and not any(p[:len(err["loc"])] == tuple(err["loc"]) for p in pruned)]
            problems += [doc.problem(tuple(err["loc"]), _message(err)) for err in errors]
            pruned |= {tuple(err["loc"]) for err in found}
            paths = {(_real_path(data, tuple(err["loc"])), err["type"] == "missing")
                     for err in found}
            bad |= {path for path, missing in paths if not missing and path and path[-1] != "name"}
            # deepest first, and list items from the back, so indices stay valid
            for path, missing in sorted(paths, key=lambda p: (len(p[0]), _order(p[0][-1:])),
                                        reverse=True):
                try:
                    if not _prune(data, path, missing, doc):
                        return None, problems
                except (KeyError, IndexError, TypeError):
                    continue
    return None, problems


def consequences_dropped(found: list[Problem], earlier: list[Problem],
                          doc: Document | None = None) -> list[Problem]:
    """Findings that only follow from an error already reported: placement when a node
    pool was broken, a whole list judged when one of its items was broken ("no pool
    has role control-plane" after that pool's memory was bad), findings on a stand-in
    value, references to an item left out because it was invalid."""
    dropped = doc.dropped if doc is not None else set()
    stood = {doc.problem(path, "").field for path in doc.stand_ins} if doc is not None else set()
    if any(p.field == "pools" or p.field.startswith("pools.") for p in earlier):
        found = [p for p in found if NO_NODE not in p.message]
    found = [p for p in found
             if not any(e.field.startswith(p.field + ".") for e in earlier)
             and not any(p.field == f or p.field.startswith(f + ".") for f in stood)]
    return [p for p in found if not any(f"{name!r}" in p.message for name in dropped)]
