"""What every rendered object shares: labels, headers, quantities, host names.

Kept in one place so that the selectors of Services, PDBs, DestinationRule
subsets and NetworkPolicies always agree with the pod labels they select.
"""

from __future__ import annotations

from typing import Any

from twin.model.topology import PART_OF, Resources, Service, Topology, Worker, Workload
from twin.model.units import format_cpu, format_memory

REPLICA_ONLY = "twin.eco2/replica-only"
"""Label on objects the twin adds for the replica alone (not in the real cluster)."""
ADAPTED = "twin.eco2/adapted-for-replica"
"""Label on real objects changed to run on kind (gp3 StorageClass on local-path)."""
MANAGED_BY = {"app.kubernetes.io/managed-by": "eco2-twin"}
STANDIN_IMAGE = "eco2-twin/standin:0.1.0"
"""Tag (not `latest`) so that kubelet uses the image `kind load` put on the nodes."""
FIELD_MANAGER = "eco2-twin"


def header(
    api_version: str,
    kind: str,
    name: str,
    namespace: str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = {**MANAGED_BY, **(labels or {})}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def replica_only(labels: dict[str, str] | None = None) -> dict[str, str]:
    return {**(labels or {}), REPLICA_ONLY: "true"}


def tier_of(workload: Workload) -> str:
    """Pod tier as the architecture document's scripts select it."""
    if isinstance(workload, Worker):
        return "worker"
    if isinstance(workload, Service) and workload.role == "integration":
        return "integration"
    return "business-logic"


def workload_labels(topo: Topology, workload: Workload, version: str = "v1") -> dict[str, str]:
    """Pod and object labels: app, version, tier, domain, environment, part-of."""
    labels = {
        "app": workload.name,
        "version": version,
        "tier": tier_of(workload),
    }
    ns = topo.namespace(workload.namespace)
    if ns is not None and ns.domain:
        labels["domain"] = ns.domain
    labels["environment"] = topo.cluster.environment
    labels["app.kubernetes.io/part-of"] = PART_OF
    labels.update(workload.labels)
    return labels


def store_labels(topo: Topology, app: str, namespace: str) -> dict[str, str]:
    ns = topo.namespace(namespace)
    tier = ns.tier if ns is not None else "data"
    labels = {"app": app, "tier": tier, "environment": topo.cluster.environment,
              "app.kubernetes.io/part-of": PART_OF}
    if ns is not None and ns.domain:
        labels["domain"] = ns.domain
    return labels


def resources(res: Resources) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requests": {"cpu": format_cpu(res.requests.cpu), "memory": format_memory(res.requests.memory)}
    }
    if res.limits is not None:
        out["limits"] = {"cpu": format_cpu(res.limits.cpu), "memory": format_memory(res.limits.memory)}
    return out


def duration(seconds: float) -> str:
    """Go/Istio duration: `250ms`, `30s` (whole milliseconds, never floats like 0.5s)."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    return f"{ms // 1000}s"


def port_name(protocol: str, suffix: str) -> str:
    """Istio reads the protocol from the port name prefix (`http-`, `grpc-`, `tcp-`)."""
    return f"{protocol}-{suffix}"
