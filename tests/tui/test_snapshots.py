"""Screens in a deterministic state, against the SVG snapshots beside this file.

After a change that is meant to show, look at the new screens and accept them:
`pytest tests/tui/test_snapshots.py --snapshot-update`. The scenario screens show
a recorded run (data/redis-master-crash.json), so that a change in the simulator
does not move them; test_scenarios_pilot checks that its shape is today's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.scenarios import ScenariosScreen


def _topology(key: str | None = None, blast: bool = False) -> Callable[[Any], Any]:
    async def before(pilot: Any) -> None:
        await pilot.pause()
        if key is not None:
            pilot.app.screen.show(key, blast=blast)
        await pilot.pause()

    return before


async def _until(pilot: Any, ready: Callable[[], bool]) -> None:
    """Pause until the screen is in the state the snapshot shows (a loaded machine is slow)."""
    for _ in range(200):
        if ready():
            break
        await pilot.pause(0.05)
    assert ready(), "the screen never reached the state this snapshot shows"
    await pilot.pause()


def _scenarios(run: dict[str, Any] | None = None, tab: str = "") -> Callable[[Any], Any]:
    async def before(pilot: Any) -> None:
        await pilot.press("2")
        screen = pilot.app.screen
        await screen.workers.wait_for_complete()
        # the list came from a thread, and the first row's pane follows after a refresh
        await _until(pilot, lambda: bool(screen.files) and screen.shown is not None
                     and not screen.follow.waiting)
        if run is not None:
            screen.post_message(ScenariosScreen.RunFinished(run["scenario"], run))
            await pilot.press("down")  # onto redis-master-crash
            await pilot.pause()
        if tab:
            await pilot.press(tab)
        await pilot.pause()

    return before


def test_topology_opens(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_topology())


def test_topology_chat_api(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=_topology("service/chat-api"))


def test_topology_storage_node_blast(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=_topology("node/k8s-storage", blast=True))


def test_topology_nodes_wide(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40), press=["n"],
                        run_before=_topology())


def test_scenarios_list(snap_compare: Any, make_app: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_scenarios())


def test_scenario_checks(snap_compare: Any, make_app: Callable[..., Any],
                         recorded: dict[str, Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_scenarios(recorded))


def test_scenario_charts_wide(snap_compare: Any, make_app: Callable[..., Any],
                              recorded: dict[str, Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(120, 40),
                        run_before=_scenarios(recorded, "g"))


def test_scenario_timeline(snap_compare: Any, make_app: Callable[..., Any],
                           recorded: dict[str, Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24),
                        run_before=_scenarios(recorded, "l"))
