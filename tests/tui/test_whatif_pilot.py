"""The What-if page under Textual's pilot: edits change the answer, bad values are
named in the page, the simulator runs in a child and its rows come back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.widgets import Input
from tui_helpers import plain, sync

from tui import capacity
from tui.whatif import WhatIfScreen, answer_text


async def _open(pilot: Any) -> WhatIfScreen:
    await pilot.press("3")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, WhatIfScreen)
    return screen


async def _type(pilot: Any, screen: WhatIfScreen, key: str, text: str) -> None:
    box = screen.query_one(f"#{screen.field_id(key)}", Input)
    box.value = text
    seen = screen.answered
    while screen.answered == seen:
        await pilot.pause(0.02)


def _text(screen: WhatIfScreen) -> str:
    """The answer shown, laid out wide (the pane holds it wrapped at its own width)."""
    shown = plain(screen.query_one("#whatif-text").content, 120)
    assert (screen.now.answer.bottleneck or "No bottleneck") in shown.replace("\n", "")
    return plain(answer_text(screen.now.answer, screen.base, screen.full), 120)


@sync
async def test_one_character_worker_works_harder(make_app: Callable[..., Any]) -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        before = _text(screen)
        assert "Fit:" in before and "typing" not in before
        base_util = next(c for c in screen.base.components if c.name == "worker/character-worker")
        await _type(pilot, screen, "workers.character-worker.replicas", "1")  # no HPA
        now = _text(screen)
        assert not screen.full and "placement questions wait" in now
        row = next(c for c in screen.now.answer.components if c.name == "worker/character-worker")
        assert row.pods == 1 < base_util.pods
        assert row.utilisation > base_util.utilisation
        await pilot.pause(0.8)  # idle: the full answer follows
        assert screen.full and "cases fit" in _text(screen)


@sync
async def test_chat_load_x3_moves_the_bottleneck_figures(make_app: Callable[..., Any]) -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        titles = [c.title for c in screen.commands()]
        assert "Simulate these values" in titles and "Edit load: chat" in titles
        await _type(pilot, screen, "load/chat", "x3")
        assert screen.now.loads.open["chat"] == pytest.approx(3 * screen.topo.route("chat").rate)
        assert "saturated" in " ".join(screen.now.answer.warnings)
        now = _text(screen)
        assert "Bottleneck: worker/chat-worker" in now
        row = next(c for c in screen.now.answer.components if c.name == "worker/chat-worker")
        was = next(c for c in screen.base.components if c.name == "worker/chat-worker")
        assert row.status == "saturated" and was.status != "saturated"
        line = next(x for x in now.splitlines() if x.startswith("chat-worker"))
        assert f"+{(row.utilisation - was.utilisation) * 100:.0f}" in line  # the delta column


@sync
async def test_a_bad_value_is_a_problem_in_the_page(make_app: Callable[..., Any]) -> None:
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        await _type(pilot, screen, "workers.chat-worker.replicas", "three")
        status = plain(screen.query_one("#whatif-status").content, 200)
        assert "problem:" in status and "workers.chat-worker.replicas" in status
        await _type(pilot, screen, "workers.chat-worker.replicas", "3")
        assert "problem" not in plain(screen.query_one("#whatif-status").content, 200)
        await _type(pilot, screen, "pools.app.nodes", "0")
        assert "at least 1 node" in plain(screen.query_one("#whatif-status").content, 200)


@sync
async def test_the_status_is_laid_out_again_only_to_change_its_height(
        make_app: Callable[..., Any]) -> None:
    """A keystroke's answer repaints the status in place; a problem that wraps grows it,
    and the next good value shrinks it back to its one line."""
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        status = screen.query_one("#whatif-status")
        await _type(pilot, screen, "workers.chat-worker.replicas", "29")  # its height now known
        layouts = []
        refresh = status.refresh
        status.refresh = lambda *a, **kw: (layouts.append(kw.get("layout", False)),  # type: ignore[method-assign]
                                           refresh(*a, **kw))[1]
        await _type(pilot, screen, "workers.chat-worker.replicas", "30")
        await _type(pilot, screen, "workers.chat-worker.replicas", "31")
        assert layouts == [False, False] and status.size.height == 1
        await _type(pilot, screen, "workers.chat-worker.replicas", "three")
        await pilot.pause()
        assert layouts[-1] is True and status.size.height > 1
        await _type(pilot, screen, "workers.chat-worker.replicas", "3")
        await pilot.pause()
        assert layouts[-1] is True and status.size.height == 1


def test_edits_are_set_overrides(prod_view: Any) -> None:
    topo = prod_view.topo
    fs = capacity.fields(topo)
    ed = capacity.as_edits(topo, fs, {"pools.app.nodes": "5", "load/chat": "x2",
                                      "scale": "1.5", "stores.redis.sentinel.down_after": "10s"})
    names = [n.name for n in next(p for p in topo.pools if p.name == "app").nodes]
    assert ed.sets == ("pools.app.nodes=[" + ", ".join(f"{{name: {n}}}" for n in names)
                       + ", {name: app-5}]", "stores.redis.sentinel.down_after=10s")
    assert ed.loads == ("chat=x2",) and ed.scale == 1.5
    out = capacity.evaluate(prod_view.source, topo, fs, {"pools.app.nodes": "5"}, placement=False)
    assert next(p for p in out.answer.pools if p.pool == "app").nodes == 5


@pytest.mark.slow
@sync
async def test_simulate_shows_analytic_against_simulated(make_app: Callable[..., Any],
                                                        monkeypatch: Any) -> None:
    monkeypatch.setattr(capacity, "SIM_DURATION", "30s")
    monkeypatch.setattr(capacity, "SIM_REPLICATIONS", 2)
    async with make_app().run_test(size=(80, 24)) as pilot:
        screen = await _open(pilot)
        screen.action_simulate()
        while screen.simulating:
            await pilot.pause(0.2)
        await screen.workers.wait_for_complete()  # the child reaped inside this loop
        sim = plain(screen.query_one("#whatif-sim").content, 120)
        assert "Simulated 30s, 2 replications" in sim and "95% CI" in sim


def test_twin_tui_set_stays_under_every_edit(prod_view: Any) -> None:
    """`twin tui --set workers.chat-worker.replicas=7`: an edit of another field reloads the
    topology with that set still in force, and the simulator's child gets it first."""
    from twin.loading.files import load_topology

    base = ("workers.chat-worker.replicas=7",)
    topo = load_topology(prod_view.source, sets=base)
    fs = capacity.fields(topo)
    out = capacity.evaluate(prod_view.source, topo, fs, {"pools.app.nodes": "5"},
                            placement=False, base_sets=base)
    assert not out.problems, out.problems
    assert next(w for w in out.topology.workers if w.name == "chat-worker").replicas == 7
    ed = capacity.as_edits(topo, fs, {"pools.app.nodes": "5"})
    cmd = capacity.command(prod_view.source, ed, base_sets=base)
    sets = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--set"]
    assert sets[0] == base[0] and len(sets) == 2
