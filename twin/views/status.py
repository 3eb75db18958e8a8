"""The architecture document's cluster-status.sh as rows: cluster info, nodes
with their pods and headroom, namespaces by tier, pods per tier, node usage.

`ClusterStatus.from_model` reads a topology (pods placed by the graph's
deterministic fit); `ClusterStatus.from_live` reads the Kubernetes objects the
replica answered, as plain JSON (twin.replica.live asks for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.graph.pods import schedule
from twin.model.topology import PART_OF, Topology
from twin.model.units import format_cpu, format_memory
from twin.views.rows import LIVE, MODEL, Column, Source, record, seen, text, unrecorded
from twin.views.workloads import PodRow, WorkloadRow, model_pod, workloads_in

TIERS = ("business-logic", "worker", "integration", "data")
"""The tiers cluster-status.sh counts pods of."""
TIER_ORDER = (*TIERS, "observability", "infrastructure", "platform")
"""The order namespaces are listed in: the script's tiers first."""
PART_OF_SELECTOR = f"app.kubernetes.io/part-of={PART_OF}"
"""The label selector cluster-status.sh finds the backend's namespaces by."""
PLACEMENT_NOTE = ("Pods placed by a deterministic fit (selectors, taints, requests; spread a "
                  "workload's pods, then least requested CPU): an approximation of kube-scheduler.")
HIDDEN_NODE_LABELS = ("kubernetes.io/hostname", "node-role.kubernetes.io/control-plane")
"""Labels every node (or its role) has by itself: not worth a line."""


@dataclass
class NodeRow:
    """One node: pool and taints; on the model its room, what its pods request and
    which they are (DaemonSets' included); live its state."""

    name: str
    model_node: str | None = seen(LIVE)  # the topology's node a replica node plays
    pool: str | None = None
    role: str | None = seen(MODEL)
    roles: list[str] = seen(LIVE, factory=list)
    ready: bool | None = seen(LIVE)
    schedulable: bool | None = seen(LIVE)
    taints: list[str] = field(default_factory=list)
    internal_ip: str | None = seen(LIVE)
    kubelet: str | None = seen(LIVE)
    labels: dict[str, str] = seen(MODEL, factory=dict)  # but HIDDEN_NODE_LABELS
    cpu: float | None = seen(MODEL)  # allocatable
    memory: float | None = seen(MODEL)
    cpu_requested: float | None = seen(MODEL)
    memory_requested: float | None = seen(MODEL)
    pods: list[PodRow] = seen(MODEL, factory=list)

    @property
    def cpu_free(self) -> float | None:
        return None if self.cpu is None or self.cpu_requested is None else self.cpu - self.cpu_requested

    @property
    def memory_free(self) -> float | None:
        if self.memory is None or self.memory_requested is None:
            return None
        return self.memory - self.memory_requested


@dataclass
class NamespaceRow:
    name: str
    tier: str | None = None
    domain: str | None = None
    environment: str | None = None
    status: str | None = seen(LIVE)  # the namespace's phase
    part_of: str | None = seen(MODEL)
    sidecar: bool | None = seen(MODEL)  # Istio sidecar injection
    workloads: list[WorkloadRow] = seen(MODEL, factory=list)


@dataclass
class UsageRow:
    """A node's usage as metrics.k8s.io reports it (quantities as the server writes them)."""

    name: str
    cpu: str
    memory: str


