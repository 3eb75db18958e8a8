"""The console report of `twin run` and `twin compare`: Rich tables of the plain data
that twin.scenario.report and twin.scenario.compare compute (header, timeline,
warnings, user impact, checks, verdict; runs side by side)."""

from __future__ import annotations

from typing import Any

from twin.cli.fit import cell, longest_word
from twin.model.units import format_duration
from twin.scenario.checks import FAILED, HELD, NOT_APPLICABLE, fmt, verdict_text
from twin.scenario.compare import Column, differences, rows
from twin.scenario.report import (
    CHECK_TABLES,
    MAX_TIMELINE,
    checks_by_kind,
    early_warnings,
    event_text,
    pending_at_end,
    related,
    short_source,
    shown,
    thin,
)
from twin.scenario.runner import Run

_GAP = 2  # Rich's padding between two columns of a box-less, edge-less table
WIDE = 100  # from this width the checks table's headers stay on one line
MIN_DETAIL = 24  # narrower than this, a timeline's details go under their events




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
                          format_duration(round(r.get("failing_for", 0.0), 3)), r.get("notes", ""))
            console.print(t)
        for label, value in impact.get("totals", {}).items():
            console.print(f"  {label}: [bold]{value}[/]")

    from twin.cli.canary_report import print_canary

    print_canary(run, console)
    # SLOs apart from expectations: a broken SLO reads differently from a scenario
    # that no longer shows its point
    for kind, outcomes in checks_by_kind(run.outcomes):
        _print_checks(CHECK_TABLES[kind], outcomes, run.replications, console)
    print_verdict(run, console)


def _print_checks(title: str, outcomes: list[Any], replications: int, console: Any) -> None:
    """A table of checks; the check column wraps only at spaces, or after a `/` or `.`
    of a metric name (`route/chat/end_to_end.p95` is read off the screen whole)."""
    from rich.table import Table

    # the worst replication's value (the impact table above is a mean): say so, on a
    # second header line when the check column would be narrow beside it
    worst = f"(worst of {replications})" if replications > 1 else ""
    observed = f"observed {worst}".strip() if console.width >= WIDE else f"observed\n{worst}".strip()
    rows = []
    for o in outcomes:
        rows.append((o.name, o.what if o.status != NOT_APPLICABLE else f"{o.what} ({o.reason})",
                     "n/a" if o.status == NOT_APPLICABLE else fmt(o.shown, o.unit), o.bound,
                     "-" if o.status == NOT_APPLICABLE else f"{o.failed_in}/{o.replications}",
                     o.status))
    others = [max(len(line) for text in (header, *(r[i] for r in rows)) for line in text.split("\n"))
              for i, header in ((2, observed), (3, "bound"), (4, "failed"), (5, ""))]
    # a heavy-box table: a rule and a space either side of every cell
    room = max(console.width - 3 * (len(others) + 1) - 1 - sum(others),
               max((longest_word(f"{r[0]} {r[1]}") for r in rows), default=8))
    t = Table(title=title, title_justify="left")
    t.add_column(cell("check (what is measured)", room), overflow="fold")
    t.add_column(observed, justify="right", no_wrap=True)
    t.add_column("bound", no_wrap=True)
    t.add_column("failed", justify="right", no_wrap=True)
    t.add_column("", no_wrap=True)
    for name, what, shown_, bound, failed_in, status in rows:
        t.add_row(f"{cell(name, room)}\n[dim]{cell(what, room)}[/]", shown_, bound, failed_in,
                  f"[{_style(status)}]{status}[/]")
    console.print(t)


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
    from rich.markup import escape

    failed = [o for o in run.outcomes if o.status == FAILED]
    word, rest = verdict_text(run.scenario.name, run.outcomes).split(" ", 1)
    console.print(f"[bold {'red' if failed else 'green'}]{word}[/] {escape(rest)}", soft_wrap=True)
    for o in failed:
        console.print(f"  - {o.sentence()}", markup=False, soft_wrap=True)


def _source(source: str, room: int) -> str:
    """An event's source, its names whole where they fit: wrapped after a `/` or `,`, and
    a name wider than the column after its hyphens (`character-worker-` `controller-0`),
    never cut with an ellipsis."""
    import textwrap

    lines = cell(short_source(source, room), room).split("\n")
    return "\n".join(part for line in lines for part in (
        textwrap.wrap(line, room, break_on_hyphens=True) if len(line) > room else [line]))


