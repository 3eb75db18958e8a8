"""How long the TUI takes to answer a key while a simulation runs, against an idle screen.

Headless (Textual's run_test) at 80 x 24. A key is answered when the screen is
painted with the cursor moved (the Topology page's tree, the Scenarios page's
file list); the pane that follows the cursor (the detail, the run) is painted
after it, and its time is printed too. Each page is timed
idle (the baseline), then while a scenario runs in its child process (storage-node-loss,
8 simulated minutes a replication, 20 replications so that it outlasts the keys; it is
cancelled at the end). Prints p50 and p95
of both and their ratio; the target is an answer's p95 under 50 ms while the
simulation runs. CPU time per key is printed as well: it does not depend on what
else the machine runs.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEYS = 100         # keys timed per page and condition
PAUSE = 0.03       # between two keys, as someone holding an arrow key
RUN = "storage-node-loss"
TARGET = 0.050
PAGES = ("topology", "scenarios")
"""Pages timed; each has `follow` (tui.follow.Follow), the pane its cursor moves."""


async def _times(app: Any, page: str) -> tuple[list[float], list[float], float]:
    """(answers, panes painted, CPU seconds per key) for KEYS cursor keys on a page."""
    from textual import events

    await app.switch_mode(page)
    await asyncio.sleep(0.2)
    screen = app.screen
    answered, followed = asyncio.Event(), asyncio.Event()
    state = {"pane": False}
    update = screen.follow.apply
    display = app._display

    def updated(*args: Any, **kwargs: Any) -> Any:
        state["pane"] = True
        return update(*args, **kwargs)

    def paint(scr: Any, renderable: Any) -> None:
        display(scr, renderable)
        if renderable is not None:
            answered.set()
            if state["pane"]:
                followed.set()

    screen.follow.apply = updated
    app._display = paint
    answers, panes, cpu = [], [], 0.0
    try:
        for i in range(KEYS):
            state["pane"] = False
            answered.clear()
            followed.clear()
            start, c0 = time.perf_counter(), time.process_time()
            app._driver.send_message(events.Key("down" if i % 2 == 0 else "up", None))
            await asyncio.wait_for(answered.wait(), 5)
            answers.append(time.perf_counter() - start)
            await asyncio.wait_for(followed.wait(), 5)
            panes.append(time.perf_counter() - start)
            cpu += time.process_time() - c0
            await asyncio.sleep(PAUSE)
    finally:
        screen.follow.apply = update
        app._display = display
    return answers, panes, cpu / KEYS


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def main() -> None:
    from tui.app import RunOptions, TwinApp
    from tui.scenarios import THROTTLE, ScenariosScreen
    from twin.loading.files import load_topology
    from twin.views.tree import TopologyView

    view = TopologyView(load_topology(ROOT / "topologies" / "eco2-prod.yaml"), "eco2-prod")
    app = TwinApp(view, ROOT / "scenarios", RunOptions(replications=20))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.switch_mode("scenarios")
        scenarios = app.screen
        assert isinstance(scenarios, ScenariosScreen)
        await scenarios.workers.wait_for_complete()
        await pilot.pause()
        idle = {page: await _times(app, page) for page in PAGES}

        scenarios.start(RUN)
        started = time.perf_counter()
        while scenarios.progress_shown == 0:  # the child is up and simulating
            await asyncio.sleep(0.1)
        busy = {page: await _times(app, page) for page in PAGES}
        assert scenarios.running == RUN, (
            f"the run ended before the keys did ({scenarios.query_one('#run-title').content}): "
            "time a longer one")
        shown, elapsed = scenarios.progress_shown, time.perf_counter() - started
        scenarios.action_cancel()
        await pilot.pause()

    print(f"{KEYS} cursor keys per page at 80x24, p50 / p95 in ms; running: {RUN} "
          "in its child process")
    worst = 0.0
    for page in PAGES:
        for what, i in (("answer", 0), ("pane", 1)):
            a, b = idle[page][i], busy[page][i]
            worst = max(worst, _p(b, 95)) if what == "answer" else worst
            print(f"  {page:9s} {what:6s}  idle {1000 * _p(a, 50):6.1f} / {1000 * _p(a, 95):6.1f}"
                  f"   running {1000 * _p(b, 50):6.1f} / {1000 * _p(b, 95):6.1f}"
                  f"   p95 ratio {_p(b, 95) / _p(a, 95):5.2f}")
        print(f"  {page:9s} CPU per key: idle {1000 * idle[page][2]:.1f} ms, "
              f"running {1000 * busy[page][2]:.1f} ms")
    print(f"  progress updates that reached the screen: {shown} in {elapsed:.1f} s "
          f"(at most one per {THROTTLE:g} s)")
    print(f"  answer p95 while running: {1000 * worst:.1f} ms (target < {1000 * TARGET:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
