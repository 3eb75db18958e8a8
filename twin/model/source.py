"""Files with positions: `extends:` merge, `--set` overrides, error locations.

Every value keeps the file, line and column that supplied it, through overlay
merges and overrides, so that a problem found later names its true origin. The
YAML itself is read (safely, and once per text) by twin.model.reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.model.base import API_VERSION
from twin.model.errors import ModelError, Problem, did_you_mean
from twin.model.reader import Node, Pos, plain, read_yaml

log = logging.getLogger("twin.input")
"""Warnings about valid input probably not meant; with no handler set, Python prints them
to stderr as they are."""

__all__ = ["REMOVE", "Document", "Node", "Pos", "apply_overrides", "document", "duration_hints",
           "parse_set", "warn"]

REMOVE = "$remove"


@dataclass
class Document:
    """A loaded file, overlays merged: plain data plus a position for every path."""

    kind: str
    data: dict[str, Any]
    positions: dict[tuple, Pos]
    file: str
    files: list[str] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)  # names of items left out after an error
    stand_ins: set[tuple] = field(default_factory=set)  # paths given a stand-in after their error
    live: Any = None  # the copy being validated, with items cut out after their errors
    shifts: list[tuple[tuple, int]] = field(default_factory=list)  # (list path, index) cut, in order
    set_problems: list[Problem] = field(default_factory=list)  # --set paths that named nothing
    new_items: dict[Pos, str] = field(default_factory=dict)  # overlay items that matched nothing
    warnings: list[str] = field(default_factory=list)  # valid values probably not meant

    def path(self, loc: tuple) -> tuple:
        """A pydantic-style location as a path of the merged file."""
        return self.original(_real_path(self.live, loc)) if self.shifts else _real_path(self.data, loc)

    def locate(self, loc: tuple) -> tuple[Pos, str]:
        """Position and dotted, name-keyed field path of a pydantic-style location."""
        path = self.path(loc)
        for n in range(len(path), -1, -1):
            if path[:n] in self.positions:
                return self.positions[path[:n]], field_path(self.data, path)
        return Pos(self.file), field_path(self.data, path)

    def original(self, path: tuple) -> tuple:
        """A path of the cut copy as a path of the file: list items cut out before it
        shifted its index down."""
        for lp, idx in reversed(self.shifts):
            n = len(lp)
            if len(path) > n and path[:n] == lp and isinstance(path[n], int) and path[n] >= idx:
                path = (*lp, path[n] + 1, *path[n + 1:])
        return path

    def problem(self, loc: tuple, message: str) -> Problem:
        new = self._new_item(self.path(loc)) if self.new_items else None
        if new is not None:  # one problem for the item, whichever of its fields are missing
            return new
        pos, name = self.locate(loc)
        return Problem(pos.file, pos.line, pos.column, name, message)

    def _new_item(self, path: tuple) -> Problem | None:
        """A field missing from an overlay's item that matched no item of its base: the
        name is the likelier mistake."""
        if not path or _present(self.data, path):
            return None
        for n in range(len(path) - 1, 0, -1):
            pos = self.positions.get(path[:n])
            if pos in self.new_items:
                return Problem(pos.file, pos.line, pos.column, field_path(self.data, path[:n]),
                               self.new_items[pos])
        return None


def _present(data: Any, path: tuple) -> bool:
    for part in path:
        if isinstance(data, dict) and part in data or (
                isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)):
            data = data[part]
        else:
            return False
    return True


# ----------------------------------------------------------------- merging


MERGE_KEYS = ("name", "store")  # lists of items with one of these merge item by item
CLIENT_LISTS = ("clients",)  # `store` identifies items only in a workload's clients


def _keys(parent: object) -> tuple[str, ...]:
    return MERGE_KEYS if parent in CLIENT_LISTS else MERGE_KEYS[:1]


def _merge_key(items: list[Node], parent: object = None) -> str | None:
    for key in _keys(parent):
        if all(isinstance(i.value, dict) and key in i.value and isinstance(i.value[key].value, str)
               for i in items):
            return key
    return None


@dataclass
class Overlay:
    """What an overlay's named items matched in its base."""

    new_items: dict[Pos, str] = field(default_factory=dict)  # position of an item -> a note
    problems: list[Problem] = field(default_factory=list)  # a $remove that removed nothing

    def unmatched(self, item: Node, key: str, name: str, base: list[Node]) -> None:
        names = [i.value[key].value for i in base]
        where = base[0].pos.file if base else "its base"
        hint = did_you_mean(name, names)
        remove = item.value.get(REMOVE)
        if remove is not None and remove.value is True:
            self.problems.append(Problem(remove.pos.file, remove.pos.line, remove.pos.column,
                                         REMOVE, f"{name!r} matches no item in {where}: nothing "
                                                 f"to remove{hint}"))
        else:
            self.new_items[item.pos] = (f"{name!r} matches no item in {where}, so it is a new item "
                                        f"and lacks required fields{hint}")


