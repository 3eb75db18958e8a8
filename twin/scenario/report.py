"""What a run says: the verdict, the timeline, the user impact, the checks.

Plain data here (twin.cli.run_report prints it as tables); written into --out
as result.json (only what the seed and the inputs decide: the same seed gives
the same bytes), run.json (wall clock, versions, host) and PNG plots.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin.result.io import write_file
from twin.scenario.checks import (
    EXPECTATION,
    FAILED,
    SLO,
    Outcome,
    failed_kinds,
)
from twin.scenario.runner import Run

MAX_TIMELINE = 40


def _round(value: Any) -> Any:
    """Stable JSON: floats to 6 significant places, infinities as null."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {str(k): _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def portable(path: Path | str) -> str:
    """A path as the same bytes however it was typed (`./x`, `x`, `/abs/x`, `a/../x`):
    relative to the current directory, `/`-separated."""
    rel = os.path.relpath(os.path.abspath(path))
    return Path(rel).as_posix()


def shown(path: Path | str) -> str:
    """A path for people: relative when it lies under the current directory, else absolute."""
    rel = portable(path)
    return os.path.abspath(path) if rel.startswith("..") else rel


def result_json(run: Run) -> dict:
    """Only what the seed and inputs decide."""
    scn = run.scenario
    failed = [o.name for o in run.outcomes if o.status == FAILED]
    body = {
        "scenario": scn.name,
        "file": portable(run.loaded.path),
        "topology": portable(run.loaded.topology_path),
        "overrides": scn.overrides,
        "set": list(run.loaded.sets),
        "backend": run.backend,
        "seed": run.seed,
        "replications": run.replications,
        "duration": scn.duration,
        "warmup": scn.warmup,
        "verdict": "failed" if failed else "passed",
        "failed_checks": failed,
        "failed_kinds": failed_kinds(run.outcomes),
        "checks": [o.to_json() for o in run.outcomes],
        "impact": run.impact,
        "timeline": run.timeline,
    }
    raw = getattr(run.result, "to_json", None)
    if callable(raw):
        body["result"] = raw()
    return _round(body)


def run_json(run: Run, argv: list[str] | None = None) -> dict:
    from importlib import metadata

    versions = {}
    for pkg in ("eco2-twin", "simpy", "numpy", "pydantic", "networkx"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[pkg] = metadata.version(pkg)
    return {
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(run.wall, 3),
        "argv": argv if argv is not None else sys.argv,
        "python": sys.version.split()[0],
        "versions": versions,
        "host": platform.node(),
        "platform": platform.platform(),
    }


def write(run: Run, out: Path, plots: bool = True) -> list[Path]:
    """result.json, run.json and the plots into `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "result.json", out / "run.json"]
    write_file(files[0], (json.dumps(result_json(run), indent=1, sort_keys=True) + "\n").encode())
    write_file(files[1], (json.dumps(run_json(run), indent=1, sort_keys=True) + "\n").encode())
    if plots:
        from twin.scenario.plots import plot_run

        files += plot_run(run, out)
    return files


# ------------------------------------------------------------------ console


def pending_at_end(timeline: list[dict]) -> dict[str, list[tuple[str, str]]]:
    """Pods whose last word was FailedScheduling, by workload: [(pod, why)]. A run
    that starves for capacity should say so before its impact table does."""
    last: dict[str, dict] = {}
    for e in timeline:
        if e.get("source", "").startswith("pod/"):
            last[e["source"]] = e
    out: dict[str, list[tuple[str, str]]] = {}
    for source, e in last.items():
        if e["event"] == "FailedScheduling":
            pod = source.removeprefix("pod/")
            out.setdefault(pod.rsplit("-", 1)[0], []).append((pod, str(e.get("detail", ""))))
    return out


def early_warnings(run: Run) -> dict[str, list[dict]]:
    """Warning events before the first fault, by name: the steady state the checks
    compare with already had them."""
    from twin.result.events import WARNINGS

    first = min((a.at for a in run.scenario.faults), default=run.scenario.duration)
    out: dict[str, list[dict]] = {}
    for e in run.timeline:
        if e["t"] < first and e["event"] in WARNINGS:
            out.setdefault(e["event"], []).append(e)
    return out


CHECK_TABLES = {SLO: "SLOs (what users see)",
                EXPECTATION: "Expectations (what the scenario shows the model doing)"}


def checks_by_kind(outcomes: list[Outcome]) -> list[tuple[str, list[Outcome]]]:
    """(kind, its outcomes in file order), SLOs first, kinds without checks left out."""
    return [(k, [o for o in outcomes if o.kind == k]) for k in CHECK_TABLES
            if any(o.kind == k for o in outcomes)]


def warning_texts(run: Run) -> list[str]:
    """The report's warnings as plain lines (saturation, a steady state that already had
    warning events, pods Pending at the end): for JUnit, which CI shows beside the checks."""
    lines = [f"{len(evs)} {name} before the first fault (replication 1): {evs[0].get('detail', '')}"
             for name, evs in early_warnings(run).items()]
    result = getattr(run.result, "result", None)
    if getattr(result, "saturated", None):
        from twin.sim.saturation import warning_lines

        lines += warning_lines(result, faults=bool(run.scenario.timeline))
    lines += [f"Pending at the end: {w} {len(p)} (no node could take them)"
              for w, p in pending_at_end(run.timeline).items()]
    return lines


NOISE = frozenset({"FailedGetResourceMetric"})
"""Events that say nothing about a fault (the HPA before any pod has a CPU sample)."""

def related(run: Run) -> tuple[list[dict], int]:
    """(the headline timeline, how many events it leaves out): the faults, events the
    checks name, and what happens from the first fault on, less NOISE."""
    scn = run.scenario
    named = {c.event for c in scn.checks if c.event}
    first = min((a.at for a in scn.faults), default=0.0)
    rows = [e for e in run.timeline if not e["event"].startswith("scenario:")]
    keep = [e for e in rows if e.get("fault") or e["event"] in named
            or (e["t"] >= first and e["event"] not in NOISE)]
    return keep, len(rows) - len(keep)


def short_source(source: str, room: int) -> str:
    """`hpa/auth-api,chat-api-v1,scan-api,...` as `hpa/auth-api,chat-api-v1 +6` to fit `room`;
    a name is never cut (the console wraps one wider than `room` after its `/`)."""
    if len(source) <= room:
        return source
    kind, slash, names = source.rpartition("/")
    parts = names.split(",")
    head = f"{kind}{slash}" if slash else ""
    for n in range(len(parts) - 1, 0, -1):
        text = f"{head}{','.join(parts[:n])} +{len(parts) - n}"
        if len(text) <= room:
            return text
    return f"{head}{parts[0]} +{len(parts) - 1}" if len(parts) > 1 else source


def event_text(e: dict) -> str:
    """`+sdown x3`: a merged row says how many sentinels saw it."""
    return f"{e['event']} x{e['n']}" if e.get("n", 1) > 1 else e["event"]


def thin(events: list[dict]) -> list[dict]:
    """Keep the faults and Redis's own events; elide the rest in the middle."""
    key = [e for e in events if e.get("fault") or e["event"].startswith(("+", "-"))]
    if len(key) > MAX_TIMELINE:
        head = key[: MAX_TIMELINE - 5]
        return [*head, {"elided": len(key) - len(head) - 4}, *key[-4:]]
    return key


def json_summary(runs: list[Run]) -> dict:
    """--format json: the verdicts and check outcomes of every run."""
    return {"runs": [result_json(r) for r in runs],
            "verdict": "failed" if any(not r.passed for r in runs) else "passed"}
