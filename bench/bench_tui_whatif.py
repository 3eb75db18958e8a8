"""How long the What-if page takes to show a new answer after a keystroke, against the
same page answering with nothing to compute.

Headless (Textual's run_test) at 80 x 24. A keystroke is typed into a field
(alternately "1" and "2" appended to and removed from chat-worker's replicas, or
the chat load) and timed until the answer pane is painted with it. The baseline is the
same keystroke in a field the page ignores (no answer to compute: the Input's own
repaint), measured in the same run, so the ratio is what answering costs. The
target is a p95 under 100 ms for the answer while typing (placement=False).
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

KEYS = 60
PAUSE = 0.03
TARGET = 0.100
FIELDS = ("workers.chat-worker.replicas", "load/chat")
"""Fields timed: a `--set` override (the topology is validated again under it, from the
merged tree twin.loading.reload keeps) and a load (it is not)."""


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def _times(app: Any, key: str | None) -> list[float]:
    """Seconds from a keystroke to the painted answer (key None: to the painted field)."""
    from textual import events
    from textual.widgets import Input

    screen = app.screen
    box = screen.query_one(f"#{screen.field_id(key or FIELDS[0])}", Input)
    if key is None:  # the baseline: an Input the page does not answer
        box = Input(id="bench-plain", compact=True)
        await screen.query_one("#whatif-fields").mount(box, before=0)  # in view
    box.focus()
    await asyncio.sleep(0.2)
    painted = asyncio.Event()
    display = app._display
    state = {"seen": screen.answered}

    def paint(scr: Any, renderable: Any) -> None:
        display(scr, renderable)
        if renderable is not None and (key is None or screen.answered > state["seen"]):
            painted.set()

    app._display = paint
    out = []
    try:
        for i in range(KEYS):
            painted.clear()
            state["seen"] = screen.answered
            start = time.perf_counter()
            k = "backspace" if i % 2 else "0"  # 3 -> 30 -> 3; 5 -> 50 -> 5
            app._driver.send_message(events.Key(k, "0" if k == "0" else None))
            try:
                await asyncio.wait_for(painted.wait(), 5)
            except TimeoutError:
                raise SystemExit(f"no paint after {k!r}: focus {app.focused!r}, "
                                 f"value {box.value!r}") from None
            out.append(time.perf_counter() - start)
            await asyncio.sleep(PAUSE)
    finally:
        app._display = display
    return out


async def main() -> None:
    from tui.app import TwinApp
    from twin.loading.files import load_topology
    from twin.views.tree import TopologyView

    path = ROOT / "topologies" / "eco2-prod.yaml"
    app = TwinApp(TopologyView(load_topology(path), str(path)), ROOT / "scenarios")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("3")
        await pilot.pause()
        base = await _times(app, None)
        timed = {k: await _times(app, k) for k in FIELDS}
    print(f"{KEYS} keystrokes per field at 80x24, p50 / p95 in ms")
    print(f"  baseline (a field with no answer) {1000 * _p(base, 50):6.1f} / "
          f"{1000 * _p(base, 95):6.1f}")
    worst = 0.0
    for k, t in timed.items():
        worst = max(worst, _p(t, 95))
        print(f"  {k:30s}   {1000 * _p(t, 50):6.1f} / {1000 * _p(t, 95):6.1f}   "
              f"p95 ratio {_p(t, 95) / _p(base, 95):5.2f}")
    print(f"  answer p95 while typing: {1000 * worst:.1f} ms (target < {1000 * TARGET:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
