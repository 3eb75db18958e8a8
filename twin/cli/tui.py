"""`twin tui`: the terminal UI (tui/, Textual), imported only when asked for.

The topology is loaded (and a bad file reported, exit 2) before the screen
opens; with --live the replica is asked once first, so that a replica that is
not up is exit 3 with what to do, not an empty screen.
"""

from __future__ import annotations

from typing import Annotated

import typer

from twin.cli import common
from twin.cli.model import ContextOpt, KubeconfigOpt, SetOpt, TopologyOpt, _exit, _load

LiveOpt = Annotated[bool, typer.Option(
    "--live", help="Beside the model, the running kind replica's nodes (a Replica tab, "
    "asked every 15 s).")]


def register(app: typer.Typer) -> None:
    app.command("tui")(tui)


def tui(topology: TopologyOpt = None, set_: SetOpt = None, live: LiveOpt = False,
        kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """The terminal UI: topology, blast radii, scenarios run live, what-if answers.

    Keys in the footer, Ctrl+P for every command, q quits."""
    path = topology or (common.DEV_TOPOLOGY if live else common.DEFAULT_TOPOLOGY)
    topo = _load(path, set_)
    try:
        from tui.app import run
    except ImportError as e:
        _exit(common.cannot_run(f"the terminal UI needs the Python package {e.name!r}",
                                f"install it: .venv/bin/pip install {e.name}"))
    from twin.views.tree import TopologyView

    replica = None
    if live:
        from tui.live import Replica
        from twin.result.backend import CannotRun

        replica = Replica(topo, kubeconfig, context)
        try:
            replica.status()
        except CannotRun as e:
            _exit(common.cannot_run(e.what, e.how))
    elif kubeconfig is not None or context is not None:
        from twin.model.errors import ModelError, Problem

        _exit(common.bad_input(ModelError([Problem(
            "--kubeconfig" if kubeconfig else "--context", 0, 0, "",
            "--kubeconfig and --context only apply with --live")])))
    run(TopologyView(topo, str(path)), common.shipped("scenarios"), replica, tuple(set_ or ()))