@dataclass
class ClusterStatus:
    """cluster-status.sh's sections; `source` says who filled them."""

    source: Source = unrecorded()
    cluster: dict[str, str | None] = field(default_factory=dict)
    nodes: list[NodeRow] = field(default_factory=list)
    namespaces: list[NamespaceRow] = field(default_factory=list)
    pods_by_tier: dict[str, int] = field(default_factory=dict)
    usage: list[UsageRow] | None = None  # None: metrics not available
    other_pods: int | None = seen(MODEL)  # platform, observability and DaemonSet pods
    pending: list[str] = seen(MODEL, factory=list)  # pods with no node that has room
    placement: str | None = seen(MODEL)  # how pods were placed, when the model placed them
    network_policy: dict[str, Any] | None = seen(LIVE)  # the probe's answer, when asked

    @property
    def environments(self) -> list[str]:
        """The environment labels of the namespaces that have one (the cluster's, normally one)."""
        return sorted({ns.environment for ns in self.namespaces if ns.environment is not None})

    def to_dict(self) -> dict[str, Any]:
        out = record(self, self.source)
        if out.get("network_policy", True) is None:  # not probed
            del out["network_policy"]
        return out

    @classmethod
    def from_model(cls, topology: Topology, path: str) -> ClusterStatus:
        """The model's view: its cluster, its nodes with the pods the fit places on them."""
        c, mesh = topology.cluster, topology.mesh
        placed = schedule(topology)
        cluster: dict[str, str | None] = {
            "cluster": c.name, "environment": c.environment, "region": c.region,
            "kubernetes": f"{c.kubernetes_version} (self-managed)",
            "gitops": f"{c.gitops.tool}, branch {c.gitops.branch}",
            "network policy": c.network_policy,
            "mesh": f"Istio, mTLS {mesh.mtls}, gateway {mesh.gateway.namespace}/{mesh.gateway.name}"
                    if mesh else "none",
            "source": path,
        }
        nodes = []
        for n in placed.nodes:
            cpu, memory = placed.requested[n.name]
            nodes.append(NodeRow(
                name=n.name, pool=n.pool, role=n.role,
                taints=[f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in n.taints],
                labels={k: v for k, v in n.labels.items() if k not in HIDDEN_NODE_LABELS},
                cpu=n.cpu, memory=n.memory, cpu_requested=cpu, memory_requested=memory,
                pods=[model_pod(p, n.name) for p in placed.on(n.name)]))
        order = {tier: i for i, tier in enumerate(TIER_ORDER)}
        namespaces = []
        for ns in sorted(topology.namespaces, key=lambda ns: order.get(ns.tier, 99)):
            labels = topology.namespace_labels(ns)
            namespaces.append(NamespaceRow(
                name=ns.name, tier=labels.get("tier", ns.tier), domain=labels.get("domain"),
                environment=labels.get("environment"),
                part_of=labels.get("app.kubernetes.io/part-of"), sidecar=ns.sidecar_injection,
                workloads=workloads_in(topology, {ns.name})))
        tiers: dict[str, int] = {}
        for pod in placed.pods.values():
            tiers[pod.tier] = tiers.get(pod.tier, 0) + 1
        return cls(MODEL, cluster, nodes, namespaces,
                   pods_by_tier={tier: tiers.get(tier, 0) for tier in TIERS},
                   other_pods=sum(v for k, v in tiers.items() if k not in TIERS),
                   pending=[p.name for p in placed.pending], placement=PLACEMENT_NOTE)

    @classmethod
    def from_live(cls, cluster: dict[str, str | None], nodes: list[dict[str, Any]],
                  namespaces: list[dict[str, Any]], pods_by_tier: dict[str, int],
                  usage: list[dict[str, Any]] | None,
                  network_policy: dict[str, Any] | None = None) -> ClusterStatus:
        """The replica's view from its objects as JSON (Node, Namespace, metrics.k8s.io
        NodeMetrics); `pods_by_tier` counted by the tier label."""
        return cls(LIVE, cluster, [live_node(n) for n in nodes],
                   [live_namespace(ns) for ns in namespaces], pods_by_tier,
                   None if usage is None else [UsageRow(m["metadata"]["name"], m["usage"]["cpu"],
                                                        m["usage"]["memory"]) for m in usage],
                   network_policy=network_policy)


def live_node(node: dict[str, Any]) -> NodeRow:
    """A Node object as JSON as a row."""
    meta, spec, status = node.get("metadata", {}), node.get("spec") or {}, node.get("status") or {}
    labels = meta.get("labels") or {}
    return NodeRow(
        meta["name"], model_node=labels.get("twin.eco2/node"),
        pool=labels.get("node-pool") or labels.get("twin.eco2/pool"),
        roles=sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")),
        ready=next((c.get("status") == "True" for c in status.get("conditions") or []
                    if c.get("type") == "Ready"), False),
        schedulable=not spec.get("unschedulable"),
        # key=value:effect, `=` kept when the value is empty (the model's rows drop it, as
        # kubectl does): both as these views have always printed them
        taints=[f"{t['key']}={t.get('value') or ''}:{t['effect']}" for t in spec.get("taints") or []],
        internal_ip=next((a["address"] for a in status.get("addresses") or []
                          if a.get("type") == "InternalIP"), None),
        kubelet=(status.get("nodeInfo") or {}).get("kubeletVersion"))


def live_namespace(ns: dict[str, Any]) -> NamespaceRow:
    labels = ns.get("metadata", {}).get("labels") or {}
    return NamespaceRow(ns["metadata"]["name"], tier=labels.get("tier"), domain=labels.get("domain"),
                        environment=labels.get("environment"),
                        status=(ns.get("status") or {}).get("phase"))


# ------------------------------------------------------------------ as text


def _pool(n: NodeRow) -> str:
    return text(n.pool) if n.role in ("worker", n.pool, None) else f"{n.pool} ({n.role})"


def _share(used: float | None, room: float | None, fmt: Any) -> str:
    if used is None or room is None:
        return ""
    return f"{fmt(used)}/{fmt(room)} {100 * used / room:.0f}%"


NODE_COLUMNS: tuple[Column, ...] = (
    ("node", lambda n: n.name),
    ("pool", _pool),
    ("CPU requested", lambda n: _share(n.cpu_requested, n.cpu, format_cpu)),
    ("memory requested", lambda n: _share(n.memory_requested, n.memory, format_memory)),
    ("pods", lambda n: str(len(n.pods))),
)
"""The model's node table: each node's room, what its pods request, how many."""

NAMESPACE_COLUMNS: tuple[Column, ...] = (
    ("namespace", lambda ns: ns.name),
    ("tier", lambda ns: text(ns.tier)),
    ("domain", lambda ns: ns.domain or "-"),
    ("part-of", lambda ns: ns.part_of or "-"),
    ("sidecar", lambda ns: "injected" if ns.sidecar else "-"),
)


def node_groups(nodes: list[NodeRow]) -> list[tuple[str, str, list[str]]]:
    """(`labels` or `taints`, the value, the nodes that have it): one line each,
    as the nodes' labels and taints are mostly a pool's."""
    out: list[tuple[str, str, list[str]]] = []
    for title, value_of in (("labels", lambda n: ",".join(f"{k}={v}" for k, v in n.labels.items())),
                            ("taints", lambda n: ",".join(n.taints))):
        groups: dict[str, list[str]] = {}
        for n in nodes:
            groups.setdefault(value_of(n), []).append(n.name)
        out += [(title, value, names) for value, names in groups.items() if value]
    return out
