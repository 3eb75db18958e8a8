"""YAML text to Node trees, safely: UTF-8 only, the core tags only, aliases bounded.

ruamel composes the text into a node graph in which an alias is the very node of
its anchor. Sizes are counted on that graph, once per distinct node, before
anything is expanded, so anchors that would expand to millions of values (an
alias bomb) are refused in milliseconds and in bounded memory. Only then is the
graph walked into Nodes that carry the file, line and column of every value.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from twin.model.errors import ModelError, Problem

MAX_BYTES = 8 * 2**20
"""A topology or scenario file is some kilobytes; anything this large is a mistake."""
MAX_VALUES = 100_000
"""Values a file may expand to, an alias counted each time it is used (eco2-base.yaml: about 1,800)."""
MAX_DEPTH = 64
"""Levels of nesting (the models nest a dozen at most)."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_MERGE = f"{_CORE}merge"


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


class _Refused(Exception):
    def __init__(self, node: Any, message: str, field: str = ""):
        super().__init__(message)
        self.node, self.message, self.field = node, message, field


def decode(data: bytes, file: str) -> str:
    """UTF-8 text (a byte-order mark dropped); any other bytes name their offset and line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ModelError([Problem(file, line, column, "", (
            f"not UTF-8: byte 0x{data[e.start]:02x} at offset {e.start}; save the file as UTF-8"
        ))]) from None


def read_yaml(path: Path, display: str | None = None) -> Node:
    """One YAML file as a Node tree; anything but plain, bounded UTF-8 YAML raises ModelError."""
    file = display or str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ModelError([Problem(file, 0, 0, "", f"cannot read: {e.strerror or e}")]) from None
    if len(data) > MAX_BYTES:
        raise ModelError([Problem(file, 0, 0, "", f"larger than {MAX_BYTES // 2**20} MiB: "
                                                  "not a topology or scenario file")])
    return parse_yaml(decode(data, file), file)


def parse_yaml(text: str, file: str) -> Node:
    """Text as a Node tree of its own (callers change trees in place: overrides, merges)."""
    return _copy(_parsed(text, file))


def _copy(node: Node) -> Node:
    if isinstance(node.value, dict):
        return Node({k: _copy(v) for k, v in node.value.items()}, node.pos)
    if isinstance(node.value, list):
        return Node([_copy(v) for v in node.value], node.pos)
    return node


@functools.lru_cache(maxsize=32)
def _parsed(text: str, file: str) -> Node:
    """Pure-Python YAML is most of the time of a load (0.4 s for eco2-base.yaml), and the
    same base is read for every overlay, scenario and test: read once per text."""
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(io.StringIO(text))
    except ReaderError as e:  # a control character: its position counts characters
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise ModelError([Problem(file, line, column, "", f"YAML: character #x{e.character:04x} "
                                                          "is not allowed")]) from None
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        msg = " ".join(x for x in (e.context, e.problem) if x) or "invalid YAML"
        raise ModelError([Problem(file, line, col, "", f"YAML: {msg}")]) from None
    except YAMLError as e:
        raise ModelError([Problem(file, 0, 0, "", f"YAML: {e}")]) from None
    except RecursionError:
        raise ModelError([Problem(file, 0, 0, "", "YAML nested too deeply")]) from None
    if root is None:
        return Node(None, Pos(file, 1, 1))
    problems: list[Problem] = []
    try:
        _size(root, {}, set(), 0)
        node = _build(root, Pos(file, 1, 1), file, yaml.constructor, problems)
    except _Refused as e:
        mark = e.node.start_mark
        raise ModelError([Problem(file, mark.line + 1, mark.column + 1, e.field, e.message)]) from None
    if problems:
        raise ModelError(problems)
    return node


def plain(text: str) -> Any:
    """A `--set` value as plain data, read as a file's value would be; ModelError if it is
    not plain YAML."""
    node = parse_yaml(text, "--set")
    return _plain(node)


def _plain(node: Node) -> Any:
    if isinstance(node.value, dict):
        return {k: _plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_plain(v) for v in node.value]
    return node.value


# ------------------------------------------------------------------ the graph


def _tag(node: Any) -> str:
    return str(getattr(node.tag, "value", node.tag))


def _children(node: Any) -> list[Any]:

    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _size(node: Any, sizes: dict[int, int], open_: set[int], depth: int) -> int:
    """Values `node` expands to, each distinct node counted once; refused past the bounds."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise _Refused(node, "an alias refers to the value that contains it (a cycle)")
    if depth > MAX_DEPTH:
        raise _Refused(node, f"nested more than {MAX_DEPTH} levels deep")
    open_.add(key)
    total = 1
    for child in _children(node):
        total += _size(child, sizes, open_, depth + 1)
        if total > MAX_VALUES:
            raise _Refused(node, f"this value expands to more than {MAX_VALUES:,} values (every use "
                                 "of an alias counts): refused as an alias bomb")
    open_.discard(key)
    sizes[key] = total
    return total


