"""The Topology page: the tree by tier, namespace and node pool; the selected item's
detail; the nodes with their pods and headroom; a blast radius marked in the tree.

Everything shown comes from the App's TopologyView (twin.views.tree), worked out
once per topology: moving the cursor only looks things up.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane, Tree
from textual.widgets.tree import TreeNode

from tui.follow import Follow
from tui.palette import Command
from tui.pane import Pane
from tui.text import hanging, sections
from twin.views.rows import cells
from twin.views.tree import NODE_COLUMNS, Blast, Item, TopologyView, by_component

MARK_STYLES = {
    "down": ("DOWN", "bold white on dark_red"),
    "reduced": ("reduced", "black on yellow"),
    "fail": ("FAILS", "bold red"),
    "lost": ("result lost", "bold magenta"),
    "degrade": ("degrades", "yellow"),
    "delayed": ("delayed", "cyan"),
}
"""How a blast radius mark reads in the tree: a word (readable without colour) and a style."""

TAB_FOCUS = {"nodes": "#node-table", "replica": "#replica-nodes"}
"""The widget the keys go to once a tab is shown (the tree for the others)."""

BLAST_HELP = ("Press b (or Enter) on any item, a node or a store say, to see what its loss "
              "takes down: it is marked in the tree. Escape clears.")


def label(item: Item, mark: str | None = None, affected: int = 0) -> Text:
    """A tree line: the name, a dim hint, then what a blast radius says of it."""
    text = Text(item.name, style="bold" if item.kind in ("tier", "section") else "")
    if item.hint:
        text.append(f" {item.hint}", style="dim")
    if mark is not None:
        word, style = MARK_STYLES[mark]
        text.append(" ")
        text.append(f" {word} ", style=style)
    elif affected:
        text.append(f" {affected} hit", style="bold red")
    return text


class ComponentTree(Tree[str]):
    """The topology's tree; each node's data is its key (`service/chat-api`)."""

    BINDINGS = [Binding("enter", "select_cursor", "Blast radius", show=False)]

    def __init__(self, items: list[Item], **kwargs: Any):
        super().__init__("topology", **kwargs)
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 2
        self.by_key: dict[str, list[TreeNode[str]]] = {}
        self.items: dict[int, Item] = {}
        for item in items:
            self._add(self.root, item)
        self.root.expand_all()

    def _add(self, parent: TreeNode[str], item: Item) -> None:
        node = parent.add(label(item), data=item.key, allow_expand=bool(item.children))
        self.by_key.setdefault(item.key, []).append(node)
        self.items[node.id] = item
        for child in item.children:
            self._add(node, child)

    def on_mount(self) -> None:
        self.cursor_line = 0

    def mark(self, blast: Blast | None) -> None:
        """Label every line with what the blast radius says of it (None: plain again)."""
        marks = blast.marks if blast else {}
        for nodes in self.by_key.values():
            for node in nodes:
                item = self.items[node.id]
                hit = sum(1 for i in item.walk()[1:] if i.key in marks)
                node.set_label(label(item, marks.get(item.key), hit))

    def show(self, key: str) -> None:
        nodes = self.by_key.get(key)
        if nodes:
            self.move_cursor(nodes[0])


class TopologyScreen(Screen):
    """Tree on the left; details, nodes and blast radius in tabs on the right."""

    BINDINGS = [
        Binding("b", "blast", "Blast radius"),
        Binding("escape", "clear", "Clear", show=False),
        Binding("d", "tab('details')", "Details"),
        Binding("n", "tab('nodes')", "Nodes"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.blast_key: str | None = None
        self.follow = Follow(self, self._show_detail)

    @property
    def view(self) -> TopologyView:
        return self.app.view  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield ComponentTree(self.view.tree(), id="tree")
            with TabbedContent(id="tabs", initial="details"):
                with TabPane("Details", id="details"), VerticalScroll():
                    yield Pane(id="detail")
                with TabPane("Nodes", id="nodes"):
                    yield DataTable(id="node-table", cursor_type="row", zebra_stripes=True)
                    with VerticalScroll(id="node-pods-box"):
                        yield Pane(id="node-pods")
                with TabPane("Blast radius", id="blast"), VerticalScroll():
                    yield Pane(BLAST_HELP, id="blast-text")
                if self.app.replica is not None:  # type: ignore[attr-defined]
                    with TabPane("Replica", id="replica"):
                        yield DataTable(id="replica-nodes", cursor_type="row")
                        yield Static("asking the replica...", id="replica-summary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#node-table", DataTable)
        table.add_columns(*(title for title, _ in NODE_COLUMNS))
        for row in self.view.nodes():
            table.add_row(*cells(NODE_COLUMNS, row), key=row.name)
        self._show_detail(self.query_one(ComponentTree).cursor_node)
        if self.app.replica is not None:  # type: ignore[attr-defined]
            self.query_one("#replica-nodes", DataTable).add_columns(*self.app.replica.COLUMNS)  # type: ignore[attr-defined]
            self.set_interval(self.app.replica.every, self._ask_replica)  # type: ignore[attr-defined]
            self._ask_replica()

    # ------------------------------------------------------------ the tree

    @on(Tree.NodeHighlighted, "#tree")
    def _highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        self.follow(event.node)

    @on(Tree.NodeSelected, "#tree")
    def _selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data:
            self.show_blast(event.node.data)

    def _show_detail(self, node: TreeNode[str] | None) -> None:
        if node is None or node.data is None:
            return
        self.query_one("#detail", Pane).show(
            sections((s.title, s.lines) for s in self.view.detail(node.data)))

    # ------------------------------------------------------------ nodes tab

    @on(DataTable.RowHighlighted, "#node-table")
    def _node_row(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value
        row = next(r for r in self.view.nodes() if r.name == name)
        lines = [Text.assemble((row.name, "bold"), (f"  pool {row.pool}", "dim"))]
        lines += [Text(f"  taint {t}", style="dim") for t in row.taints]
        lines += [Text.assemble(f"  {comp}: ", (", ".join(pods), "dim"))
                  for comp, pods in by_component(row)]
        pending = self.view.pending()
        if pending:
            lines.append(Text(f"Pending (no node with room): {', '.join(pending)}", style="bold red"))
        self.query_one("#node-pods", Pane).show(hanging(lines))

    # --------------------------------------------------------- blast radius

    def show_blast(self, key: str) -> None:
        """Mark what the loss of `key` takes down, and say it in the Blast radius tab."""
        if key.split("/", 1)[0] in ("tier", "section"):
            self.notify("Blast radius: choose a component, node or pool, not a group",
                        severity="warning")
            return
        from twin.views.graph import render_blast

        blast = self.view.blast(key)
        self.blast_key = key
        self.query_one(ComponentTree).mark(blast)
        lines = render_blast(self.view.blast_radius(key), self.view.topo)
        self.query_one("#blast-text", Pane).show(hanging(lines))
        self.query_one(TabbedContent).active = "blast"

    def action_blast(self) -> None:
        node = self.query_one(ComponentTree).cursor_node
        if node is not None and node.data:
            self.show_blast(node.data)

    def action_clear(self) -> None:
        if self.blast_key is None:
            return
        self.blast_key = None
        self.query_one(ComponentTree).mark(None)
        self.query_one("#blast-text", Pane).show(BLAST_HELP)
        self.query_one(TabbedContent).active = "details"

    def action_tab(self, tab: str) -> None:
        """Show a tab; the keys then move through its table, or through the tree."""
        self.query_one(TabbedContent).active = tab
        self.query_one(TAB_FOCUS.get(tab, "#tree")).focus()

    def show(self, key: str, blast: bool = False) -> None:
        tree = self.query_one(ComponentTree)
        tree.show(key)
        tree.focus()
        if blast:
            self.show_blast(key)

    def commands(self) -> list[Command]:
        out = []
        for item in (i for top in self.view.tree() for i in top.walk()):
            if item.kind in ("tier", "section", "namespace"):
                continue
            out.append(Command(f"Show {item.key}", partial(self.show, item.key),
                               "Move to it in the tree and read its details"))
            out.append(Command(f"Blast radius of {item.key}", partial(self.show, item.key, True),
                               "What its loss takes down, marked in the tree",
                               discover=item.kind in ("node", "store")))
        return out

    # -------------------------------------------------------------- replica

    @work(thread=True, exclusive=True, group="replica")
    def _ask_replica(self) -> None:
        replica = self.app.replica  # type: ignore[attr-defined]
        rows, summary = replica.ask()
        self.app.call_from_thread(self._replica_shown, rows, summary)

    def _replica_shown(self, rows: list[tuple[str, ...]], summary: str) -> None:
        table = self.query_one("#replica-nodes", DataTable)
        table.clear()
        for row in rows:
            table.add_row(*row)
        self.query_one("#replica-summary", Static).update(summary)
