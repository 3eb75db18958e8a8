"""The What-if page in a deterministic state, against the SVG snapshots beside this file
(`pytest tests/tui/test_whatif_snapshots.py --snapshot-update` after a change meant to show)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.widgets import Input


def _whatif(edits: dict[str, str]) -> Callable[[Any], Any]:
    async def before(pilot: Any) -> None:
        await pilot.press("3")
        await pilot.pause()
        screen = pilot.app.screen
        for key, text in edits.items():
            screen.query_one(f"#{screen.field_id(key)}", Input).value = text
        await pilot.pause()
        if edits:
            screen._full()  # the idle answer now, not after a timer
        screen.set_focus(None)
        await pilot.pause()

    return before


def test_whatif_opens(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_whatif({}))


def test_whatif_chat_x3(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=_whatif({"load/chat": "x3"}))
