"""`twin tui --live`: the replica's nodes beside the model's, asked through
twin.replica.live (the official client, never kubectl). Headless: the Topology
page calls `ask` from a thread worker every `every` seconds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.model.topology import Topology


class Replica:
    """The running replica of a topology (or the cluster a kubeconfig names)."""

    COLUMNS = ("node", "pool", "ready", "schedulable", "taints")
    every = 15.0

    def __init__(self, topo: Topology, kubeconfig: Path | None = None, context: str | None = None):
        self.topo = topo
        self.kubeconfig = kubeconfig
        self.context = context

    def status(self) -> dict[str, Any]:
        """cluster-status.sh of the replica; twin.replica.kind.CannotRun when it is not up."""
        from twin.replica.live import live_status

        return live_status(self.topo, kubeconfig=self.kubeconfig, context=self.context)

    def ask(self) -> tuple[list[tuple[str, ...]], str]:
        """(node rows, a summary line); a replica gone away is said in the summary."""
        from twin.replica.kind import CannotRun

        try:
            data = self.status()
        except CannotRun as e:
            return [], f"cannot ask the replica: {e.what}\n{e.how}"
        return rows(data), summary(data)


def rows(data: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(n["name"], str(n.get("pool") or "-"), "Ready" if n.get("ready") else "NotReady",
             "yes" if n.get("schedulable") else "cordoned", ", ".join(n.get("taints") or []) or "-")
            for n in data.get("nodes", [])]


def summary(data: dict[str, Any]) -> str:
    c = data.get("cluster", {})
    tiers = ", ".join(f"{t} {n}" for t, n in (data.get("pods_by_tier") or {}).items())
    return (f"{c.get('server', '?')} (Kubernetes {c.get('version', '?')}): "
            f"{len(data.get('namespaces', []))} ecoeco-backend namespaces; pods by tier: {tiers}")
