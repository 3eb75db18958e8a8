"""The app keeps its long-lived objects out of the cyclic collector's full passes while it
runs (tui.app.freeze_heap), and hands them back when it exits."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from tui_helpers import sync


async def _frozen_beyond(pilot: Any, count: int) -> int:
    deadline = time.monotonic() + 10
    while gc.get_freeze_count() <= count:
        assert time.monotonic() < deadline, "nothing frozen"
        await pilot.pause(0.05)
    return gc.get_freeze_count()


@sync
async def test_each_page_shown_is_frozen_and_the_exit_unfreezes(
        make_app: Callable[..., Any]) -> None:
    assert gc.get_freeze_count() == 0
    async with make_app().run_test(size=(80, 24)) as pilot:
        first = await _frozen_beyond(pilot, 0)  # the Topology page, once it is up
        await pilot.press("3")
        await _frozen_beyond(pilot, first)  # the What-if page's widgets too
        assert pilot.app.settled == {"topology", "whatif"}
        # what a full collection still walks: a fraction of what the app holds
        assert len(gc.get_objects()) < gc.get_freeze_count() / 2
    assert gc.get_freeze_count() == 0
