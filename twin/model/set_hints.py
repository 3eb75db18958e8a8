"""Warnings for `--set` and file values that are valid but probably not meant.

Durations take a bare number as seconds, so `down_after: 5` is 5 s, and
`stores.redis.sentinel.down_after=5000` (Sentinel's own `down-after-milliseconds
5000`) is 83 minutes, not 5 s: valid, and the run would show no failover at all.
Every bare number on a duration field warns, saying how it was read and how to
write it; one large enough to be milliseconds says that too. One rule for
`--set` and for files (topology, scenario, sweep).
"""

from __future__ import annotations

import math
import typing
from typing import Any

from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from twin.model.units import format_duration, parse_duration

SUSPICIOUS_SECONDS = 1000.0
"""For a timeout without a default: a bare number this large is probably milliseconds."""


def _suspicious(field: FieldInfo, path: str, number: float) -> bool:
    """A hundred times the field's default (down_after 30 s: 3000 and more), or for a
    timeout without one, 1000 s and more. A run an hour long is no mistake."""
    default = field.default
    if isinstance(default, (int, float)) and not isinstance(default, bool) and default > 0:
        return number >= 100 * default
    return path.endswith("timeout") and number >= SUSPICIOUS_SECONDS


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation may hold, through Optional, unions, lists and dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models(arg)
    return out


def _is_container(annotation: Any) -> bool:
    """A list or dict of items: the next part of a path names an item, not a field."""
    origin = typing.get_origin(annotation)
    if origin in (list, dict):
        return True
    return any(_is_container(a) for a in typing.get_args(annotation)
               if typing.get_origin(a) is not typing.Annotated and a is not type(None))


def field_at(model: type[BaseModel], parts: list[str]) -> FieldInfo | None:
    """The field a dotted --set path ends on (list items named by their name)."""
    name, rest = parts[0], parts[1:]
    field = next((f for n, f in model.model_fields.items() if name in (n, f.alias)), None)
    if field is None or not rest:
        return field
    if _is_container(field.annotation):
        rest = rest[1:]
        if not rest:
            return None
    for inner in _models(field.annotation):
        found = field_at(inner, rest)
        if found is not None:
            return found
    return None


def is_duration(field: FieldInfo) -> bool:
    """A field that takes a Duration (`30s`, or a bare number of seconds), and no plain
    number beside it: a Slo's `max: float | Duration` reads 0.01 as an error rate."""
    def validators(annotation: Any) -> list[Any]:
        meta = list(getattr(annotation, "__metadata__", ()))
        for arg in typing.get_args(annotation):
            meta += validators(arg)
        return meta

    if any(a in (int, float) for a in typing.get_args(field.annotation)):
        return False
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration
               for m in [*field.metadata, *validators(field.annotation)])


def hint(model: type[BaseModel], path: str, value: Any) -> str | None:
    """How a bare number `value` at dotted `path` of `model` was read and how to write it,
    when the field is a duration (and what it probably meant, when that large): the one
    rule for `--set` and for files. Zero is zero in any unit: no warning."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None  # a unit was given, or no number at all: nothing to guess
    if not math.isfinite(number) or number == 0:
        return None
    field = field_at(model, path.split("."))
    if field is None or not is_duration(field):
        return None
    written = value.strip() if isinstance(value, str) else f"{value:g}"
    read = f"{number:g}s"
    if format_duration(number) != read:
        read += f" ({format_duration(number)})"
    if _suspicious(field, path, number):
        return (f"a bare number is seconds: {written} is read as {read}; for milliseconds "
                f"write {written}ms ({format_duration(number / 1000)}), for seconds {written}s")
    return f"a bare number is seconds: {written} is read as {read}; write {written}s"


def warnings(model: type[BaseModel], sets: list[str], prefix: str = "") -> list[str]:
    """One line per `--set PATH=VALUE` that gives a duration a bare number; `prefix` (`scenario.`) selects the sets this model takes."""
    out = []
    for s in sets:
        path, _, value = s.partition("=")
        if prefix and not path.startswith(prefix) or not prefix and path.startswith("scenario."):
            continue
        found = hint(model, path.removeprefix(prefix), value)
        if found is not None:
            out.append(f"--set {s}: {found}")
    return out