def _print_timeline(run: Run, console: Any, which: str) -> None:
    """Times and event names never cut: the source list shortens and the detail folds
    (or, on a terminal too narrow for it, goes under its event)."""
    from rich.markup import escape
    from rich.table import Table

    from twin.scenario.metrics import merged, when

    scn = run.scenario
    if which == "all":
        events, hidden = [e for e in run.timeline if not e["event"].startswith("scenario:")], 0
    else:
        events, hidden = related(run)
    events = merged(events)  # one row per event the sentinels all saw; result.json keeps each
    shown = events if len(events) <= MAX_TIMELINE else thin(events)
    first = scn.faults[0] if scn.faults else None
    rows = [e for e in shown if not e.get("elided")]
    # a merged row's span shows once: beside the first fault if there is one
    t_w = max((len(f"{e['t']:.2f}s" if first else when(e)) for e in rows), default=6)
    rel_w = max((len(when(e, first.at, "+")) for e in rows), default=7) if first else 0
    ev_w = max((len(event_text(e)) for e in rows), default=5)
    fixed = t_w + (rel_w + _GAP if first else 0) + ev_w + 3 * _GAP
    src_w = max(12, min(max((len(e.get("source", "")) for e in rows), default=6),
                        console.width - fixed - 14, 32))
    # a terminal too narrow for a detail column beside the event (80 columns and a
    # 34-character Sentinel event): each detail goes under its event, wrapped there
    under = console.width - fixed - src_w < MIN_DETAIL
    if under:  # no detail column: room for every name whole (`pod/` may wrap before it)
        src_w = max(src_w, min(max((longest_word(e.get("source", "")) for e in rows), default=6),
                               console.width - fixed))
    ev_room = max(ev_w, console.width - (fixed - ev_w - _GAP) - src_w)
    title = "Timeline (replication 1" + (f"; {hidden} events not shown, `--events all` shows them)"
                                        if hidden else ")")
    t = Table(title=title, title_justify="left", box=None, pad_edge=False)
    t.add_column("t", justify="right", no_wrap=True, min_width=max(t_w, 1))
    if first is not None:
        t.add_column(f"{first.id or first.action}+", justify="right", no_wrap=True,
                     min_width=max(rel_w, len(first.id or first.action) + 1))
    t.add_column("source", no_wrap=True, max_width=src_w)
    t.add_column("event", no_wrap=True, min_width=ev_w, max_width=ev_room if under else None)
    if not under:
        t.add_column("detail", overflow="fold", ratio=1)
    for e in shown:
        if e.get("elided"):
            t.add_row(*([""] * (len(t.columns) - 2)), f"[dim]... {e['elided']} more[/]",
                      *([] if under else [""]))
            continue
        event = f"[bold]{escape(e['event'])}[/]" if e.get("fault") else escape(event_text(e))
        detail = e.get("detail", "")
        if under and detail:
            event += f"\n[dim]{escape(cell(detail, ev_room))}[/]"
        rel = [] if first is None else [when(e, first.at, "+") if e["t"] >= first.at else ""]
        t.add_row(f"{e['t']:.2f}s" if first else when(e), *rel,
                  escape(_source(e.get("source", ""), src_w)), event,
                  *([] if under else [escape(detail)]))
    console.print(t)


def print_compare(cols: list[Column], console: Any) -> None:
    from rich.table import Table

    table = rows(cols)
    # the labels (a --set's dotted path) wrap at spaces, `.` and `/`, never cut
    room = max(24, max((longest_word(label) for label, _ in table), default=0))
    t = Table(title="Runs side by side", title_justify="left")
    t.add_column("", max_width=room)
    for c in cols:
        t.add_column(c.label, overflow="fold")
    for label, cells in table:
        styled = [f"[red]{x}[/]" if "FAILED" in x or x == "failed" else x for x in cells]
        t.add_row(cell(label, room), *styled)
    console.print(t)
    for note in differences(cols):
        console.print(f"[yellow]note:[/] {note}", soft_wrap=True)