def _short(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


def _disallowed(node: Any, pos: Pos, file: str, problems: list[Problem]) -> None:
    problems.append(Problem(file, pos.line, pos.column, "", (
        f"YAML tag {_short(_tag(node))!r} is not allowed (plain YAML only: mappings, lists, "
        "strings, numbers, booleans, null)")))


def _pos(node: Any, file: str) -> Pos:
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: Any, pos: Pos, file: str, constructor: Any, problems: list[Problem]) -> Node:

    tag = _tag(node)
    if isinstance(node, MappingNode):
        if tag != f"{_CORE}map":
            _disallowed(node, pos, file, problems)
            return Node(None, pos)
        return Node(_mapping(node, file, constructor, problems), pos)
    if isinstance(node, SequenceNode):
        if tag != f"{_CORE}seq":
            _disallowed(node, pos, file, problems)
            return Node(None, pos)
        return Node([_build(item, _pos(item, file), file, constructor, problems)
                     for item in node.value], pos)
    if tag not in _SCALAR_TAGS:
        _disallowed(node, pos, file, problems)
        return Node(None, pos)
    try:
        value = constructor.construct_object(node)
    except (ValueError, KeyError, TypeError, YAMLError):
        problems.append(Problem(file, pos.line, pos.column, "",
                                f"YAML: {node.value!r} is not a valid {_short(tag)}"))
        return Node(None, pos)
    if isinstance(value, _dt.date | _dt.datetime):
        value = value.isoformat()
    return Node(value, pos)


def _mapping(node: Any, file: str, constructor: Any, problems: list[Problem]) -> dict[str, Node]:
    """Keys are plain strings, each once; `<<: *anchor` merges, the mapping's own keys first."""

    out: dict[str, Node] = {}
    first: dict[str, int] = {}
    merged: list[Any] = []
    for key, value in node.value:
        kpos = _pos(key, file)
        if not isinstance(key, ScalarNode):
            problems.append(Problem(file, kpos.line, kpos.column, "", (
                "YAML: a mapping key must be a plain value, not a list or a mapping")))
            continue
        if _tag(key) == _MERGE:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            if not all(isinstance(s, MappingNode) for s in sources):
                problems.append(Problem(file, kpos.line, kpos.column, "<<",
                                        "YAML: a merge (<<) takes a mapping or a list of mappings"))
                continue
            merged += sources
            continue
        if _tag(key) != f"{_CORE}str":
            problems.append(Problem(file, kpos.line, kpos.column, str(key.value),
                                    "keys must be strings"))
            continue
        name = str(key.value)
        if name in first:
            problems.append(Problem(file, kpos.line, kpos.column, name,
                                    f"duplicate key (first at line {first[name]})"))
            continue
        first[name] = kpos.line
        out[name] = _build(value, kpos, file, constructor, problems)
    for source in merged:
        for name, value in _mapping(source, file, constructor, problems).items():
            out.setdefault(name, value)
    return out
