"""A small Eco2-shaped topology, in dev and prod flavours, until the real files land."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from twin.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]


def _base() -> dict[str, Any]:
    app_placement = {
        "node_selector": {"node-pool": "app"},
        "tolerations": [
            {"key": "workload-type", "operator": "Equal", "value": "api", "effect": "NoSchedule"}
        ],
    }
    data_placement = {"node_selector": {"node-pool": "data"}}
    return {
        "apiVersion": "twin.eco2/v1",
        "kind": "Topology",
        "cluster": {
            "name": "eco2",
            "kubernetes_version": "1.33",
            "environment": "dev",
            "network_policy": "loose",
            "storage_classes": [
                {"name": "gp3", "parameters": {"type": "gp3", "fsType": "ext4"}, "default": True}
            ],
        },
        "pools": [
            {"name": "control-plane", "role": "control-plane", "cpu": 2, "memory": "4Gi",
             "nodes": [{"name": "k8s-master"}]},
            {"name": "app", "labels": {"node-pool": "app"},
             "taints": [{"key": "workload-type", "value": "api", "effect": "NoSchedule"}],
             "cpu": 4, "memory": "8Gi", "nodes": [{"name": "k8s-worker-1"}, {"name": "k8s-worker-2"}]},
            {"name": "data", "labels": {"node-pool": "data"}, "cpu": 4, "memory": "16Gi",
             "nodes": [{"name": "k8s-storage"}]},
        ],
        "namespaces": [
            {"name": "chat", "tier": "business-logic", "domain": "chat"},
            {"name": "character", "tier": "business-logic", "domain": "character"},
            {"name": "redis", "tier": "data"},
            {"name": "postgres", "tier": "data"},
            {"name": "rabbitmq", "tier": "integration"},
            {"name": "istio-system", "tier": "platform", "sidecar_injection": False},
        ],
        "services": [
            {"name": "chat-api", "namespace": "chat", "port": 8000, "protocol": "http",
             "placement": app_placement,
             "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                           "limits": {"cpu": "500m", "memory": "256Mi"}},
             "pdb": {"min_available": 1},
             "clients": [{"store": "redis", "via": "service"}, {"store": "postgres"}],
             "versions": [{"name": "v1"}, {"name": "v2", "error_rate": 0.02}]},
            {"name": "character-api", "namespace": "character", "port": 50051, "protocol": "grpc",
             "placement": app_placement, "clients": [{"store": "postgres"}]},
        ],
        "workers": [
            {"name": "chat-worker", "namespace": "chat", "queue": "chat-tasks",
             "placement": app_placement, "clients": [{"store": "redis"}]},
        ],
        "mesh": {
            "gateway": {"name": "eco2-gateway", "node_port": 30080},
            "virtual_services": [
                {"name": "chat-vs", "namespace": "chat", "gateways": ["eco2-gateway"],
                 "http": [{"match": [{"uri_prefix": "/api/v1/chat"}], "timeout": "30s",
                           "retries": {"attempts": 2, "per_try_timeout": "10s"},
                           "route": [{"host": "chat-api", "subset": "v1", "weight": 90},
                                     {"host": "chat-api", "subset": "v2", "weight": 10}]}]},
                {"name": "character-vs", "namespace": "character", "gateways": ["eco2-gateway"],
                 "http": [{"match": [{"uri_prefix": "/api/v1/character"}],
                           "route": [{"host": "character-api"}]}]},
            ],
            "destination_rules": [
                {"name": "chat-api-dr", "namespace": "chat", "host": "chat-api",
                 "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                             {"name": "v2", "labels": {"version": "v2"}}],
                 "outlier_detection": {"consecutive_5xx_errors": 5},
                 "connection_pool": {"max_connections": 100, "http1_max_pending_requests": 50}},
            ],
        },
        "stores": [
            {"name": "redis", "kind": "redis", "namespace": "redis", "service_name": "redis-streams",
             "placement": data_placement},
            {"name": "postgres", "kind": "postgres", "namespace": "postgres",
             "placement": data_placement, "persistence": {"size": "5Gi", "storage_class": "gp3"}},
            {"name": "rabbitmq", "kind": "rabbitmq", "namespace": "rabbitmq",
             "placement": data_placement, "queues": [{"name": "chat-tasks"}]},
        ],
        "externals": [{"name": "llm", "latency": {"dist": "exponential", "mean": "2s"}}],
        "routes": [
            {"name": "chat", "entry": "chat-vs", "rate": "10/s", "steps": [
                {"call": "chat-api", "steps": [
                    {"store": "postgres", "op": "query"},
                    {"call": "character-api", "steps": [{"store": "postgres", "op": "read"}]},
                    {"publish": "chat-tasks", "steps": [
                        {"external": "llm"}, {"store": "redis", "op": "xadd"}]},
                ]},
            ]},
            {"name": "character", "entry": "character-vs", "rate": "5/s", "steps": [
                {"call": "character-api", "steps": [{"store": "postgres", "op": "read"}]}]},
        ],
    }


def _prod() -> dict[str, Any]:
    doc = _base()
    doc["cluster"]["environment"] = "prod"
    doc["cluster"]["network_policy"] = "strict"
    doc["stores"][0].update(
        {"mode": "sentinel", "servers": 3, "sentinel": {"sentinels": 3, "quorum": 2, "down_after": "5s"}}
    )
    doc["stores"][1].update({"mode": "ha", "replicas": 2})
    for svc in doc["services"]:
        svc["replicas"] = 2
        svc["hpa"] = {"min": 2, "max": 5, "target": 70}
    doc["services"][0]["clients"][0] = {"store": "redis", "via": "sentinel"}
    return doc


def small(env: str) -> Topology:
    doc = _prod() if env == "prod" else _base()
    return Topology.model_validate(copy.deepcopy(doc))


def eco2(env: str) -> Topology | None:
    """The real Eco2 topology, once its files exist (None until then)."""
    path = ROOT / "topologies" / f"eco2-{env}.yaml"
    if not path.exists():
        return None
    try:
        from twin.loading.files import load_topology
    except ImportError:
        return None
    return load_topology(path)
