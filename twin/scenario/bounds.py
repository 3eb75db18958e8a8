"""Bounds, windows and descriptions that follow the topology.

A check may say `range: [stores.redis.sentinel.down_after, stores.redis.sentinel.down_after + 1s]`
or `window: crash+stores.redis.sentinel.down_after..end`, and a description
`(down-after {stores.redis.sentinel.down_after})`: bound to the topology in
force (after the file's overrides and `--set`), a what-if run judges itself by
its own settings and its header quotes them. A path that names nothing is a
problem at the line that wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from twin.model.errors import Problem
from twin.model.paths import Value, value_at
from twin.model.source import Document
from twin.model.units import format_duration
from twin.scenario.model import (
    Check,
    Scenario,
    Window,
    is_path,
    plain_bound,
    time_parts,
    topology_terms,
)

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_-]*(?:\.[A-Za-z0-9_/-]+)+)\}")

IN_FORCE: dict[str, Callable[[Any], float]] = {
    # unset: kube-controller-manager's default for the cluster's Kubernetes version
    "cluster.node_monitor_grace_period": lambda topo: topo.cluster.grace_period,
}
"""Fields whose unset value (None) is decided elsewhere: the value in force then."""


def _value(topo: BaseModel, path: str) -> Value:
    """The value at `path`, an unset IN_FORCE field as the value in force; KeyError
    with the sentence when it names nothing."""
    found = value_at(topo, path)
    if found.value is None and path in IN_FORCE:
        return Value(IN_FORCE[path](topo), duration=True)
    return found


def _number(topo: BaseModel, path: str) -> float:
    """A topology value that can take part in a sum; ValueError with the sentence."""
    try:
        found = _value(topo, path)
    except KeyError as e:
        raise ValueError(f"{path!r} names no topology value: {e.args[0]}") from None
    if isinstance(found.value, bool) or not isinstance(found.value, int | float):
        raise ValueError(f"{path!r} is {found.value!r}, not a number or a duration")
    return float(found.value)


def bound_value(text: str, topo: BaseModel) -> float:
    """`stores.redis.sentinel.down_after + 1s` as 31.0 on a topology with down-after 30s."""
    total = 0.0
    for sign, term in topology_terms(text) or [(1, text)]:
        total += sign * (_number(topo, term) if is_path(term) else plain_bound(term))
    return total


def time_text(expr: str, topo: BaseModel) -> str:
    """`crash+stores.redis.sentinel.down_after+5s` as `crash+35s`: a plain time expression."""
    ref, end, offset, paths = time_parts(expr)
    if not paths:
        return expr
    offset += sum(sign * _number(topo, p) for sign, p in paths)
    if ref is None:
        return f"{max(offset, 0.0):g}s"
    return f"{ref}{'.end' if end else ''}{offset:+g}s"


def quote(text: str, topo: BaseModel) -> str:
    """`{stores.redis.sentinel.down_after}` as the value in force (`5s`)."""

    def one(m: re.Match) -> str:
        try:
            found = _value(topo, m[1])
        except KeyError as e:
            raise ValueError(f"{{{m[1]}}} names no topology value: {e.args[0]}") from None
        if found.duration and isinstance(found.value, int | float):
            return format_duration(found.value)
        return str(found.value)

    return PLACEHOLDER.sub(one, text)


def _check(c: Check, i: int, topo: BaseModel, doc: Document | None,
           problems: list[Problem]) -> Check:
    update: dict[str, Any] = {}

    def attempt(loc: tuple, f: Any, *args: Any) -> Any:
        try:
            return f(*args)
        except ValueError as e:
            problems.append(_at(doc, loc, str(e)))
            return None

    for field in ("min", "max"):
        b = getattr(c, field)
        if isinstance(b, str):
            update[field] = attempt(("checks", i, field), bound_value, b, topo)
    if c.range is not None and any(isinstance(b, str) for b in c.range):
        lo, hi = (attempt(("checks", i, "range", k), bound_value, b, topo) if isinstance(b, str)
                  else b for k, b in enumerate(c.range))
        update["range"] = (lo, hi)
        if lo is not None and hi is not None and lo > hi:
            problems.append(_at(doc, ("checks", i, "range"), (
                f"range is [low, high] with low <= high; with this topology it is [{lo:g}, {hi:g}]")))
    frm = attempt(("checks", i, "window", "from"), time_text, c.window.from_, topo)
    to = attempt(("checks", i, "window", "to"), time_text, c.window.to, topo)
    if (frm, to) != (c.window.from_, c.window.to) and frm is not None and to is not None:
        update["window"] = Window.model_validate({"from": frm, "to": to})
    if c.description and PLACEHOLDER.search(c.description):
        update["description"] = attempt(("checks", i, "description"), quote, c.description, topo)
    return c.model_copy(update=update) if update else c


def _at(doc: Document | None, loc: tuple, message: str) -> Problem:
    return doc.problem(loc, message) if doc is not None else Problem(
        "scenario", 0, 0, ".".join(map(str, loc)), message)


def bind(scn: Scenario, topo: BaseModel, doc: Document | None = None) -> tuple[Scenario, list[Problem]]:
    """The scenario with every topology-valued bound, window and placeholder resolved
    (a plain scenario comes back as it is), and the problems of those that name nothing."""
    problems: list[Problem] = []
    checks = [_check(c, i, topo, doc, problems) for i, c in enumerate(scn.checks)]
    update: dict[str, Any] = {}
    if any(a is not b for a, b in zip(checks, scn.checks, strict=True)):
        update["checks"] = checks
    if scn.description and PLACEHOLDER.search(scn.description):
        try:
            update["description"] = quote(scn.description, topo)
        except ValueError as e:
            problems.append(_at(doc, ("description",), str(e)))
    return (scn.model_copy(update=update) if update else scn), problems

