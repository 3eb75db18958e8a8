"""The Scenarios page: the files under scenarios/; run one in a child process
with live progress; its checks, charts over simulated time and timeline.

The run's worker reads the child's lines (tui.runs) and posts messages to the
screen: progress merged and throttled (at most one every THROTTLE seconds), then
the finished run. The screen keeps each scenario's last result.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)

from tui import runs
from tui.charts import RunCharts
from tui.follow import Follow
from tui.palette import Command
from tui.pane import Pane

THROTTLE = 0.1
"""Seconds between two progress updates that reach the screen."""

NOT_RUN = ("Not run yet: r (or Enter) runs it on the simulator, in a child process.", "italic")

STATUS = {"held": ("held", "green"), "failed": ("FAILED", "bold red"), "n/a": ("n/a", "yellow")}


def checks_text(data: dict[str, Any]) -> RenderableType:
    """Each check: its status; its name, what was observed against its bound, what it measures."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for c in data["checks"]:
        word, style = STATUS.get(c["status"], (c["status"], ""))
        failed = (f" in {c['failed_in']} of {c['replications']}"
                  if c["status"] == "failed" and c["replications"] > 1 else "")
        if c["status"] == "n/a":
            seen = Text(f"not applicable: {c['reason']}", style="yellow")
        else:
            seen = Text.assemble((c["observed"], style), f", bound {c['bound']}", failed)
        grid.add_row(Text(word, style=style), Text.assemble(
            (c["name"], "bold"), "\n", seen, "\n", (c["what"], "dim")))
    return grid