def merge(base: Node, over: Node, parent: object = None, overlay: Overlay | None = None) -> Node:
    """Overlay merge: mappings merge, lists of named items merge by name, else replace."""
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        out = dict(base.value)
        for key, val in over.value.items():
            out[key] = merge(out[key], val, key, overlay) if key in out else val
        return Node(out, base.pos)
    key = _merge_key(base.value + over.value, parent) \
        if isinstance(base.value, list) and isinstance(over.value, list) and over.value else None
    if key is not None:
        items = list(base.value)
        index = {i.value[key].value: n for n, i in enumerate(items)}
        for item in over.value:
            name = item.value[key].value
            if name in index:
                items[index[name]] = merge(items[index[name]], item, None, overlay)
            else:
                if overlay is not None:
                    overlay.unmatched(item, key, name, base.value)
                index[name] = len(items)
                items.append(item)
        return Node(items, base.pos)
    return over


def _drop_removed(node: Node) -> Node:
    if isinstance(node.value, dict):
        return Node({k: _drop_removed(v) for k, v in node.value.items() if k != REMOVE}, node.pos)
    if isinstance(node.value, list):
        kept = [i for i in node.value
                if not (isinstance(i.value, dict) and REMOVE in i.value and i.value[REMOVE].value is True)]
        return Node([_drop_removed(i) for i in kept], node.pos)
    return node


def flatten(node: Node, path: tuple = (), positions: dict | None = None) -> tuple[Any, dict]:
    positions = {} if positions is None else positions
    positions[path] = node.pos
    if isinstance(node.value, dict):
        return {k: flatten(v, (*path, k), positions)[0] for k, v in node.value.items()}, positions
    if isinstance(node.value, list):
        return [flatten(v, (*path, i), positions)[0] for i, v in enumerate(node.value)], positions
    return node.value, positions


# ----------------------------------------------------------------- documents


def _header(node: Node, file: str, kinds: tuple[str, ...]) -> str:
    if not isinstance(node.value, dict):
        raise ModelError([Problem(file, node.pos.line, node.pos.column, "",
                                  "expected a mapping with apiVersion and kind")])
    problems = []
    api = node.value.get("apiVersion")
    if api is None or api.value != API_VERSION:
        p = api.pos if api else node.pos
        problems.append(Problem(file, p.line, p.column, "apiVersion", f"must be {API_VERSION}"))
    kind = node.value.get("kind")
    if kind is None or kind.value not in kinds:
        p = kind.pos if kind else node.pos
        problems.append(Problem(file, p.line, p.column, "kind", f"must be one of {', '.join(kinds)}"))
    if problems:
        raise ModelError(problems)
    return kind.value


