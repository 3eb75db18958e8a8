"""`twin tui --live`: the replica's nodes beside the model's, as twin.views.status rows
that twin.replica.live fills (the official client, never kubectl). Headless: the
Topology page calls `ask` from a thread worker every `every` seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.views.rows import Column, cells, text

LIVE_NODE_COLUMNS: tuple[Column, ...] = (
    ("node", lambda n: n.name),
    ("pool", lambda n: text(n.pool) or "-"),
    ("ready", lambda n: "Ready" if n.ready else "NotReady"),
    ("schedulable", lambda n: "yes" if n.schedulable else "cordoned"),
    ("taints", lambda n: ", ".join(n.taints) or "-"),
)


class Replica:
    """The running replica of a topology (or the cluster a kubeconfig names)."""

    COLUMNS = tuple(title for title, _ in LIVE_NODE_COLUMNS)
    every = 15.0

    def __init__(self, topo: Topology, kubeconfig: Path | None = None, context: str | None = None):
        self.topo = topo
        self.kubeconfig = kubeconfig
        self.context = context

    def status(self) -> Any:
        """cluster-status.sh of the replica (a ClusterStatus); twin.result.backend.CannotRun
        when it is not up."""
        from twin.replica.live import status_view

        return status_view(self.topo, kubeconfig=self.kubeconfig, context=self.context)

    def ask(self) -> tuple[list[list[str]], str]:
        """(node rows, a summary line); a replica gone away is said in the summary."""
        from twin.result.backend import CannotRun

        try:
            status = self.status()
        except CannotRun as e:
            return [], f"cannot ask the replica: {e.what}\n{e.how}"
        return [cells(LIVE_NODE_COLUMNS, n) for n in status.nodes], summary(status)


def summary(status: Any) -> str:
    c = status.cluster
    tiers = ", ".join(f"{t} {n}" for t, n in status.pods_by_tier.items())
    return (f"{c.get('server', '?')} (Kubernetes {c.get('version', '?')}): "
            f"{len(status.namespaces)} ecoeco-backend namespaces; pods by tier: {tiers}")
