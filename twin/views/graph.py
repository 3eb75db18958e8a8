"""The dependency graph, call paths and blast radius as text lines, JSON and DOT.

What `twin graph` prints and the TUI will show: plain strings and dicts, from
twin.graph's results; nothing here decides what depends on what.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from twin.graph.blast import OUTCOMES, BlastRadius
from twin.graph.paths import Hop
from twin.model.topology import Topology


def render_path(hop: Hop, indent: int = 0) -> list[str]:
    """A call path as indented text lines."""
    bits = [hop.component] if hop.component not in ("branch", "fallback") else [hop.how]
    if hop.how not in ("route", "branch", "fallback"):
        bits.append(hop.how)
    if not hop.sync and hop.how != "consume":
        bits.append("(async)")
    if hop.on_failure != "fail":
        bits.append(f"[on failure: {hop.on_failure}]")
    if hop.note:
        bits.append(f"- {hop.note}")
    lines = ["  " * indent + " ".join(b for b in bits if b)]
    for child in hop.children:
        lines += render_path(child, indent + 1)
    return lines


def render_blast(br: BlastRadius, topo: Topology) -> list[str]:
    """The blast radius as text lines for a terminal."""
    t = br.target
    lines = [f"Blast radius of {t.key}", ""]
    lines.append("Down:")
    for comp, why in br.down.items():
        lines.append(f"  {comp}: {why}")
    if br.reduced:
        lines.append("Reduced (some pods lost, still serving):")
        for comp, why in br.reduced.items():
            lines.append(f"  {comp}: {why}")
    if br.pods:
        lines.append("Pods on the lost node(s):")
        for p in br.pods:
            on = f"on {p['node']}" if p["node"] else "(Pending)"
            lines.append(f"  {p['pod']} ({p['component']}, {p['controller']}) {on}: "
                         f"{p['fate']}")
    headings = {
        "fail": "Routes that FAIL",
        "lost": "Routes accepted, result LOST",
        "degrade": "Routes that DEGRADE",
        "delayed": "Routes accepted, result DELAYED",
    }
    for outcome in OUTCOMES:
        names = br.routes(outcome)
        lines.append("")
        lines.append(f"{headings[outcome]}: {', '.join(names) if names else 'none'}")
        for route in names:
            for i in br.impacts:
                if i.route != route:
                    continue
                pct = f"{100 * i.share:g}% of requests"
                until = f"; {i.until}" if i.until else ""
                lines.append(f"  {route}: {i.outcome} ({pct}): {i.cause}, {i.where}{until}")
    lines.append("")
    lines.append(f"Routes unaffected: {', '.join(br.unaffected) if br.unaffected else 'none'}")
    lines.append("")
    if br.stores_lost:
        lines.append("Data stores that lose ALL their copies:")
        for s in br.stores_lost:
            lines.append(f"  store/{s.store}: all {s.copies} cop{'y' if s.copies == 1 else 'ies'}; "
                         f"{s.data}")
    elif t.kind in ("node", "pool"):
        lines.append("Data stores that lose ALL their copies: none")
    return lines


_SHAPES = {"route": "oval", "service": "box", "worker": "box", "store": "cylinder",
           "queue": "cds", "external": "octagon", "node": "box3d", "pool": "folder",
           "gateway": "diamond", "platform": "component", "daemonset": "component"}


def to_dot(g: nx.DiGraph, blast: BlastRadius | None = None) -> str:
    """Graphviz DOT; with a blast radius, down components red, hurt routes by outcome."""
    colors = {"fail": "red", "lost": "firebrick", "degrade": "orange", "delayed": "gold"}
    lines = ["digraph eco2 {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for n, data in g.nodes(data=True):
        attrs = [f'shape={_SHAPES.get(data.get("kind", ""), "box")}']
        if blast is not None:
            if n in blast.down:
                attrs.append('style=filled, fillcolor="red"')
            elif n in blast.reduced:
                attrs.append('style=filled, fillcolor="pink"')
            elif data.get("kind") == "route":
                v = blast.verdict(data["name"])
                if v is not None:
                    attrs.append(f'style=filled, fillcolor="{colors[v.outcome]}"')
        lines.append(f'  "{n}" [{", ".join(attrs)}];')
    for u, v, data in g.edges(data=True):
        lines.append(f'  "{u}" -> "{v}" [label="{data.get("how", "")}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(g: nx.DiGraph) -> dict[str, Any]:
    return {
        "nodes": [{"id": n, **d} for n, d in g.nodes(data=True)],
        "edges": [{"from": u, "to": v, **d} for u, v, d in g.edges(data=True)],
    }


def render_graph(g: nx.DiGraph) -> list[str]:
    """Each component and what it needs, one line each."""
    lines = []
    for n in g.nodes:
        needs = [f"{v} ({d['how']})" for _, v, d in g.out_edges(n, data=True)]
        if needs:
            lines.append(f"{n} -> " + ", ".join(needs))
    return lines


def path_dot(hop: Hop) -> str:
    """A route's call path as a DOT tree (asynchronous hops dashed)."""
    lines = ["digraph path {", "  rankdir=LR;"]
    counter = iter(range(10**6))

    def visit(h: Hop) -> str:
        me = f"n{next(counter)}"
        label = h.component if h.component not in ("branch", "fallback") else h.note or h.how
        lines.append(f'  {me} [label="{label}"];')
        for child in h.children:
            other = visit(child)
            style = ", style=dashed" if not child.sync else ""
            lines.append(f'  {me} -> {other} [label="{child.how}"{style}];')
        return me

    visit(hop)
    lines.append("}")
    return "\n".join(lines) + "\n"