def load_document(path: str | Path, kinds: tuple[str, ...] = ("Topology", "Scenario", "Sweep"),
                  _seen: tuple[Path, ...] = (), overlay: Overlay | None = None,
                  ) -> tuple[str, Node, list[str]]:
    """A file and the overlays it extends, merged into one Node tree; `overlay` collects
    the overlays' items that match nothing in their base."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _seen:
        raise ModelError([Problem(str(path), 0, 0, "extends", "extends itself (a cycle)")])
    node = read_yaml(path)
    kind = _header(node, str(path), kinds)
    files = [str(path)]
    ext = node.value.get("extends")
    if ext is not None and kind == "Topology":
        if not isinstance(ext.value, str):
            raise ModelError([Problem(str(path), ext.pos.line, ext.pos.column, "extends",
                                      "must be a file name")])
        parent = path.parent / ext.value
        if not parent.exists():
            raise ModelError([Problem(str(path), ext.pos.line, ext.pos.column, "extends",
                                      f"no such file: {parent}")])
        _, base, base_files = load_document(parent, ("Topology",), (*_seen, resolved), overlay)
        node = merge(base, node, None, overlay)
        files = base_files + files
    return kind, _drop_removed(node), files


def document(path: str | Path, kinds: tuple[str, ...] = ("Topology", "Scenario", "Sweep"),
             overrides: list[tuple[str, Any, Pos]] = ()) -> Document:
    overlay = Overlay()
    kind, node, files = load_document(path, kinds, overlay=overlay)
    problems: list[Problem] = list(overlay.problems)
    if overrides:  # a --set that names nothing is reported with the file's own problems
        node = apply_overrides(node, overrides, problems)
    data, positions = flatten(node)
    doc = Document(kind, data, positions, str(path), files, new_items=overlay.new_items)
    doc.set_problems = problems
    return doc


def duration_hints(doc: Document, model: type) -> list[str]:
    """A file's bare numbers on durations (a scenario's `overrides:` and a sweep's axes
    included, when the topology loads with them), judged as a `--set` of the same value
    is, each as FILE:LINE:COL: field: what it was read as; a `--set` warns for itself."""
    from twin.model.set_hints import hint

    out = []
    for path, pos in doc.positions.items():
        value = _at(doc.data, path)
        if isinstance(value, int | float) and not isinstance(value, bool) and pos.line:
            name = field_path(doc.data, path)
            found = hint(model, name, value)
            if found is not None:
                out.append(f"{pos.file}:{pos.line}:{pos.column}: {name}: {found}")
    return out


def warn(doc: Document, model: type) -> None:
    """Say (on the `twin.input` log, stderr by default) what `duration_hints` finds."""
    doc.warnings = duration_hints(doc, model)
    for line in doc.warnings:
        log.warning("warning: %s", line)


def _at(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


# --------------------------------------------------------------- overrides


def parse_set(text: str) -> tuple[str, Any, Pos]:
    """`services.chat-api.replicas=4` as (path, value, position)."""
    pos = Pos(f"--set {text}")
    if "=" not in text:
        raise ModelError([Problem(pos.file, 0, 0, "", "expected PATH=VALUE")])
    path, raw = text.split("=", 1)
    if not path.strip():
        raise ModelError([Problem(pos.file, 0, 0, "", "empty PATH")])
    try:
        value = plain(raw) if raw.strip() else ""
    except ModelError:  # not YAML (`a: b: c`): the text as it stands
        value = raw
    return path.strip(), value, pos


def _to_node(value: Any, pos: Pos) -> Node:
    if isinstance(value, dict):
        return Node({str(k): _to_node(v, pos) for k, v in value.items()}, pos)
    if isinstance(value, list):
        return Node([_to_node(v, pos) for v in value], pos)
    return Node(value, pos)


def apply_overrides(root: Node, overrides: list[tuple[str, Any, Pos]],
                    collect: list[Problem] | None = None) -> Node:
    """Change values by dotted path; list items are addressed by name (or index).
    Overrides that name nothing raise ModelError, or go into `collect` when given."""
    problems: list[Problem] = []
    for path, value, pos in overrides:
        try:
            _set(root, path.split("."), _to_node(value, pos), pos)
        except KeyError as e:
            problems.append(Problem(pos.file, pos.line, pos.column, path, str(e.args[0])))
    if problems and collect is None:
        raise ModelError(problems)
    if collect is not None:
        collect.extend(problems)
    return root


def _set(node: Node, parts: list[str], value: Node, pos: Pos, parent: object = None) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node.value, dict):
            # keys such as app.kubernetes.io/part-of contain dots: try the longest join first
            for j in range(len(parts), i, -1):
                key = ".".join(parts[i:j])
                if key in node.value:
                    if j == len(parts):
                        node.value[key] = value
                        return
                    _set(node.value[key], parts[j:], value, pos, key)
                    return
            if last:
                node.value[part] = value
                return
            node.value[part] = Node({}, pos)
            node = node.value[part]
            parent = part
        elif isinstance(node.value, list):
            # a scenario's timeline items are named by their `id` (`timeline.kill.at`)
            keys = (*_keys(parent), "id") if parent == "timeline" else _keys(parent)
            match = [n for n, item in enumerate(node.value)
                     if isinstance(item.value, dict) and any(
                         k in item.value and item.value[k].value == part for k in keys)]
            if not match and part.isdigit() and int(part) < len(node.value):
                match = [int(part)]
            if not match:
                names = [str(it.value[k].value) for it in node.value if isinstance(it.value, dict)
                         for k in (MERGE_KEYS[0], *keys[len(_keys(parent)):]) if k in it.value]
                hint = f" (have: {', '.join(names)})" if names else ""
                raise KeyError(f"no item named {part!r}{hint}{did_you_mean(part, names)}")
            if last:
                node.value[match[0]] = value
                return
            node = node.value[match[0]]
            parent = None
        else:
            above = parts[i - 1] if i else parent
            raise KeyError(f"{above} is a value ({node.value!r}), not a mapping or a list")


# ----------------------------------------------------------------- locations


TAG_KEYS = ("kind", "action")
"""The keys tagged unions read their tag from (a store's `kind`, a timeline item's
`action`): in an error's location the tag names the member, not a key of the data.
A route step's kind is the key present, not a value: its tag is its class's name
(`CallStep`), which no key of a file is spelt like."""


def _real_path(data: Any, loc: tuple) -> tuple:
    """Drop the parts of a pydantic location that are not in the data (union tags)."""
    out: list = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur or isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and isinstance(part, str) and not part.startswith(
                ("function-", "union[", "tagged-union[")) and all(cur.get(k) != part for k in TAG_KEYS) \
                and not part[:1].isupper():  # a step Tag (CallStep)
            out.append(part)  # a missing or unknown key: name it, position its parent
            cur = None
    return tuple(out)


def field_path(data: Any, path: tuple) -> str:
    """`services.chat-api.replicas` rather than `services.3.replicas`."""
    parts = []
    cur = data
    prev: object = None
    for part in path:
        if isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            item = cur[part]
            name = next((item[k] for k in _keys(prev) if isinstance(item, dict) and k in item), None)
            parts.append(str(name) if isinstance(name, str) else str(part))
            cur = item
        else:
            parts.append(str(part))
            cur = cur.get(part) if isinstance(cur, dict) else None
        prev = part
    return ".".join(parts)
