"""Read a value of a validated topology by the dotted path `--set` writes.

`stores.redis.sentinel.down_after` reads what is in force after the overrides,
defaults included; list items are named as `--set` names them (by `name`, a
workload's clients by `store`, or by index). A scenario's bounds and
descriptions quote topology values through it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from twin.model.source import CLIENT_LISTS, MERGE_KEYS
from twin.model.units import parse_duration


@dataclass(frozen=True)
class Value:
    """A topology value and whether its field is a Duration (so that it prints as `5s`)."""

    value: Any
    duration: bool = False


def _hint(part: str, have: list[str]) -> str:
    """`did you mean 'sentinel'?` when a name is close, else the names there are."""
    close = difflib.get_close_matches(part, have, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (have: {', '.join(have)})" if have else ""


def _field(model: BaseModel, part: str) -> str | None:
    fields = type(model).model_fields
    if part in fields:
        return part
    return next((n for n, f in fields.items() if f.alias == part), None)


def _is_duration(model: BaseModel, name: str) -> bool:
    meta = type(model).model_fields[name].metadata
    return any(getattr(m, "func", None) is parse_duration for m in meta)


def value_at(root: BaseModel, path: str) -> Value:
    """The value at `path`; KeyError with a sentence (what was there instead) when it names nothing."""
    cur: Any = root
    duration = False
    parent: str | None = None
    done: list[str] = []
    for part in path.split("."):
        where = ".".join(done) or "the topology"
        if isinstance(cur, BaseModel):
            name = _field(cur, part)
            if name is None:
                have = [f.alias or n for n, f in type(cur).model_fields.items()]
                raise KeyError(f"{where} has no field {part!r}{_hint(part, have)}")
            duration = _is_duration(cur, name)
            cur = getattr(cur, name)
        elif isinstance(cur, dict):
            if part not in cur:
                raise KeyError(f"{where} has no key {part!r}{_hint(part, list(map(str, cur)))}")
            cur, duration = cur[part], False
        elif isinstance(cur, list | tuple):
            keys = MERGE_KEYS if parent in CLIENT_LISTS else MERGE_KEYS[:1]
            match = [i for i in cur if any(getattr(i, k, None) == part for k in keys)]
            if not match and part.isdigit() and int(part) < len(cur):
                match = [cur[int(part)]]
            if not match:
                names = [str(getattr(i, k)) for i in cur for k in keys[:1] if hasattr(i, k)]
                raise KeyError(f"{where} has no item named {part!r}{_hint(part, names)}")
            cur, duration = match[0], False
        else:
            raise KeyError(f"{where} is a value ({cur!r}), not a mapping or list")
        parent = part
        done.append(part)
    return Value(cur, duration)
