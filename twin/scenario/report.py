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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin.model.units import format_duration
from twin.result.io import write_file
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


def _style(status: str) -> str:
    return {HELD: "green", FAILED: "bold red", NOT_APPLICABLE: "yellow"}[status]


def print_run(run: Run, console: Any, events: str = "related") -> None:
    """The human report: header, timeline, user impact, checks, verdict.

    events: "related" (the faults, what the checks name, what follows the first
    fault, without the HPA's start-up noise) or "all"; result.json keeps them all."""
    from rich.markup import escape
    from rich.table import Table

    scn = run.scenario
    console.print(f"[bold]{scn.name}[/]  {scn.description or ''}".rstrip())
    reps = f"{run.replications} replication{'s' if run.replications != 1 else ''}"
    # the file's overrides and the command line's --set: a what-if run's header differs
    over = ", ".join([*(f"{k}={v}" for k, v in scn.overrides.items()),
                      *(f"--set {s}" for s in run.loaded.sets)])
    console.print(f"[dim]{shown(run.loaded.topology_path)} on {run.backend}, seed {run.seed}, {reps}, "
                  f"{format_duration(scn.duration)}{', ' + escape(over) if over else ''}[/]",
                  markup=True, highlight=False)

    if run.timeline:
        _print_timeline(run, console, events)
    _print_warnings(run, console)

    impact = run.impact or {}
    routes = impact.get("routes", {})
    if routes or impact.get("totals"):
        title = f"User impact (mean of {reps})"
        if not routes:  # a backend without routes (local: Redis alone): its totals, no empty table
            console.print(f"[italic]{title}[/]")
        else:
            t = Table(title=title, title_justify="left", box=None, pad_edge=False)
            t.add_column("route")
            t.add_column("requests", justify="right")
            t.add_column("failed", justify="right")
            t.add_column("failing for", justify="right")
            t.add_column("notes", overflow="fold")
            for name, r in routes.items():
                style = "red" if r.get("failed", 0) >= 0.5 else ""
                failed = f"{r.get('failed', 0):.1f}"
                t.add_row(name, f"{r.get('requests', 0):.0f}",
                          f"[{style}]{failed}[/]" if style else failed,
                          format_duration(round(r.get("failing_for", 0.0), 1)), r.get("notes", ""))
            console.print(t)
        for label, value in impact.get("totals", {}).items():
            console.print(f"  {label}: [bold]{value}[/]")

    t = Table(title="Checks", title_justify="left")
    t.add_column("check (what is measured)", overflow="fold")
    # the worst replication's value (the impact table above is a mean): say so
    worst = f" (worst of {run.replications})" if run.replications > 1 else ""
    t.add_column(f"observed{worst}", justify="right", no_wrap=True)
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


def _print_warnings(run: Run, console: Any) -> None:
    from rich.markup import escape

    early = early_warnings(run)
    if early:
        console.print("[bold yellow]Before the first fault[/] (replication 1; `--events all` lists them):")
        for name, evs in early.items():
            sources = len({e["source"] for e in evs})
            console.print(f"  {len(evs)} {name} from {sources} source{'s' if sources != 1 else ''}: "
                          f"[dim]{escape(str(evs[0].get('detail', '')))}[/]", soft_wrap=True,
                          highlight=False)
    result = getattr(run.result, "result", None)
    if getattr(result, "saturated", None):
        from twin.sim.saturation import warning_lines

        for line in warning_lines(result, faults=bool(run.scenario.timeline)):
            console.print(escape(line), style="bold yellow" if line.startswith("WARNING") else "",
                          soft_wrap=True, highlight=False)
    stuck = pending_at_end(run.timeline)
    if stuck:
        n = sum(len(p) for p in stuck.values())
        which = ", ".join(f"{w} {len(p)}" for w, p in stuck.items())
        console.print(f"[bold yellow]{n} pod{'s' if n != 1 else ''} Pending at the end "
                      f"(no node could take {'them' if n != 1 else 'it'}):[/] {escape(which)}",
                      soft_wrap=True, highlight=False)


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


NOISE = frozenset({"FailedGetResourceMetric"})
"""Events that say nothing about a fault (the HPA before any pod has a CPU sample)."""

_GAP = 2  # Rich's padding between two columns of a box-less, edge-less table


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
    """`hpa/auth-api,chat-api-v1,scan-api,...` as `hpa/auth-api,chat-api-v1 +6` to fit `room`."""
    if len(source) <= room:
        return source
    kind, slash, names = source.rpartition("/")
    parts = names.split(",")
    head = f"{kind}{slash}" if slash else ""
    for n in range(len(parts) - 1, 0, -1):
        text = f"{head}{','.join(parts[:n])} +{len(parts) - n}"
        if len(text) <= room:
            return text
    count = f"{len(parts)} {kind}s"  # `3 sentinels`
    if len(parts) > 1 and kind and len(count) <= room:
        return count
    return names if len(names) <= room else _clip(source, room)


def _print_timeline(run: Run, console: Any, which: str) -> None:
    """Times and event names never cut: the source list shortens and the detail folds."""
    from rich.markup import escape
    from rich.table import Table

    from twin.scenario.metrics import merged

    scn = run.scenario
    if which == "all":
        events, hidden = [e for e in run.timeline if not e["event"].startswith("scenario:")], 0
    else:
        events, hidden = related(run)
    events = merged(events)  # one row per event the sentinels all saw; result.json keeps each
    shown = events if len(events) <= MAX_TIMELINE else _thin(events)
    first = scn.faults[0] if scn.faults else None
    rows = [e for e in shown if not e.get("elided")]
    t_w = max((len(f"{e['t']:.2f}s") for e in rows), default=6)
    rel_w = max((len(f"{e['t'] - first.at:+.2f}s") for e in rows), default=7) if first else 0
    ev_w = max((len(e["event"]) for e in rows), default=5)
    fixed = t_w + (rel_w + _GAP if first else 0) + ev_w + 3 * _GAP
    src_w = max(12, min(max((len(e.get("source", "")) for e in rows), default=6),
                        console.width - fixed - 14, 32))
    title = "Timeline (replication 1" + (f"; {hidden} events not shown, `--events all` shows them)"
                                        if hidden else ")")
    t = Table(title=title, title_justify="left", box=None, pad_edge=False)
    t.add_column("t", justify="right", no_wrap=True, min_width=max(t_w, 1))
    if first is not None:
        t.add_column(f"{first.id or first.action}+", justify="right", no_wrap=True,
                     min_width=max(rel_w, len(first.id or first.action) + 1))
    t.add_column("source", no_wrap=True, max_width=src_w)
    t.add_column("event", no_wrap=True, min_width=ev_w)
    t.add_column("detail", overflow="fold", ratio=1)
    for e in shown:
        if e.get("elided"):
            t.add_row(*([""] * (len(t.columns) - 2)), f"[dim]... {e['elided']} more[/]", "")
            continue
        event = f"[bold]{escape(e['event'])}[/]" if e.get("fault") else escape(e["event"])
        rel = [] if first is None else [
            f"{e['t'] - first.at:+.2f}s" if e["t"] >= first.at else ""]
        t.add_row(f"{e['t']:.2f}s", *rel, escape(short_source(e.get("source", ""), src_w)), event,
                  escape(e.get("detail", "")))
    console.print(t)


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
