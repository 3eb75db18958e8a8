"""Where a pod may run: taints, tolerations, nodeSelector and node affinity.

The one place this matching lives; the simulator's scheduler, the loader's
checks (`unplaceable`), the blast radius and the renderer all ask it.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.model.references import Finding
from twin.model.topology import NodePool, NodeRequirement, NodeSpec, Placement, Taint, Topology

NO_NODE = "can run on no node"
"""The phrase of every `unplaceable` finding (the loader drops them after a broken pool)."""


@dataclass(frozen=True)
class Node:
    """A node as the scheduler sees it: its labels, taints and allocatable room."""

    name: str
    pool: str
    role: str
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    cpu: float
    memory: float


def nodes(topology: Topology) -> list[Node]:
    return [node_of(pool, spec) for pool, spec in topology.nodes]


def node_of(pool: NodePool, spec: NodeSpec) -> Node:
    labels = {"kubernetes.io/hostname": spec.name, "node-pool": pool.name, **pool.labels, **spec.labels}
    if spec.zone:
        labels["topology.kubernetes.io/zone"] = spec.zone
    if pool.role == "control-plane":
        labels.setdefault("node-role.kubernetes.io/control-plane", "")
    return Node(
        name=spec.name,
        pool=pool.name,
        role=pool.role,
        labels=labels,
        taints=tuple(pool.taints),
        cpu=spec.cpu if spec.cpu is not None else pool.cpu,
        memory=spec.memory if spec.memory is not None else pool.memory,
    )


def tolerated(placement: Placement, node: Node, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> bool:
    """Every taint of these effects on the node is tolerated."""
    return all(
        any(t.tolerates(taint) for t in placement.tolerations)
        for taint in node.taints
        if taint.effect in effects
    )


def _requirement(req: NodeRequirement, labels: dict[str, str]) -> bool:
    if req.operator == "Exists":
        return req.key in labels
    if req.operator == "DoesNotExist":
        return req.key not in labels
    if req.operator == "In":
        return labels.get(req.key) in req.values
    return labels.get(req.key) not in req.values  # NotIn


def selected(placement: Placement, node: Node) -> bool:
    """nodeSelector and required node affinity both match the node's labels."""
    if any(node.labels.get(k) != v for k, v in placement.node_selector.items()):
        return False
    return all(_requirement(r, node.labels) for r in placement.node_affinity)


def eligible(placement: Placement, node: Node) -> bool:
    """The node passes the static filters (before resources and pod (anti-)affinity)."""
    return selected(placement, node) and tolerated(placement, node)


def eligible_nodes(topology: Topology, placement: Placement) -> list[Node]:
    return [n for n in nodes(topology) if eligible(placement, n)]


def why_not(placement: Placement, node: Node) -> str:
    """A sentence on why a pod cannot go on a node (empty if it can)."""
    missing = [f"{k}={v}" for k, v in placement.node_selector.items() if node.labels.get(k) != v]
    if missing:
        return f"node {node.name} lacks label {', '.join(missing)}"
    if not all(_requirement(r, node.labels) for r in placement.node_affinity):
        return f"node {node.name} fails the node affinity"
    untolerated = [
        f"{t.key}={t.value}:{t.effect}"
        for t in node.taints
        if t.effect in ("NoSchedule", "NoExecute")
        and not any(tol.tolerates(t) for tol in placement.tolerations)
    ]
    if untolerated:
        return f"node {node.name} has taint {', '.join(untolerated)} not tolerated"
    return ""


def unplaceable(topology: Topology) -> list[Finding]:
    """Workloads with replicas and stores that no node admits, as (location, message):
    a file that cannot be scheduled anywhere is bad input, not a simulation result."""
    all_nodes = nodes(topology)
    found: list[Finding] = []
    for key in ("services", "workers", "platform"):
        for i, w in enumerate(getattr(topology, key)):
            if w.replicas and not any(eligible(w.placement, n) for n in all_nodes):
                found.append(((key, i, "placement"),
                              f"{w.name} {NO_NODE}: its nodeSelector, affinity and tolerations "
                              "match no node whose taints it tolerates"))
    for i, s in enumerate(topology.stores):
        if not any(eligible(s.placement, n) for n in all_nodes):
            found.append((("stores", i, "placement"), f"{s.name} {NO_NODE}"))
    return found
