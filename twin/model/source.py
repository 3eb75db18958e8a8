"""YAML with positions: load, `extends:` merge, `--set` overrides, error locations.

Every value keeps the file, line and column that supplied it, through overlay
merges and overrides, so that a problem found later names its true origin.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from twin.model.base import API_VERSION
from twin.model.errors import ModelError, Problem

REMOVE = "$remove"
_SAFE_TAGS = {None, "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
              "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
              "tag:yaml.org,2002:seq", "!!str", "!!int", "!!float", "!!bool", "!!null"}


@dataclass(frozen=True)
class Pos:
    file: str
    line: int = 0
    column: int = 0


@dataclass
class Node:
    """A YAML value with where it came from."""

    value: Any  # dict[str, Node] | list[Node] | scalar
    pos: Pos


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

    def locate(self, loc: tuple) -> tuple[Pos, str]:
        """Position and dotted, name-keyed field path of a pydantic-style location."""
        path = self.original(_real_path(self.live, loc)) if self.shifts else _real_path(self.data, loc)
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
        pos, name = self.locate(loc)
        return Problem(pos.file, pos.line, pos.column, name, message)


# ----------------------------------------------------------------- reading


def _tag(obj: Any) -> str | None:
    tag = getattr(obj, "tag", None)
    return getattr(tag, "value", tag) if tag is not None else None


def _annotate(obj: Any, pos: Pos, file: str, problems: list[Problem]) -> Node:
    tag = _tag(obj)
    if isinstance(obj, TaggedScalar) or tag not in _SAFE_TAGS:
        problems.append(Problem(file, pos.line, pos.column, "",
                                f"YAML tag {tag!r} is not allowed (plain YAML only)"))
        return Node(None, pos)
    if isinstance(obj, CommentedMap):
        out: dict[str, Node] = {}
        for key in obj:
            line, col = obj.lc.key(key)
            kpos = Pos(file, line + 1, col + 1)
            if not isinstance(key, str):
                problems.append(Problem(file, kpos.line, kpos.column, str(key),
                                        "keys must be strings"))
                continue
            out[key] = _annotate(obj[key], kpos, file, problems)
        return Node(out, pos)
    if isinstance(obj, CommentedSeq):
        items = []
        for i, item in enumerate(obj):
            line, col = obj.lc.item(i)
            items.append(_annotate(item, Pos(file, line + 1, col + 1), file, problems))
        return Node(items, pos)
    if isinstance(obj, bool) or obj is None:
        return Node(obj, pos)
    if isinstance(obj, int):
        return Node(int(obj), pos)
    if isinstance(obj, float):
        return Node(float(obj), pos)
    if isinstance(obj, _dt.date | _dt.datetime):
        return Node(obj.isoformat(), pos)
    return Node(str(obj), pos)


def read_yaml(path: Path, display: str | None = None) -> Node:
    """One YAML file as a Node tree; syntax errors and unsafe tags raise ModelError."""
    file = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ModelError([Problem(file, 0, 0, "", f"cannot read: {e.strerror or e}")]) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str) -> Node:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        obj = yaml.load(io.StringIO(text))
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        msg = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        raise ModelError([Problem(file, line, col, "", f"YAML: {msg}")]) from None
    except YAMLError as e:
        raise ModelError([Problem(file, 0, 0, "", f"YAML: {e}")]) from None
    except RecursionError:
        raise ModelError([Problem(file, 0, 0, "", "YAML nested too deeply")]) from None
    except TypeError:  # ruamel cannot hash a complex key (`? [a, b]`)
        raise ModelError([Problem(file, 0, 0, "", "YAML: a mapping key must be a plain value, "
                                                  "not a list or a mapping")]) from None
    problems: list[Problem] = []
    node = _annotate(obj, Pos(file, 1, 1), file, problems)
    if problems:
        raise ModelError(problems)
    return node


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


def merge(base: Node, over: Node, parent: object = None) -> Node:
    """Overlay merge: mappings merge, lists of named items merge by name, else replace."""
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        out = dict(base.value)
        for key, val in over.value.items():
            out[key] = merge(out[key], val, key) if key in out else val
        return Node(out, base.pos)
    key = _merge_key(base.value + over.value, parent) \
        if isinstance(base.value, list) and isinstance(over.value, list) and over.value else None
    if key is not None:
        items = list(base.value)
        index = {i.value[key].value: n for n, i in enumerate(items)}
        for item in over.value:
            name = item.value[key].value
            if name in index:
                items[index[name]] = merge(items[index[name]], item)
            else:
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
                  _seen: tuple[Path, ...] = ()) -> tuple[str, Node, list[str]]:
    """A file and the overlays it extends, merged into one Node tree."""
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
        _, base, base_files = load_document(parent, ("Topology",), (*_seen, resolved))
        node = merge(base, node)
        files = base_files + files
    return kind, _drop_removed(node), files


def document(path: str | Path, kinds: tuple[str, ...] = ("Topology", "Scenario", "Sweep"),
             overrides: list[tuple[str, Any, Pos]] = ()) -> Document:
    kind, node, files = load_document(path, kinds)
    problems: list[Problem] = []
    if overrides:  # a --set that names nothing is reported with the file's own problems
        node = apply_overrides(node, overrides, problems)
    data, positions = flatten(node)
    doc = Document(kind, data, positions, str(path), files)
    doc.set_problems = problems
    return doc


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
        value = YAML(typ="safe", pure=True).load(raw) if raw.strip() else ""
    except YAMLError:
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
                raise KeyError(f"no item named {part!r}{hint}")
            if last:
                node.value[match[0]] = value
                return
            node = node.value[match[0]]
            parent = None
        else:
            raise KeyError(f"{'.'.join(parts[:i])} is a value, not a mapping or list")


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
