"""`twin compare DIR...`: runs side by side, from the result.json files they left.

The on-call question "what if down-after were 5 s" is two runs of one scenario
with different overrides; this lines up their settings, key events, user
impact and checks in one table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.model.errors import ModelError, Problem
from twin.model.units import format_duration

KEY_EVENTS = ("+sdown", "+odown", "+elected-leader", "+promoted-slave", "+switch-master",
              "+convert-to-slave", "-failover-abort-not-elected", "-failover-abort-no-good-slave")


@dataclass
class Column:
    label: str
    data: dict


def find_results(paths: list[str | Path]) -> list[Column]:
    """Each DIR's result.json, or the result.json of each scenario subfolder."""
    cols: list[Column] = []
    problems: list[Problem] = []
    for p in map(Path, paths):
        files = [p] if p.is_file() else ([p / "result.json"] if (p / "result.json").exists()
                                         else sorted(p.glob("*/result.json")))
        if not files:
            problems.append(Problem(str(p), 0, 0, "", "no result.json here (run `twin run --out DIR` first)"))
        for f in files:
            try:
                data = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                problems.append(Problem(str(f), 0, 0, "", f"cannot read: {e}"))
                continue
            if not isinstance(data, dict) or "checks" not in data or "verdict" not in data:
                what = ("a `twin sim` result" if isinstance(data, dict) and "schema_version" in data
                        else "not a twin run result")
                problems.append(Problem(str(f), 0, 0, "", f"{what}: compare takes the folders "
                                                          "of `twin run --out DIR`"))
                continue
            label = f.parent.name if f.parent != Path(".") else str(f.parent)
            cols.append(Column(label, data))
    if problems:
        raise ModelError(problems)
    return cols


def _first(data: dict, event: str) -> float | None:
    for e in data.get("timeline", []):
        if e.get("event") == event:
            return e.get("t")
    return None


def _first_fault(data: dict) -> tuple[float, str] | None:
    for e in data.get("timeline", []):
        if e.get("fault"):
            return e["t"], str(e.get("detail", "")).removeprefix("id=").split()[0] or e["event"]
    return None


def _since(t: float, fault: tuple[float, str] | None) -> str:
    """`+30.07s after crash`: runs whose faults start at different times line up."""
    if fault is None:
        return f"{t:.2f}s"
    return f"{t - fault[0]:+.2f}s after {fault[1]}"


def differences(cols: list[Column]) -> list[str]:
    """What makes the runs' counts not comparable one to one."""
    notes = []
    for key, what in (("backend", "backends"), ("duration", "durations")):
        values = {format_duration(v) if isinstance(v := c.data.get(key), (int, float)) else str(v)
                  for c in cols}
        if len(values) > 1:
            notes.append(f"the runs have different {what} ({', '.join(sorted(values))}): counts "
                         "of requests and errors are not comparable one to one")
    return notes


def rows(cols: list[Column]) -> list[tuple[str, list[str]]]:
    """(label, one cell per run) for every line worth comparing."""
    out: list[tuple[str, list[str]]] = []

    def add(label: str, cells: list[Any]) -> None:
        out.append((label, ["-" if c is None else str(c) for c in cells]))

    add("scenario", [c.data.get("scenario") for c in cols])
    add("backend", [c.data.get("backend") for c in cols])
    add("seed x replications", [f"{c.data.get('seed')} x {c.data.get('replications')}" for c in cols])
    add("duration", [None if c.data.get("duration") is None else
                     format_duration(c.data["duration"]) + (
                         f" (warm-up {format_duration(c.data['warmup'])})" if c.data.get("warmup") else "")
                     for c in cols])
    keys = sorted({k for c in cols for k in (c.data.get("overrides") or {})}
                  | {s.split("=", 1)[0] for c in cols for s in c.data.get("set") or []})
    for k in keys:
        cells = []
        for c in cols:
            sets = dict(s.split("=", 1) for s in c.data.get("set") or [] if "=" in s)
            cells.append(sets.get(k, (c.data.get("overrides") or {}).get(k)))
        add(f"set {k}", cells)
    starts = [_first_fault(c.data) for c in cols]
    for ev in KEY_EVENTS:
        times = [_first(c.data, ev) for c in cols]
        if any(t is not None for t in times):
            add(f"first {ev}", [None if t is None else _since(t, f) for t, f in zip(times, starts,
                                                                                   strict=True)])
    routes = sorted({r for c in cols for r in (c.data.get("impact") or {}).get("routes", {})})
    for r in routes:
        cells = []
        for c in cols:
            v = (c.data.get("impact") or {}).get("routes", {}).get(r)
            notes = f"; {v['notes']}" if v and v.get("notes") else ""
            cells.append(None if v is None else
                         f"{v.get('failed', 0):.1f} failed, "
                         f"{format_duration(round(v.get('failing_for', 0), 3))}{notes}")
        add(f"route {r}", cells)
    totals = sorted({k for c in cols for k in (c.data.get("impact") or {}).get("totals", {})})
    for k in totals:
        add(k, [(c.data.get("impact") or {}).get("totals", {}).get(k) for c in cols])
    names = []
    for c in cols:
        for o in c.data.get("checks", []):
            if o["name"] not in names:
                names.append(o["name"])
    for n in names:
        cells = []
        for c in cols:
            o = next((o for o in c.data.get("checks", []) if o["name"] == n), None)
            if o is None:
                cells.append(None)
            elif o["status"] == "n/a":
                cells.append("n/a")
            else:
                shown = o.get("shown")
                value = "never" if shown is None and o["status"] == "failed" else (
                    "-" if shown is None else (format_duration(round(shown, 3)) if o.get("unit") == "s"
                                               else f"{shown:.4g}"))
                mark = "ok" if o["status"] == "held" else f"FAILED {o['failed_in']}/{o['replications']}"
                cells.append(f"{value} ({mark})")
        add(f"check {n}", cells)
    add("verdict", [c.data.get("verdict") for c in cols])
    return out


def compare_json(cols: list[Column]) -> dict:
    return {"runs": [c.label for c in cols],
            "rows": [{"label": label, "cells": cells} for label, cells in rows(cols)],
            "notes": differences(cols)}