def timeline_text(data: dict[str, Any]) -> RenderableType:
    """The headline events of replication 1: the faults bold, each with its source and detail."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(ratio=1)
    for e in data["timeline"]:
        grid.add_row(f"{e['t']:.1f}s", Text.assemble(
            (e["event"], "bold magenta" if e.get("fault") else "bold"), " ",
            (e.get("source") or "", "cyan"), " ", (e.get("detail") or "", "dim")))
    if data.get("hidden"):
        grid.add_row("", Text(f"... {data['hidden']} more events (twin run --events all lists "
                              "them)", style="dim"))
    return grid


def verdict(data: dict[str, Any]) -> Text:
    failed = sum(c["status"] == "failed" for c in data["checks"])
    held = sum(c["status"] == "held" for c in data["checks"])
    na = len(data["checks"]) - failed - held
    note = f", {na} not applicable" if na else ""
    reps = data["replications"]
    head = (f"{data['scenario']}: seed {data['seed']}, {reps} replication"
            f"{'s' if reps != 1 else ''}, {data['duration']:g}s simulated\n")
    if failed:
        return Text.assemble(head, ("FAILED", "bold red"),
                             f" {failed} of {len(data['checks'])} checks failed{note}")
    return Text.assemble(head, ("PASSED", "bold green"), f" {held} checks held{note}")


def impact_text(data: dict[str, Any]) -> Text:
    impact = data.get("impact") or {}
    text = Text("User impact (mean over replications)\n", style="bold")
    for name, r in impact.get("routes", {}).items():
        text.append(f"  {name}: {r.get('requests', 0):.0f} requests, {r.get('failed', 0):.1f} "
                    f"failed, failing for {r.get('failing_for', 0):.1f}s"
                    + (f"; {r['notes']}" if r.get("notes") else "") + "\n",
                    style="red" if r.get("failed", 0) >= 0.5 else "")
    for label, value in impact.get("totals", {}).items():
        text.append(f"  {label}: {value}\n")
    return text


def main_route(data: dict[str, Any]) -> str | None:
    """The route the checks name first, else the first that carried requests."""
    routes = list(data.get("series", {}).get("routes", {}))
    for c in data["checks"]:
        m = re.search(r"route/([\w-]+)", c["what"] + " " + c["name"])
        if m and m.group(1) in routes:
            return m.group(1)
    return routes[0] if routes else None


class ScenariosScreen(Screen):
    """Scenario files on the left; the selected one's run on the right."""

    BINDINGS = [
        Binding("r", "run", "Run"),
        Binding("x", "cancel", "Cancel run"),
        Binding("c", "tab('checks')", "Checks"),
        Binding("g", "tab('charts')", "Charts"),
        Binding("l", "tab('timeline')", "Timeline"),
        Binding("right_square_bracket", "route(1)", "Next route"),
        Binding("left_square_bracket", "route(-1)", "Previous route", show=False),
    ]

    class Listed(Message):
        def __init__(self, files: list[runs.ScenarioFile]):
            super().__init__()
            self.files = files

    class RunProgress(Message):
        def __init__(self, name: str, fraction: float, note: str):
            super().__init__()
            self.name, self.fraction, self.note = name, fraction, note

    class RunFinished(Message):
        def __init__(self, name: str, data: dict[str, Any]):
            super().__init__()
            self.name, self.data = name, data

    class RunFailed(Message):
        def __init__(self, name: str, lines: list[str]):
            super().__init__()
            self.name, self.lines = name, lines

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, runs.ScenarioFile] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.running: str | None = None
        self.shown: str | None = None
        self.route: str | None = None
        self.progress_shown = 0  # progress updates that reached the screen (after merging)
        self.tens, self.note = 0, ""  # what the running one's list cell and title last said
        self.follow = Follow(self, self._show)
        self.filled: tuple[Any, ...] | None = None  # (data, route, note) the run's panes show

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield from self._panes()
        yield Footer()

    def _panes(self) -> ComposeResult:
        with Vertical(id="files-box"):
            yield DataTable(id="files", cursor_type="row")
        with Vertical(id="run"):
            yield Static("reading scenarios/ ...", id="run-title")  # 3 lines: never laid out again
            yield ProgressBar(total=100, show_eta=False, id="progress")
            with TabbedContent(id="run-tabs", initial="checks"):
                with TabPane("Checks", id="checks"), VerticalScroll():
                    yield Pane(id="checks-text")
                with TabPane("Charts", id="charts"):
                    yield RunCharts(id="run-charts")
                with TabPane("Timeline", id="timeline"), VerticalScroll():
                    yield Pane(id="timeline-text")
                with TabPane("Impact", id="impact"), VerticalScroll():
                    yield Pane(id="impact-text")

    def on_mount(self) -> None:
        table = self.query_one("#files", DataTable)
        table.add_column("", key="status", width=4)
        table.add_column("scenario", key="name")
        self._list()

    def on_unmount(self) -> None:
        runs.stop_all()  # the app is closing: its run goes with it

    @work(thread=True, exclusive=True, group="list")
    def _list(self) -> None:
        self.post_message(self.Listed(runs.scenario_files(self.app.scenarios_dir)))  # type: ignore[attr-defined]

    @on(Listed)
    def _listed(self, event: Listed) -> None:
        table = self.query_one("#files", DataTable)
        for f in event.files:
            self.files[f.name] = f
            table.add_row(Text("bad", style="red") if f.problem else "", f.name, key=f.name)
        if not event.files:
            self._title(
                f"no scenario files in {self.app.scenarios_dir}")  # type: ignore[attr-defined]
        table.focus()

    # ---------------------------------------------------------- selection

    @on(DataTable.RowHighlighted, "#files")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.follow(str(event.row_key.value))

    @on(DataTable.RowSelected, "#files")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.start(str(event.row_key.value))

    def _show(self, name: str) -> None:
        """The title, and the last result of this scenario (if it has one)."""
        self.shown = name
        f = self.files[name]
        data = self.results.get(name)
        bar = self.query_one("#progress", ProgressBar)
        if data is not None:
            self._title(verdict(data))
        elif name != self.running:
            self._title(Text.assemble((f.name, "bold"), (" cannot be read" if f.problem else
                                                          f"  {f.duration} x {f.replications}"),
                                      "\n", (f.description, "dim")))
        if name != self.running:
            bar.update(progress=100 if data is not None else 0)
        self.route = main_route(data) if data else None
        note = ((f.problem, "red") if f.problem
                else NOT_RUN if data is None and name != self.running else None)
        self._fill(data, note)

    def _fill(self, data: dict[str, Any] | None, note: tuple[str, str] | None = None) -> None:
        """The run's panes and charts (`note`, text and style, in the checks pane instead),
        drawn again only when they change: the cursor crossing files never run redraws
        four charts and lays out the hidden panes at every row."""
        if self.filled is not None and self.filled[0] is data and \
                self.filled[1:] == (self.route, note):
            return
        self.filled = (data, self.route, note)
        self.query_one("#checks-text", Pane).show(
            Text(*note) if note else checks_text(data) if data else "")
        self.query_one("#timeline-text", Pane).show(timeline_text(data) if data else "")
        self.query_one("#impact-text", Pane).show(impact_text(data) if data else "")
        self.query_one(RunCharts).show(data, self.route)

    # ---------------------------------------------------------------- runs

    def action_run(self) -> None:
        table = self.query_one("#files", DataTable)
        if table.row_count:
            self.start(str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value))

    def start(self, name: str) -> None:
        if self.running is not None:
            self.notify(f"{self.running} is running: x cancels it", severity="warning")
            return
        f = self.files[name]
        if f.problem:
            self.notify(f.problem, severity="error")
            return
        self.running = name
        self.tens, self.note = 0, ""
        self.results.pop(name, None)
        self._status(name, Text("0%", style="yellow"))
        self._show(name)
        self._title(Text.assemble(
            ("running ", "bold"), name, f" ({f.duration} x {f.replications}, in a child process)"))
        self.query_one("#progress", ProgressBar).update(progress=0)
        self._run(f)

    @work(exclusive=True, group="run")
    async def _run(self, f: runs.ScenarioFile) -> None:
        opts = self.app.options  # type: ignore[attr-defined]
        latest = runs.Latest(THROTTLE)
        async for update in runs.run(f.path, opts.sets, opts.replications):
            if isinstance(update, runs.Progress):
                latest.offer(update)
                shown = latest.take()
                if shown is not None:
                    self.post_message(self.RunProgress(f.name, shown.fraction, shown.note))
            elif isinstance(update, runs.Finished):
                self.post_message(self.RunFinished(f.name, update.data))
            else:
                self.post_message(self.RunFailed(f.name, update.lines))

    @on(RunProgress)
    def _progress(self, event: RunProgress) -> None:
        self.progress_shown += 1
        tens = int(10 * event.fraction)  # the list's cell in steps of 10 %: each one repaints it all
        if tens != self.tens:
            self.tens = tens
            self._status(event.name, Text(f"{10 * tens}%", style="yellow"))
        if self.shown == event.name:
            self.query_one("#progress", ProgressBar).update(progress=100 * event.fraction)
            if event.note != self.note:
                self.note = event.note
                self._title(Text.assemble(("running ", "bold"), event.name, f": {event.note}"))

    @on(RunFinished)
    def _finished(self, event: RunFinished) -> None:
        self.running = None
        self.results[event.name] = event.data
        passed = event.data["verdict"] == "passed"
        self._status(event.name, Text("ok", style="green") if passed
                     else Text("FAIL", style="bold red"))
        if self.shown == event.name:
            self._show(event.name)

    @on(RunFailed)
    def _failed(self, event: RunFailed) -> None:
        self.running = None
        self._status(event.name, Text("err", style="bold red"))
        if self.shown == event.name:
            self._title(Text.assemble((event.name, "bold"), (" did not run", "red")))
            self._fill(None, ("\n".join(event.lines), "red"))
            self.query_one("#progress", ProgressBar).update(progress=0)

    def action_cancel(self) -> None:
        if self.running is None:
            return
        self.workers.cancel_group(self, "run")
        self._status(self.running, Text("stop", style="dim"))
        name, self.running = self.running, None
        if self.shown == name:
            self._show(name)
        self.notify(f"{name} cancelled")

    def _title(self, text: Text | str) -> None:
        self.query_one("#run-title", Static).update(text, layout=False)

    def _status(self, name: str, text: Text) -> None:
        table = self.query_one("#files", DataTable)
        table.update_cell(name, "status", text)

    # ------------------------------------------------------------ the rest

    def action_tab(self, tab: str) -> None:
        self.query_one("#run-tabs", TabbedContent).active = tab

    def action_route(self, step: int) -> None:
        data = self.results.get(self.shown or "")
        routes = list((data or {}).get("series", {}).get("routes", {}))
        if not routes:
            return
        i = routes.index(self.route) if self.route in routes else -step
        self.route = routes[(i + step) % len(routes)]
        self.query_one(RunCharts).show(data, self.route)
        if self.filled is not None:
            self.filled = (self.filled[0], self.route, self.filled[2])
        self.action_tab("charts")

    def commands(self) -> list[Command]:
        return [Command(f"Run {f.name}", partial(self._palette_run, f.name),
                        f.description or "on the simulator", discover=True)
                for f in self.files.values() if not f.problem]

    def _palette_run(self, name: str) -> None:
        table = self.query_one("#files", DataTable)
        table.move_cursor(row=table.get_row_index(name))
        self.start(name)
