"""What a run says: the verdict, the timeline, the user impact, the checks.

Printed as Rich tables or JSON; written into --out as result.json (only what
the seed and the inputs decide: the same seed gives the same bytes), run.json
(wall clock, versions, host) and PNG plots.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin.model.units import format_duration
from twin.scenario.checks import FAILED, HELD, NOT_APPLICABLE, fmt
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


def result_json(run: Run) -> dict:
    """Only what the seed and inputs decide."""
    scn = run.scenario
    failed = [o.name for o in run.outcomes if o.status == FAILED]
    body = {
        "scenario": scn.name,
        "file": str(run.loaded.path),
        "topology": str(run.loaded.topology_path),
        "overrides": scn.overrides,
        "set": list(run.loaded.sets),
        "backend": run.backend,
        "seed": run.seed,
        "replications": run.replications,
        "duration": scn.duration,
        "warmup": scn.warmup,
        "verdict": "failed" if failed else "passed",
        "failed_checks": failed,
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


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(run: Run, out: Path, plots: bool = True) -> list[Path]:
    """result.json, run.json and the plots into `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / "result.json", out / "run.json"]
    write_atomic(files[0], (json.dumps(result_json(run), indent=1, sort_keys=True) + "\n").encode())
    write_atomic(files[1], (json.dumps(run_json(run), indent=1, sort_keys=True) + "\n").encode())
    if plots:
        from twin.scenario.plots import plot_run

        files += plot_run(run, out)
    return files


# ------------------------------------------------------------------ console


def _style(status: str) -> str:
    return {HELD: "green", FAILED: "bold red", NOT_APPLICABLE: "yellow"}[status]


def print_run(run: Run, console: Any) -> None:
    """The human report: header, timeline, user impact, checks, verdict."""
    from rich.table import Table

    scn = run.scenario
    console.print(f"[bold]{scn.name}[/]  {scn.description or ''}".rstrip())
    reps = f"{run.replications} replication{'s' if run.replications != 1 else ''}"
    over = ", ".join(f"{k}={v}" for k, v in scn.overrides.items())
    console.print(f"[dim]{run.loaded.topology_path} on {run.backend}, seed {run.seed}, {reps}, "
                  f"{format_duration(scn.duration)}{', ' + over if over else ''}[/]")

    if run.timeline:
        t = Table(title="Timeline (replication 1)", title_justify="left", box=None, pad_edge=False)
        first = scn.faults[0] if scn.faults else None
        t.add_column("t", justify="right", no_wrap=True, min_width=8)
        if first is not None:
            t.add_column(f"{first.id or first.action}+", justify="right", no_wrap=True, min_width=7)
        t.add_column("source", no_wrap=True)
        t.add_column("event", no_wrap=True, min_width=16)
        t.add_column("detail", overflow="ellipsis", no_wrap=True)
        events = [e for e in run.timeline if not e["event"].startswith("scenario:")]
        widths = [max(len(f"{e['t']:.2f}s") for e in events) if events else 8,
                  max((len(e.get("source", "")) for e in events), default=6),
                  max((len(e["event"]) for e in events), default=5)]
        room = max(12, console.width - sum(widths) - (10 if first is not None else 0) - 8)
        shown = events if len(events) <= MAX_TIMELINE else _thin(events)
        for e in shown:
            if e.get("elided"):
                t.add_row(*([""] * (len(t.columns) - 2)), f"[dim]... {e['elided']} more[/]", "")
                continue
            event = f"[bold]{e['event']}[/]" if e.get("fault") else e["event"]
            rel = [] if first is None else [
                f"{e['t'] - first.at:+.2f}s" if e["t"] >= first.at else ""]
            t.add_row(f"{e['t']:.2f}s", *rel, e.get("source", ""), event,
                      _clip(e.get("detail", ""), room))
        console.print(t)

    impact = run.impact or {}
    routes = impact.get("routes", {})
    if routes or impact.get("totals"):
        t = Table(title=f"User impact (mean of {reps})", title_justify="left", box=None,
                  pad_edge=False)
        t.add_column("route")
        t.add_column("requests", justify="right")
        t.add_column("failed", justify="right")
        t.add_column("failing for", justify="right")
        t.add_column("notes", overflow="fold")
        for name, r in routes.items():
            style = "red" if r.get("failed", 0) >= 0.5 else ""
            t.add_row(name, f"{r.get('requests', 0):.0f}",
                      f"[{style}]{r.get('failed', 0):.1f}[/]" if style else f"{r.get('failed', 0):.1f}",
                      format_duration(round(r.get("failing_for", 0.0), 1)), r.get("notes", ""))
        console.print(t)
        for label, value in impact.get("totals", {}).items():
            console.print(f"  {label}: [bold]{value}[/]")

    t = Table(title="Checks", title_justify="left")
    t.add_column("check (what is measured)", overflow="fold")
    t.add_column("observed", justify="right", no_wrap=True)
    t.add_column("bound", no_wrap=True)
    t.add_column("failed", justify="right", no_wrap=True)
    t.add_column("", no_wrap=True)
    for o in run.outcomes:
        failed_in = "-" if o.status == NOT_APPLICABLE else f"{o.failed_in}/{o.replications}"
        observed = "n/a" if o.status == NOT_APPLICABLE else fmt(o.shown, o.unit)
        what = o.what if o.status != NOT_APPLICABLE else f"{o.what} ({o.reason})"
        t.add_row(f"{o.name}\n[dim]{what}[/]", observed, o.bound, failed_in,
                  f"[{_style(o.status)}]{o.status}[/]")
    console.print(t)
    print_verdict(run, console)


def print_verdict(run: Run, console: Any) -> None:
    failed = [o for o in run.outcomes if o.status == FAILED]
    na = sum(o.status == NOT_APPLICABLE for o in run.outcomes)
    held = sum(o.status == HELD for o in run.outcomes)
    note = f", {na} not applicable" if na else ""
    if failed:
        console.print(f"[bold red]FAILED[/] {run.scenario.name}: {len(failed)} of "
                      f"{len(run.outcomes)} checks failed{note}")
        for o in failed:
            console.print(f"  - {o.sentence()}", markup=False, soft_wrap=True)
    else:
        console.print(f"[bold green]PASSED[/] {run.scenario.name}: {held} checks held{note}")


def _clip(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"


def _thin(events: list[dict]) -> list[dict]:
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
