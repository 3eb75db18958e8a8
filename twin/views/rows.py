"""What every view's rows share: which source sees a field, a row as a JSON
record, and a table's columns as plain-text cells.

A row type is the same whether the model or the live replica filled it; each
source fills the fields it can observe (the model knows requests and where the
fit put a pod, the replica knows readiness, restarts and IPs). A field's
`seen` metadata says which, so that a view's JSON holds what its source saw
and nothing it could not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field, fields, is_dataclass
from typing import Any, Literal

Source = Literal["model", "live"]
MODEL: Source = "model"
LIVE: Source = "live"
BOTH: tuple[Source, ...] = (MODEL, LIVE)

Column = tuple[str, Callable[[Any], str]]
"""A table column: its header and the plain text of its cell for a row."""


def seen(*sources: Source, default: Any = None, factory: Callable[[], Any] | None = None) -> Any:
    """A field that only these sources fill."""
    meta = {"seen": sources}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def unrecorded() -> Any:
    """A required field no record carries (a view's source: the record is that source's)."""
    return field(metadata={"seen": ()})


def record(value: Any, source: Source) -> Any:
    """A row (or a list or mapping of rows) as plain JSON data: the fields `source` sees."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: record(getattr(value, f.name), source) for f in fields(value)
                if source in f.metadata.get("seen", BOTH)}
    if isinstance(value, list | tuple):
        return [record(v, source) for v in value]
    if isinstance(value, dict):
        return {k: record(v, source) for k, v in value.items()}
    return value


def cells(columns: Sequence[Column], row: Any) -> list[str]:
    return [cell(row) for _, cell in columns]


def text(value: Any) -> str:
    """A cell of plain data: lists joined by commas, None empty."""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)
