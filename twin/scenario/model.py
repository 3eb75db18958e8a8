"""`kind: Scenario`: an experiment on a topology, as pure data.

A scenario names a topology and the overrides it applies, the load, a timeline
of faults and actions, and the checks that judge the run. Times are seconds
from the start of the run; check windows may be relative to a fault's `id`
(`kill+10s`, `kill.end+30s`). A bound or a window may name a topology value by
its `--set` path, with offsets (`stores.redis.sentinel.down_after + 1s`,
`crash+stores.redis.sentinel.down_after..end`): twin.scenario.bounds resolves
them against the topology in force. Unknown fields are errors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, field_validator, model_validator

from twin.canary.spec import Canary
from twin.model.base import API_VERSION, Strict
from twin.model.units import Duration, Rate, parse_duration
from twin.scenario.actions import Action, AnyAction

_TIME = re.compile(r"^(?P<head>.*?)(?:\s*(?P<sign>[+-])\s*(?P<d>\d+(?:\.\d+)?\s*(?:ms|s|m|h)?))?$")
_REF = re.compile(r"^(?P<ref>[a-z][a-z0-9-]*?)(?P<end>\.end)?$")
_KEYWORDS = ("start", "warmup", "end")


def parse_time(expr: str | float | int) -> tuple[str | None, bool, float]:
    """`kill+10s` as ("kill", False, 10.0); `kill.end` as ("kill", True, 0.0);
    `90s` as (None, False, 90.0); `end-30s` as ("end", False, -30.0)."""
    if isinstance(expr, bool):
        raise ValueError("expected a time such as 90s, kill, kill+10s or kill.end+30s")
    if isinstance(expr, int | float):
        return None, False, float(parse_duration(expr))
    bad = f"{expr!r} is not a time (use e.g. 90s, kill, kill+10s, kill.end+30s, end)"
    m = _TIME.match(expr.strip())
    head = m["head"].strip() if m else ""
    if not m or not head:
        try:
            return None, False, parse_duration(expr)  # a plain duration from the start
        except ValueError:
            raise ValueError(bad) from None
    ref = _REF.match(head)
    if ref is None:
        if m["sign"] is None and head[:1].isdigit() | head.startswith("."):
            try:
                return None, False, parse_duration(head)
            except ValueError:
                pass
        raise ValueError(bad)
    offset = parse_duration(m["d"]) if m["d"] else 0.0
    if m["sign"] == "-":
        offset = -offset
    if ref["end"] and ref["ref"] in _KEYWORDS:
        raise ValueError(f"{expr!r}: `.end` applies to a fault id, not to {ref['ref']!r}")
    return ref["ref"], bool(ref["end"]), offset


_TIME_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number", "minimum": 0}, {
    "type": "string", "examples": ["90s", "kill", "kill+10s", "kill.end+30s", "end",
                                   "crash+stores.redis.sentinel.down_after"]}]}
_SEP = re.compile(r"\s+[+-]\s+|\s*\+\s*|\s*-\s*(?=\d*\.?\d+\s*(?:ms|s|m|h|%)?\s*(?:$|[\s+-]))")
_PATH = re.compile(r"^[a-z_][a-z0-9_-]*(?:\.[A-Za-z0-9_/-]+)+$")


def is_path(term: str) -> bool:
    """`stores.redis.sentinel.down_after` (a topology value), not `kill.end` (a fault's end)."""
    return bool(_PATH.match(term)) and not _REF.match(term)


def topology_terms(text: str) -> list[tuple[int, str]] | None:
    """`crash + stores.redis.sentinel.down_after + 1s` as [(1, "crash"), (1, "stores..."), (1, "1s")];
    None when no term names a topology value (the text is a plain time or bound)."""
    terms: list[tuple[int, str]] = []
    sign, pos = 1, 0
    for m in _SEP.finditer(text):
        terms.append((sign, text[pos:m.start()].strip()))
        sign, pos = (-1 if "-" in m.group() else 1), m.end()
    terms.append((sign, text[pos:].strip()))
    if terms[0] == (1, "") and len(terms) > 1:  # a leading sign: `-stores.x.y`
        terms = terms[1:]
    if not any(is_path(t) for _, t in terms):
        return None
    if any(not t for _, t in terms):
        raise ValueError(f"{text!r}: an operator without a term on one side")
    return terms


def time_parts(expr: str | float | int) -> tuple[str | None, bool, float, tuple[tuple[int, str], ...]]:
    """parse_time, plus the topology values the time adds: `crash+stores.x.down_after+1s`
    as ("crash", False, 1.0, ((1, "stores.x.down_after"),))."""
    terms = topology_terms(expr) if isinstance(expr, str) else None
    if terms is None:
        return (*parse_time(expr), ())
    (sign, head), rest = terms[0], terms[1:]
    paths: list[tuple[int, str]] = []
    if is_path(head):
        ref, end, offset = None, False, 0.0
        paths.append((sign, head))
    elif sign < 0:
        raise ValueError(f"{expr!r}: a time starts with a fault id, start, warmup, end or a duration")
    else:
        ref, end, offset = parse_time(head)
    for sign, term in rest:
        if is_path(term):
            paths.append((sign, term))
            continue
        try:
            offset += sign * parse_duration(term)
        except ValueError:
            raise ValueError(f"{expr!r}: {term!r} is neither a duration nor a topology path "
                             "(such as stores.redis.sentinel.down_after)") from None
    return ref, end, offset, tuple(paths)


class TimeExpr(str):
    """A validated time expression; resolved against a scenario's timeline."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def check(value: Any) -> str:
            time_parts(value)
            return str(value)

        return core_schema.no_info_before_validator_function(
            check, core_schema.str_schema())

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict:
        return _TIME_SCHEMA


def _bound(value: Any) -> Any:
    """A bound: a number, a duration (`45s`), a percentage (`5%` is 0.05), or a topology
    value with offsets (`stores.redis.sentinel.down_after + 1s`), kept as text until
    twin.scenario.bounds resolves it."""
    if isinstance(value, str):
        terms = topology_terms(value)
        if terms is not None:
            for _, term in terms:
                if not is_path(term):
                    plain_bound(term)
            return value.strip()
        return plain_bound(value)
    return value


def plain_bound(value: str) -> float:
    text = value.strip()
    if text.endswith("%"):
        try:
            return float(text[:-1]) / 100
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage") from None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a bound: use a number (0.05), a percentage "
                         "(5%), a duration (250ms, 30s) or a topology value "
                         "(stores.redis.sentinel.down_after + 1s)") from None



# What YAML may say for each BeforeValidator-parsed field, so editors accept what the loader does.
_BOUND_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "number"},
    {"type": "string", "pattern": r"^\s*-?\d*\.?\d+\s*(%|ms|s|m|h|d)?\s*$",
     "examples": ["0.05", "5%", "45s"]},
    {"type": "string", "pattern": r"^\s*-?\s*[a-z_][a-z0-9_-]*(\.[A-Za-z0-9_/-]+)+(\s*[+-]\s*\S+)*\s*$",
     "description": "a topology value by its --set path, with offsets",
     "examples": ["stores.redis.sentinel.down_after", "stores.redis.sentinel.down_after + 1s"]}]}
_WINDOW_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "string", "pattern": r"\.\.", "description": "FROM..TO, e.g. kill..kill+60s",
     "examples": ["kill..kill+60s", "warmup..kill", "kill.end..end"]},
    {"type": "object", "additionalProperties": False,
     "properties": {"from": _TIME_SCHEMA, "to": _TIME_SCHEMA}}]}

Bound = Annotated[float | str, BeforeValidator(_bound), WithJsonSchema(_BOUND_SCHEMA)]
"""A number, or the text of a topology-valued bound until the scenario is bound to its topology."""


# ------------------------------------------------------------------- load


class ProfilePoint(Strict):
    at: Duration
    factor: float = Field(ge=0)


class Load(Strict):
    """Arrival rates: per route, else the topology's nominal rate, times `scale`,
    times the profile's factor at that moment (piecewise linear between points)."""

    rates: dict[str, Rate] = Field(default={}, description="Per route; unset: the route's nominal rate.")
    scale: float = Field(default=1.0, ge=0, description="Multiplies every route's rate.")
    only: bool = Field(default=False, description="Only the routes under `rates` get traffic.")
    profile: list[ProfilePoint] = Field(default=[], description="Rate factor over time; empty: 1.")

    def factor(self, t: float) -> float:
        pts = sorted(self.profile, key=lambda p: p.at)
        if not pts:
            return 1.0
        if t <= pts[0].at:
            return pts[0].factor
        for a, b in zip(pts, pts[1:], strict=False):
            if t <= b.at:
                span = b.at - a.at
                return b.factor if span == 0 else a.factor + (b.factor - a.factor) * (t - a.at) / span
        return pts[-1].factor


# ------------------------------------------------------------------ checks


class Window(Strict):
    from_: TimeExpr = Field(default=TimeExpr("warmup"), alias="from")
    to: TimeExpr = TimeExpr("end")


SHAPES = ("metric", "event", "recovery", "saturation")

# A check's kind when the file does not say: by the metric's name, else by its shape.
# SLOs are what users see (errors, latency, data lost, time to recover, a capacity
# that cannot keep up); expectations, what the model is shown doing (events, replica
# counts, traffic volumes, connections).
DEFAULT_KIND: dict[str, Literal["slo", "expectation"]] = {
    **dict.fromkeys(("error_rate", "write_error_rate", "failed", "latency", "p50", "p95", "p99",
                     "turns_incomplete", "events_lost", "events_duplicated", "writes_lost",
                     "write_errors", "read_errors", "readonly_errors", "connection_errors",
                     "write_failing", "unavailable", "dropped", "lost", "subscriptions_dropped"),
                    "slo"),
    "recovery": "slo",
    "saturation": "slo",
    "event": "expectation",
    "metric": "expectation",  # ready, replicas, utilisation, requests, length, connections, ...
}


def default_kind(data: dict[str, Any]) -> Literal["slo", "expectation"]:
    """The kind DEFAULT_KIND gives a check's raw fields (a check of no shape: expectation).
    A harm bounded from below (`chat.error_rate min: 0.9`, `writes_lost min: 1`) asserts
    that the fault does harm, which is what the scenario shows: an expectation."""
    metric = data.get("metric")
    if not isinstance(metric, str):
        shape = next((k for k in SHAPES if data.get(k) is not None), "metric")
        return DEFAULT_KIND[shape]
    kind = DEFAULT_KIND.get(metric.rpartition(".")[2], DEFAULT_KIND["metric"])
    return "expectation" if kind == "slo" and _bounded_below(data) else kind


def _bounded_below(data: dict[str, Any]) -> bool:
    try:
        if data.get("range") is not None:
            return float(_bound(data["range"][0])) > 0
        return data.get("min") is not None and data.get("max") is None and float(_bound(data["min"])) > 0
    except (TypeError, ValueError, IndexError, KeyError):
        return False  # a malformed bound: the field's own validation says so


class Check(Strict):
    """One steady-state hypothesis, judged in every replication.

    metric: a metric (`route/chat.error_rate`) summarised by `stat` over `window`.
    event: Redis/Kubernetes events (`+switch-master`) in `window`; `stat` count
      (default) or delay (time of the first one after the window opens).
    recovery: a metric that must come back to its steady state (its band, or the
      pre-fault baseline x (1 + tolerance)) within `within` after fault `after` ends.
    saturation: `any` or a component (`workload/chat-worker`, `queue`): none of them
      saturated (busy >= 98 %, or a backlog growing) after the warm-up; `max` of them may.
    Bounds: `max`, `min` or `range: [low, high]`; each may name a topology value
      (`stores.redis.sentinel.down_after + 1s`), as may the window.
    kind: `slo` (what users see) or `expectation` (what the scenario was written to
      show the model doing); unset, from DEFAULT_KIND by the metric's name or the shape.
    """

    name: str = Field(min_length=1)
    description: str | None = None
    kind: Literal["slo", "expectation"] | None = Field(
        default=None, description="slo: what users see; expectation: what the scenario shows the "
        "model doing. Unset: expectation for events and replica counts, slo for error rates, "
        "latency, data lost, recovery and saturation.")
    metric: str | None = None
    event: str | None = None
    recovery: str | None = None
    saturation: str | None = Field(
        default=None, description="`any`, or KIND/NAME or KIND (workload/chat-worker, queue): "
        "none of them saturated after the warm-up (`max`: how many may be).")
    stat: Literal["mean", "max", "min", "p50", "p95", "p99", "sum", "last", "rate",
                  "count", "delay"] | None = None
    window: Annotated[Window, WithJsonSchema(_WINDOW_SCHEMA)] = Window()
    source: str | None = Field(default=None, description="Event checks: only events from this source.")
    max: Bound | None = None
    min: Bound | None = None
    range: tuple[Bound, Bound] | None = None
    after: str | None = Field(default=None, description="Recovery: the fault id; unset: the last fault.")
    within: Duration | None = Field(default=None, description="Recovery: time allowed.")
    tolerance: float = Field(default=0.5, ge=0, description="Recovery: relative margin over baseline.")
    slack: float = Field(default=0.0, ge=0, description="Recovery: absolute margin over baseline.")
    step: Duration = Field(default=10.0, gt=0, description="Recovery: width of the judging windows.")
    holds_in: float = Field(default=1.0, gt=0, le=1,
                            description="Share of replications it must hold in (1: all).")

    @field_validator("window", mode="before")
    @classmethod
    def _window_text(cls, value: Any) -> Any:
        """`kill..kill+60s` as a shorthand for {from: kill, to: kill+60s}."""
        if isinstance(value, str):
            if ".." not in value:
                raise ValueError("a window is FROM..TO (e.g. kill..kill+60s) or {from, to}")
            a, b = value.split("..", 1)
            return {"from": a.strip() or "warmup", "to": b.strip() or "end"}
        return value

    @model_validator(mode="before")
    @classmethod
    def _default_kind(cls, data: Any) -> Any:
        """An unset kind from DEFAULT_KIND, so that every check downstream has one."""
        if isinstance(data, dict) and data.get("kind") is None:
            return {**data, "kind": default_kind(data)}
        return data

    @model_validator(mode="after")
    def _shape(self) -> Check:
        kinds = [k for k in SHAPES if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a check sets exactly one of metric, event, recovery, saturation; "
                             "this one sets " + (", ".join(kinds) or "none"))
        bounds = [b for b in ("max", "min", "range") if getattr(self, b) is not None]
        if self.range is not None and all(isinstance(b, float | int) for b in self.range) \
                and self.range[0] > self.range[1]:
            raise ValueError("range is [low, high] with low <= high")
        if self.range is not None and len(bounds) > 1:
            raise ValueError("range cannot be combined with max or min")
        if self.saturation is not None:
            self._saturation_shape()
        elif self.event is not None:
            if self.stat not in (None, "count", "delay"):
                raise ValueError("an event check's stat is count or delay")
            if not bounds:
                raise ValueError("an event check needs max, min or range")
        elif self.recovery is not None:
            if self.within is None:
                raise ValueError("a recovery check needs within")
            if self.stat in ("count", "delay"):
                raise ValueError("count and delay are stats of event checks")
        else:
            if self.stat in ("count", "delay"):
                raise ValueError("count and delay are stats of event checks")
            if not bounds:
                raise ValueError("a metric check needs max, min or range")
        return self

    def _saturation_shape(self) -> None:
        """The saturation analysis judges the run after the warm-up, counting components."""
        if self.stat is not None:
            raise ValueError("a saturation check has no stat: it counts saturated components")
        if self.min is not None or self.range is not None:
            raise ValueError("a saturation check's only bound is max (how many may saturate)")
        if self.window != Window():
            raise ValueError("a saturation check judges the whole run after the warm-up; "
                             "it takes no window")

    @property
    def shape(self) -> str:
        """metric, event, recovery or saturation: what the check reads."""
        return next(k for k in SHAPES if getattr(self, k) is not None)

    @property
    def statistic(self) -> str:
        if self.stat:
            return self.stat
        return "count" if self.event or self.saturation else "mean"

    def bound_text(self) -> str:
        def g(b: float | str) -> str:
            return b if isinstance(b, str) else f"{b:g}"

        if self.range is not None:
            return f"in [{g(self.range[0])}, {g(self.range[1])}]"
        parts = []
        if self.min is not None:
            parts.append(f">= {g(self.min)}")
        if self.max is not None:
            parts.append(f"<= {g(self.max)}")
        return " and ".join(parts)

    def within_bounds(self, value: float) -> bool:
        lo, hi = (self.range if self.range is not None else (self.min, self.max))
        if self.saturation is not None and hi is None:
            hi = 0.0  # none saturated
        return (lo is None or value >= lo) and (hi is None or value <= hi)


# ---------------------------------------------------------------- scenario


class Scenario(Strict):
    api_version: Literal["twin.eco2/v1"] = Field(alias="apiVersion")
    kind: Literal["Scenario"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str | None = None
    topology: str = Field(default="../topologies/eco2-prod.yaml",
                          description="Path relative to this file.")
    overrides: dict[str, Any] = Field(
        default={}, description="PATH: VALUE on the topology; `scenario.` paths change this file.")
    duration: Duration = Field(gt=0)
    warmup: Duration = 0.0
    seed: int = Field(default=1, ge=0)
    replications: int = Field(default=1, ge=1)
    load: Load = Load()
    timeline: list[AnyAction] = []
    canary: Canary | None = Field(default=None, description="A canary release judged as Flagger "
                                  "(or Kayenta) would: docs/canary.md.")
    checks: list[Check] = []

    @model_validator(mode="after")
    def _times(self) -> Scenario:
        if self.warmup >= self.duration:
            raise ValueError("warmup must be shorter than duration")
        return self

    def fault(self, fault_id: str) -> Action | None:
        return next((a for a in self.timeline if a.id == fault_id), None)

    def resolve(self, expr: str) -> float:
        """Seconds from the start of the run; a fault without `for` ends when the run does."""
        ref, end, offset = parse_time(expr)
        if ref is None:
            base = 0.0
        elif ref == "start":
            base = 0.0
        elif ref == "warmup":
            base = self.warmup
        elif ref == "end":
            base = self.duration
        else:
            action = self.fault(ref)
            if action is None:
                raise KeyError(ref)
            base = (action.end if action.end is not None else self.duration) if end else action.at
        return min(max(base + offset, 0.0), self.duration)

    @property
    def faults(self) -> list[Action]:
        return sorted((a for a in self.timeline if a.action != "scale"), key=lambda a: a.at)


__all__ = ["API_VERSION", "DEFAULT_KIND", "Action", "Check", "Load", "Scenario", "Window", "parse_time",
           "time_parts"]
