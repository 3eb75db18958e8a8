"""Quantities as people write them in YAML: durations, rates, CPU and memory.

Files say `30s`, `250m`, `256Mi`, `300/s`; the model holds plain floats (seconds,
cores, bytes, per second) so that engines never parse strings.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?|\.\d+)\s*(?P<u>ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_RATE = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?|\.\d+)\s*(?:/\s*(?P<u>s|m|h))?\s*$")
_RATE_UNITS = {"s": 1.0, "m": 1 / 60.0, "h": 1 / 3600.0, None: 1.0}
_MEMORY = re.compile(r"^\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<u>Ki|Mi|Gi|Ti|k|M|G|T)?\s*$")
_MEMORY_UNITS = {
    None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def _number(value: Any, what: str) -> float | None:
    if isinstance(value, bool):
        raise ValueError(f"expected a {what}, got a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{what} must not be negative")
        return _finite(value, what)
    if not isinstance(value, str):
        raise ValueError(f"expected a {what}, got {type(value).__name__}")
    return None


def _finite(value: Any, what: str) -> float:
    """A float a clock or a counter can hold: YAML's .inf and .nan, and 10**400, are none."""
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        shown = repr(value) if len(repr(value)) <= 24 else f"{repr(value)[:20]}..."
        raise ValueError(f"{shown} is not a {what} a cluster can have (too large, or not a number)")
    return number


def parse_duration(value: Any) -> float:
    """`250ms`, `30s`, `5m`, `1h` or a bare number of seconds."""
    n = _number(value, "duration")
    if n is not None:
        return n
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration (use e.g. 250ms, 30s, 5m, 1h)")
    return _finite(float(m["n"]) * _DURATION_UNITS[m["u"]], "duration")


def parse_rate(value: Any) -> float:
    """`300`, `300/s`, `5/m` or `90/h`, as events per second."""
    n = _number(value, "rate")
    if n is not None:
        return n
    m = _RATE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a rate (use e.g. 300, 300/s, 5/m)")
    return _finite(float(m["n"]) * _RATE_UNITS[m["u"]], "rate")


def parse_cpu(value: Any) -> float:
    """Kubernetes CPU quantity (`250m`, `0.5`, `2`) as cores."""
    n = _number(value, "CPU quantity")
    if n is not None:
        return n
    v = value.strip()
    try:
        cores = float(v[:-1]) / 1000.0 if v.endswith("m") else float(v)
    except ValueError:
        raise ValueError(f"{value!r} is not a CPU quantity (use e.g. 250m, 0.5, 2)") from None
    if cores < 0:
        raise ValueError("CPU quantity must not be negative")
    return _finite(cores, "CPU quantity")


def parse_memory(value: Any) -> float:
    """Kubernetes memory quantity (`256Mi`, `4Gi`, `1G`) as bytes."""
    n = _number(value, "memory quantity")
    if n is not None:
        return n
    m = _MEMORY.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a memory quantity (use e.g. 256Mi, 4Gi)")
    return _finite(float(m["n"]) * _MEMORY_UNITS[m["u"]], "memory quantity")


def format_duration(seconds: float) -> str:
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds < 120 or seconds % 60:
        return f"{seconds:g}s"
    return f"{seconds / 60:g}m"


def format_cpu(cores: float) -> str:
    return f"{round(cores * 1000)}m" if cores < 1 or cores % 1 else f"{cores:g}"


def format_memory(nbytes: float) -> str:
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        size = _MEMORY_UNITS[unit]
        if nbytes >= size and nbytes % size == 0:
            return f"{int(nbytes // size)}{unit}"
    return f"{int(nbytes / 2**20)}Mi"


def _schema(pattern: str, example: str) -> dict:
    return {
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": pattern, "examples": [example]},
        ]
    }


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(_schema(r"^\s*\d*\.?\d+\s*(ms|s|m|h|d)?\s*$", "30s")),
]
Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    WithJsonSchema(_schema(r"^\s*\d*\.?\d+\s*(/\s*(s|m|h))?\s*$", "300/s")),
]
Cpu = Annotated[
    float,
    BeforeValidator(parse_cpu),
    WithJsonSchema(_schema(r"^\s*\d*\.?\d+m?\s*$", "250m")),
]
Memory = Annotated[
    float,
    BeforeValidator(parse_memory),
    WithJsonSchema(_schema(r"^\s*\d*\.?\d+\s*(Ki|Mi|Gi|Ti|k|M|G|T)?\s*$", "256Mi")),
]
