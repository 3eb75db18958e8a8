"""The Topology page driven by keys (Textual's Pilot): details, nodes, blast radius."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.command import CommandPalette
from textual.widgets import Input
from tui_helpers import plain, sync

from tui.topology import ComponentTree, TopologyScreen


def _detail(app: Any) -> str:
    return plain(app.screen.query_one("#detail").content)


def _label(tree: ComponentTree, key: str) -> str:
    return tree.by_key[key][0].label.plain


async def _down_to(pilot: Any, tree: ComponentTree, key: str) -> None:
    """Walk the cursor down to `key`, as a user would."""
    for _ in range(200):
        if tree.cursor_node is not None and tree.cursor_node.data == key:
            return
        await pilot.press("down")
    raise AssertionError(f"{key} not reached")


@sync
async def test_opens_on_the_topology_with_tiers_expanded(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TopologyScreen)
        tree = app.screen.query_one(ComponentTree)
        tiers = [n for n in tree.root.children if (n.data or "").startswith("tier/")]
        assert tiers and all(n.is_expanded for n in tiers)
        assert tree.cursor_node is tree.root.children[0]
        assert "tier business-logic" in _detail(app)


@sync
async def test_select_chat_api_and_read_its_details(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.query_one(ComponentTree)
        await _down_to(pilot, tree, "service/chat-api")
        text = _detail(app)
        for expected in ("service/chat-api", "http port 8000", "replicas 4 (v1 3, v2 1)",
                         "HPA 3-8 pods on CPU", "routes through it", "route/chat",
                         "stores it depends on", "store/redis (write)", "blast radius"):
            assert expected in text, expected
        await pilot.press("down")  # the cursor moves on: so does the pane
        assert "service/chat-api" not in _detail(app).splitlines()[0]


@sync
async def test_blast_radius_of_redis_is_marked_in_the_tree(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.query_one(ComponentTree)
        app.screen.show("store/redis")  # what the palette's "Show store/redis" does
        await pilot.pause()
        assert tree.cursor_node.data == "store/redis"
        assert "DOWN" not in _label(tree, "store/redis")
        await pilot.press("b")
        assert app.screen.query_one("#tabs").active == "blast"
        assert "DOWN" in _label(tree, "store/redis")
        blast = app.view.blast("store/redis")
        for key, mark in blast.marks.items():
            word = {"down": "DOWN", "fail": "FAILS", "lost": "result lost",
                    "degrade": "degrades", "delayed": "delayed", "reduced": "reduced"}[mark]
            assert word in _label(tree, key), key
        assert "FAILS" in _label(tree, "route/chat")
        assert "FAILS" not in _label(tree, "route/image")  # image does not use Redis
        assert "hit" in _label(tree, "tier/data")  # a collapsed group would still say so
        text = plain(app.screen.query_one("#blast-text").content)
        assert "Blast radius of store/redis" in text
        await pilot.press("escape")
        assert "DOWN" not in _label(tree, "store/redis")
        assert app.screen.query_one("#tabs").active == "details"


@sync
async def test_enter_on_the_storage_node_shows_what_it_takes_down(
        make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.screen.query_one(ComponentTree)
        app.screen.show("node/k8s-storage")
        await pilot.pause()
        await pilot.press("up", "down")  # the cursor moved by keys, onto the node again
        assert tree.cursor_node.data == "node/k8s-storage"
        await pilot.press("enter")
        for key in ("node/k8s-storage", "store/redis", "store/postgres", "store/rabbitmq"):
            assert "DOWN" in _label(tree, key), key
        assert all("FAILS" in _label(tree, f"route/{r.name}") for r in app.view.topo.routes)
        text = plain(app.screen.query_one("#blast-text").content)
        assert "Data stores that lose ALL their copies:" in text
        assert "store/redis: all 3 copies" in text


@sync
async def test_nodes_tab_lists_pods_and_headroom(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        table = app.screen.query_one("#node-table")
        assert app.screen.query_one("#tabs").active == "nodes"
        assert table.row_count == len(app.view.nodes())
        assert app.focused is table  # the arrows now move through the nodes
        await pilot.press(*["down"] * (table.row_count - 1))
        text = plain(app.screen.query_one("#node-pods").content)
        assert text.startswith("k8s-storage")
        assert "store/redis: redis-0, redis-1, redis-2" in text


@sync
async def test_palette_reaches_any_component(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        app.screen.query_one(Input).value = "blast radius of store/redis"  # as if pasted
        await pilot.pause(0.5)
        await pilot.press("down", "enter")
        await pilot.pause()
        tree = app.screen.query_one(ComponentTree)
        assert tree.cursor_node.data == "store/redis"
        assert "DOWN" in _label(tree, "store/redis")


@sync
async def test_q_quits_but_not_while_typing_in_the_palette(make_app: Callable[..., Any]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p", "q")
        await pilot.pause()
        assert app.is_running
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running
