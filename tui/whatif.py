"""The What-if page: edit load, replicas, pool nodes, HPAs and Sentinel's down_after;
the analytical answer follows as you type, against the unedited topology's.

Each keystroke is merged with the next ones until the screen has painted
(tui.follow.Follow) and answered without the placement questions; IDLE seconds
after the last one, the full answer (N-1, HPA maximum) replaces it. `s` (or
ctrl+s inside a field) runs the simulator at the same values in a child process
(tui.capacity) and shows analytic against simulated with the 95 % CI.
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.segment import SegmentLines
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, ProgressBar, Static

from tui import capacity, runs
from tui.follow import Follow
from tui.palette import Command
from tui.pane import Pane

IDLE = 0.5
"""Seconds without a keystroke before the full answer (with placement) is computed."""

STYLE = {"saturated": "bold red", "high": "yellow", "idle": "dim", "ok": ""}


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%" if math.isfinite(x) else "no pods"


def _s(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x < 1e-4:
        return "0ms"
    return f"{x * 1000:.1f}ms" if x < 0.01 else f"{x * 1000:.0f}ms" if x < 1 else f"{x:.2f}s"


def _times(x: float) -> str:
    return f"{x:.2f}x" if x < 10 else f"{x:.0f}x"


def _short(name: str) -> str:
    return name.split("/", 1)[-1]


def components_table(a: Any, base: Any) -> Table:  # noqa: ANN401 - two whatif Answers
    """Components that carry load: utilisation, its change from the baseline (points), latency,
    the load factor that saturates it and the pods it needs for the threshold."""
    delta = capacity.deltas(a, base)
    t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    t.add_column("component", no_wrap=True, max_width=13, overflow="ellipsis")
    for col in ("util", "Δ", "lat", "sat at", "pods"):
        t.add_column(col, justify="right", no_wrap=True)
    for c in a.components:
        if c.rate <= 0:
            continue
        d = delta.get(c.name)
        dt = "" if d is None or abs(d) < 0.005 else f"{d * 100:+.0f}"
        need = str(c.needed) if c.needed is not None and c.kind in ("service", "worker") else ""
        t.add_row(_short(c.name), (">=" if c.bound else "") + _pct(c.utilisation), dt,
                  _s(c.latency), "-" if c.saturates_at is None else _times(c.saturates_at),
                  need, style=STYLE[c.status])
    return t


def pools_table(a: Any) -> Table:  # noqa: ANN401
    t = Table(box=None, pad_edge=False, padding=(0, 1), header_style="bold")
    for i, col in enumerate(("pool", "nodes", "CPU req", "mem req", "pending")):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=i < 4)
    for p in a.pools:
        high = max(p.requested_share, p.memory_share, p.used_share) >= a.threshold
        t.add_row(p.pool, str(p.nodes), _pct(p.requested_share), _pct(p.memory_share),
                  str(len(p.pending)) if p.pending else "",
                  style="bold red" if p.pending else "yellow" if high else "")
    return t


def answer_text(a: Any, base: Any, full: bool) -> RenderableType:  # noqa: ANN401
    """The answer as the page shows it: bottleneck, components, pools, fit, warnings."""
    parts: list[RenderableType] = []
    if a.bottleneck:
        row = next(c for c in a.components if c.name == a.bottleneck)
        was = f" (baseline: {base.bottleneck})" if base.bottleneck != a.bottleneck else ""
        parts.append(Text.assemble(("Bottleneck: ", "bold"), (a.bottleneck, "bold"),
                                   f" {_pct(row.utilisation)}, saturates at "
                                   f"{_times(row.saturates_at)}{was}"))
    else:
        parts.append(Text("No bottleneck: nothing carries load", style="bold"))
    parts += [Text(""), components_table(a, base), Text(""), pools_table(a)]
    if full:
        bad = [c for c in a.fit if not c.fits]
        parts.append(Text(f"Fit: {len(a.fit) - len(bad)} of {len(a.fit)} cases fit"
                          + (": not " + ", ".join(c.name for c in bad[:4]) if bad else ""),
                          style="red" if bad else ""))
        for c in a.connections:
            parts.append(Text(f"{c.store} connections: {c.now} now, {c.at_max} at HPA max, "
                              f"max {c.max_connections}", style="" if c.fits else "bold red"))
    else:
        parts.append(Text("Fit: while typing, placement questions wait", style="dim"))
    parts += [Text(f"warning: {w}", style="yellow") for w in a.warnings]
    return Group(*parts)


def compared_text(data: dict[str, Any]) -> RenderableType:
    """Analytic against simulated: each figure, the simulator's mean and 95 % CI."""
    n = data["replications"]
    t = Table(title=f"Simulated {data['duration']:g}s, {n} replications, seed {data['seed']}",
              title_justify="left", box=None, pad_edge=False, padding=(0, 1),
              header_style="bold")
    for i, col in enumerate(("figure", "analytic", "sim", "95% CI", "in")):
        t.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for r in data["rows"]:
        fmt = _s if r["unit"] == "s" else _pct
        t.add_row(r["what"], "saturated" if r["analytic"] is None else fmt(r["analytic"]),
                  fmt(r["simulated"]), "" if r["half_width"] is None else f"±{fmt(r['half_width'])}",
                  "" if r["within"] is None else "yes" if r["within"] else "no",
                  style="" if r["within"] is not False else "yellow")
    return t


