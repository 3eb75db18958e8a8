"""The kind Cluster config (kind.x-k8s.io/v1alpha4): one kind node per topology node.

kind has no taint field: taints go through kubeadm patches
(InitConfiguration for the first control-plane node, JoinConfiguration for the
others: kind passes `kubeadmConfigPatches` through to kubeadm). kind names its nodes itself (`<cluster>-worker2`),
so each node carries `twin.eco2/node: <model name>` to map them back. The
gateway's NodePort is published with extraPortMappings on 127.0.0.1 only.
"""

from __future__ import annotations

from typing import Any

import yaml

from twin.model.topology import NodePool, NodeSpec, Taint, Topology

NODE_LABEL = "twin.eco2/node"
POOL_LABEL = "twin.eco2/pool"

NODE_IMAGES = {
    # kind v0.29.0 release images, by Kubernetes minor
    "1.33": "kindest/node:v1.33.1",
    "1.32": "kindest/node:v1.32.5",
    "1.31": "kindest/node:v1.31.9",
    "1.30": "kindest/node:v1.30.13",
}


def node_image(kubernetes_version: str) -> str:
    """The kind node image for the topology's Kubernetes minor (newest known if unknown)."""
    if kubernetes_version in NODE_IMAGES:
        return NODE_IMAGES[kubernetes_version]
    newest = max(NODE_IMAGES, key=lambda v: int(v.split(".")[1]))
    return NODE_IMAGES[newest]


def cluster_name(topo: Topology) -> str:
    """The kind cluster's name: `twin-` marks it as the twin's own."""
    return f"twin-{topo.cluster.name}-{topo.cluster.environment}"


def _taint_patch(kind: str, taints: list[Taint]) -> str:
    doc = {
        "kind": kind,
        "nodeRegistration": {
            "taints": [{"key": t.key, "value": t.value, "effect": t.effect} for t in taints]
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _node(
    topo: Topology, pool: NodePool, node: NodeSpec, first_control_plane: bool, image: str
) -> dict[str, Any]:
    labels = {**pool.labels, **node.labels, NODE_LABEL: node.name, POOL_LABEL: pool.name}
    if node.zone:
        labels["topology.kubernetes.io/zone"] = node.zone
    entry: dict[str, Any] = {"role": pool.role, "image": image, "labels": labels}
    if pool.taints:
        kind = "InitConfiguration" if first_control_plane else "JoinConfiguration"
        entry["kubeadmConfigPatches"] = [_taint_patch(kind, pool.taints)]
    if first_control_plane and topo.mesh is not None:
        port = topo.mesh.gateway.node_port
        entry["extraPortMappings"] = [
            {"containerPort": port, "hostPort": port, "listenAddress": "127.0.0.1", "protocol": "TCP"}
        ]
    return entry


def render(topo: Topology, image: str | None = None) -> dict[str, Any]:
    image = image or node_image(topo.cluster.kubernetes_version)
    nodes: list[dict[str, Any]] = []
    first = True
    # control-plane nodes first: kind initialises the cluster on the first node
    ordered = sorted(topo.nodes, key=lambda pn: pn[0].role != "control-plane")
    if not ordered or ordered[0][0].role != "control-plane":
        nodes.append({"role": "control-plane", "image": image, "labels": {NODE_LABEL: "control-plane"}})
        if topo.mesh is not None:
            port = topo.mesh.gateway.node_port
            nodes[0]["extraPortMappings"] = [{"containerPort": port, "hostPort": port,
                                              "listenAddress": "127.0.0.1", "protocol": "TCP"}]
        first = False
    for pool, node in ordered:
        is_first = first and pool.role == "control-plane"
        nodes.append(_node(topo, pool, node, is_first, image))
        if is_first:
            first = False
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": cluster_name(topo),
        "networking": {"apiServerAddress": "127.0.0.1"},
        "nodes": nodes,
    }
