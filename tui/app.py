"""The Eco2 twin's terminal UI: one App, one mode per page of PAGES.

A page is one entry of PAGES (its mode, title, key and screen): the bindings, the
footer and the command palette's "go to" entries are all made from that table,
so a third page is one more line. Screens read the App's TopologyView (the data
side, twin.views.tree) and run scenarios through tui.runs; they talk to their
widgets through Textual messages.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.palette import ScreenCommands
from tui.scenarios import ScenariosScreen
from tui.topology import TopologyScreen
from tui.whatif import WhatIfScreen
from twin.views.tree import TopologyView

SETTLE = 0.2
"""Seconds after a page is first shown before what is alive then is frozen (`freeze_heap`)."""


def freeze_heap() -> None:
    """Take every object alive now (modules, the topology, the pages built so far) out of
    the cyclic collector's sight: a full collection walks all of them, about 80 ms at
    this app's size, and it fell on a keystroke often enough to set the What-if page's
    p95. Garbage first, so that none is kept for good; `gc.unfreeze` when the app exits."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class Page:
    mode: str
    title: str
    key: str
    help: str
    screen: Callable[[], Screen]


PAGES = (
    Page("topology", "Topology", "1", "The tree by tier, namespace and node pool; details, "
         "nodes and blast radius", TopologyScreen),
    Page("scenarios", "Scenarios", "2", "The files under scenarios/: run one, its charts, "
         "timeline and checks", ScenariosScreen),
    Page("whatif", "What-if", "3", "Edit load, replicas, pools, HPAs and Sentinel; the "
         "capacity answer as you type, `s` simulates", WhatIfScreen),
)


@dataclass(frozen=True)
class RunOptions:
    """What every run started from the Scenarios page adds (tests and bench shorten runs)."""

    sets: tuple[str, ...] = ()
    replications: int | None = None


class TwinApp(App[None]):
    """Browse the topology and run scenarios on the simulator, keyboard first."""

    TITLE = "Eco2 twin"
    CSS_PATH = "twin.tcss"
    COMMANDS = App.COMMANDS | {ScreenCommands}
    MODES = {p.mode: p.screen for p in PAGES}
    DEFAULT_MODE = PAGES[0].mode
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        *(Binding(p.key, f"switch_mode('{p.mode}')", p.title) for p in PAGES),
    ]

    def __init__(self, view: TopologyView, scenarios: Path, options: RunOptions = RunOptions(),
                 replica: Any = None):
        super().__init__()
        self.view = view
        self.scenarios_dir = scenarios
        self.options = options
        self.replica = replica
        self.sub_title = f"{view.topo.cluster.name} ({view.source})" if view.source \
            else view.topo.cluster.name

    def on_mount(self) -> None:
        self.settled: set[str] = set()  # pages whose widgets are frozen
        self.mode_change_signal.subscribe(self, self._shown)
        self._shown(self.current_mode)

    def _shown(self, mode: str) -> None:
        if mode not in self.settled:
            self.settled.add(mode)
            self.set_timer(SETTLE, freeze_heap)  # once its widgets are up and painted

    def on_unmount(self) -> None:
        gc.unfreeze()  # a test suite runs many apps in one process

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for p in PAGES:
            yield SystemCommand(f"Go to {p.title}", p.help, partial(self.switch_mode, p.mode))


def run(view: TopologyView, scenarios: Path, replica: Any = None,
        sets: tuple[str, ...] = ()) -> None:
    """Open the UI in this terminal until `q`; `sets` (`twin tui --set`) apply to every page:
    the topology shown, each scenario run and each what-if edit."""
    TwinApp(view, scenarios, RunOptions(sets=sets), replica=replica).run()