class WhatIfScreen(Screen):
    """Values to edit on the left; the answer at them on the right."""

    BINDINGS = [
        Binding("s", "simulate", "Simulate"),
        Binding("ctrl+s", "simulate", "Simulate", show=False),
        Binding("x", "cancel", "Cancel sim"),
        Binding("ctrl+r", "reset", "Reset"),
        Binding("escape", "leave", "Leave field", show=False),
    ]

    class SimProgress(Message):
        def __init__(self, fraction: float):
            super().__init__()
            self.fraction = fraction

    class SimDone(Message):
        def __init__(self, data: dict[str, Any] | None, lines: list[str]):
            super().__init__()
            self.data, self.lines = data, lines

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.answered = 0  # answers shown (a test or bench waits on it)
        self.full = False
        self.problems: tuple[str, ...] = ()
        self.status_lines = -1  # the status's height when last laid out (-1: not known)
        self.simulating = False
        self.follow = Follow(self, self._quick)
        self.idle: Timer | None = None
        self.base: Any = None
        self.now: Any = None

    @property
    def topo(self) -> Any:  # noqa: ANN401
        return self.app.view.topo  # type: ignore[attr-defined]

    @property
    def source(self) -> str:
        return self.app.view.source  # type: ignore[attr-defined]

    @property
    def sets(self) -> tuple[str, ...]:
        """`twin tui --set`: already in `topo`, and under every edit."""
        return self.app.options.sets  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        self.fields = capacity.fields(self.topo)
        yield Header()
        with Horizontal():
            with VerticalScroll(id="whatif-fields"):
                group = ""
                for f in self.fields:
                    if f.group != group:
                        group = f.group
                        yield Label(group, classes="whatif-group")
                    with Horizontal(classes="whatif-row"):
                        yield Label(f.label, classes="whatif-label")
                        yield Input(f.value, placeholder=f.value, compact=True,
                                    id=self.field_id(f.key), tooltip=f.hint or None)
            with Vertical(id="whatif-answer"):
                yield Static("", id="whatif-status")
                yield ProgressBar(total=100, show_eta=False, id="whatif-progress")
                with VerticalScroll(id="whatif-scroll"):
                    yield Pane(id="whatif-text")
                    yield Pane(id="whatif-sim")
        yield Footer()

    @staticmethod
    def field_id(key: str) -> str:
        return "f-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key)

    def on_mount(self) -> None:
        from twin.capacity.traffic import compile_network

        self.key_of = {self.field_id(f.key): f.key for f in self.fields}
        self.default = {f.key: f.value for f in self.fields}
        self.network = compile_network(self.topo)
        self.query_one("#whatif-progress").display = False
        base = capacity.evaluate(self.source, self.topo, self.fields, {}, placement=True,
                                 network=self.network, base_sets=self.sets)
        self.base = base.answer
        self._show(base, full=True)

    def commands(self) -> list[Command]:
        out = [Command("Simulate these values", self.action_simulate,
                       "Run the simulator at the edited values (a child process)", True),
               Command("Reset every value", self.action_reset, "Back to the topology's", True)]
        out += [Command(f"Edit {f.group.lower()}: {f.label}",
                        lambda f=f: self.query_one(f"#{self.field_id(f.key)}", Input).focus(),
                        f.hint or f.key) for f in self.fields]
        return out

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = self.key_of.get(event.input.id or "")
        if key is None or self.values.get(key, self.default[key]) == event.value:
            return  # a field's first value, as it mounts
        self.values[key] = event.value
        self.follow(key)
        if self.idle is not None:
            self.idle.stop()
        self.idle = self.set_timer(IDLE, self._full)

    def _quick(self, _key: str) -> None:
        self._show(capacity.evaluate(self.source, self.topo, self.fields, self.values,
                                     placement=False, network=self.network,
                                     base_sets=self.sets), full=False)

    def _full(self) -> None:
        self._show(capacity.evaluate(self.source, self.topo, self.fields, self.values,
                                     placement=True, network=self.network,
                                     base_sets=self.sets), full=True)

    def _show(self, out: capacity.Outcome, full: bool) -> None:
        self.problems = out.problems
        if out.problems:
            self._say(Text("\n".join(f"problem: {p}" for p in out.problems), style="bold red"))
            self.answered += 1
            return
        edits = capacity.as_edits(self.topo, self.fields, self.values)
        changed = len(edits.sets) + len(edits.loads) + (edits.scale != 1.0)
        self._say(Text(f"{changed} value{'s' if changed != 1 else ''} changed"
                       + ("" if full else " (typing: placement waits)"), style="dim"))
        self.now, self.full = out, full
        self._paint()
        self.answered += 1

    def _say(self, text: Text) -> None:
        """The status above the answer, laid out again only when its height changes: the
        keystroke has laid the page out already, and a second layout of its fields costs
        as much as the answer."""
        status = self.query_one("#whatif-status", Static)
        width = status.content_size.width
        lines = len(text.wrap(self.app.console, width)) if width > 0 else -1
        status.update(text, layout=lines < 0 or lines != self.status_lines)
        self.status_lines = lines

    def _paint(self) -> None:
        """Rendered once at the pane's width: a Pane measures what it shows, and an
        answer's tables cost as much to measure as to draw."""
        if self.now is None:
            return
        pane = self.query_one("#whatif-text", Pane)
        content: RenderableType = answer_text(self.now.answer, self.base, self.full)
        width = pane.content_size.width
        if width > 0:
            console = self.app.console
            content = SegmentLines(console.render_lines(
                content, console.options.update_width(width), pad=False), new_lines=True)
        pane.show(content)

    def on_resize(self) -> None:
        self.call_after_refresh(self._paint)  # wrapped again at the new width

    def action_leave(self) -> None:
        self.set_focus(None)

    def action_reset(self) -> None:
        for f in self.fields:
            self.query_one(f"#{self.field_id(f.key)}", Input).value = f.value

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "simulate")
        if self.simulating:
            self._sim_done(self.SimDone(None, ["simulation cancelled"]))

    def action_simulate(self) -> None:
        if self.simulating:
            return
        try:
            ed = capacity.as_edits(self.topo, self.fields, self.values)
        except ValueError as e:
            self.query_one("#whatif-sim", Pane).show(Text("\n".join(e.args[0]), style="red"))
            return
        if self.problems:
            self.query_one("#whatif-sim", Pane).show(
                Text("fix the problem above before simulating", style="red"))
            return
        self.simulating = True
        bar = self.query_one("#whatif-progress", ProgressBar)
        bar.display, bar.progress = True, 0
        self.query_one("#whatif-sim", Pane).show(Text(
            f"simulating {capacity.SIM_DURATION}, {capacity.SIM_REPLICATIONS} replications "
            "in a child process ... (x cancels)", style="dim"))
        self._simulate(ed)

    @work(exclusive=True, group="simulate")
    async def _simulate(self, ed: capacity.Edited) -> None:
        latest = runs.Latest(0.1)
        async for u in capacity.confirm(self.source, ed, capacity.SIM_DURATION,
                                        capacity.SIM_REPLICATIONS, self.sets):
            if isinstance(u, runs.Progress):
                latest.offer(u)
                if (p := latest.take()) is not None:
                    self.post_message(self.SimProgress(p.fraction))
            elif isinstance(u, runs.Finished):
                self.post_message(self.SimDone(u.data, []))
            else:
                self.post_message(self.SimDone(None, u.lines))

    @on(SimProgress)
    def _sim_progress(self, event: SimProgress) -> None:
        self.query_one("#whatif-progress", ProgressBar).progress = 100 * event.fraction

    @on(SimDone)
    def _sim_done(self, event: SimDone) -> None:
        if not self.simulating:
            return
        self.simulating = False
        self.query_one("#whatif-progress").display = False
        pane = self.query_one("#whatif-sim", Pane)
        if event.data is None:
            pane.show(Text("\n".join(event.lines), style="red"))
        else:
            pane.show(compared_text(event.data))

    def on_unmount(self) -> None:
        runs.stop_all()
