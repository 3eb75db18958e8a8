"""cluster-status.sh's rows (twin.views.status) from the model and from the replica's objects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from twin.graph.pods import pods as model_pods
from twin.graph.pods import schedule
from twin.loading.files import load_topology
from twin.views.rows import LIVE, cells
from twin.views.status import NODE_COLUMNS, TIER_ORDER, TIERS, ClusterStatus, NodeRow, live_node

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prod():  # noqa: ANN201
    return load_topology(ROOT / "topologies" / "eco2-prod.yaml")


def test_a_node_holds_its_pods_and_its_headroom(prod) -> None:  # noqa: ANN001
    view = ClusterStatus.from_model(prod, "eco2-prod.yaml")
    placed = schedule(prod)
    assert [n.name for n in view.nodes] == [n.name for n in placed.nodes]
    for node in view.nodes:
        assert {p.name for p in node.pods} == {p.name for p in placed.on(node.name)}
        assert all(p.node == node.name for p in node.pods)
        assert node.cpu_requested == pytest.approx(sum(p.cpu for p in node.pods))
        assert node.memory_requested == pytest.approx(sum(p.memory for p in node.pods))
        assert node.cpu_free == pytest.approx(node.cpu - node.cpu_requested)
        assert node.memory_free >= 0  # the fit never overfills a node
        assert "kubernetes.io/hostname" not in node.labels


def test_pods_by_tier_add_up_to_every_pod_placed_or_pending(prod) -> None:  # noqa: ANN001
    view = ClusterStatus.from_model(prod, "eco2-prod.yaml")
    assert list(view.pods_by_tier) == list(TIERS)
    placed = sum(len(n.pods) for n in view.nodes)
    assert sum(view.pods_by_tier.values()) + view.other_pods == placed + len(view.pending)
    apps = [p for p in model_pods(prod) if p.tier == "worker"]
    assert view.pods_by_tier["worker"] == len(apps)


def test_pods_with_no_room_are_pending() -> None:
    big = load_topology(ROOT / "topologies" / "eco2-prod.yaml", ["services.chat-api.replicas=40"])
    view = ClusterStatus.from_model(big, "x")
    assert "chat-api-v1-39" in view.pending and "chat-api-v1-0" not in view.pending
    assert not any(p.name in view.pending for n in view.nodes for p in n.pods)


def test_namespaces_by_tier_with_their_workloads(prod) -> None:  # noqa: ANN001
    view = ClusterStatus.from_model(prod, "eco2-prod.yaml")
    ranks = [TIER_ORDER.index(ns.tier) if ns.tier in TIER_ORDER else 99 for ns in view.namespaces]
    assert ranks == sorted(ranks)
    chat = next(ns for ns in view.namespaces if ns.name == "chat")
    assert chat.domain == "chat" and chat.sidecar and chat.part_of == "ecoeco-backend"
    assert {w.name for w in chat.workloads} == {w.name for w in prod.workloads if w.namespace == "chat"}
    api = next(w for w in chat.workloads if w.name == "chat-api")
    assert api.replicas == sum(api.versions.values()) and api.hpa is not None
    assert view.environments == ["prod"]


def test_the_model_view_as_json_holds_what_the_model_knows(prod) -> None:  # noqa: ANN001
    data = json.loads(json.dumps(ClusterStatus.from_model(prod, "eco2-prod.yaml").to_dict()))
    node = data["nodes"][0]
    assert {"cpu", "cpu_requested", "pods", "labels"} <= set(node)
    assert not {"ready", "internal_ip", "kubelet"} & set(node)  # only the replica can say
    assert "network_policy" not in data and data["usage"] is None
    assert data["cluster"]["region"] == "ap-northeast-2"


NODE = {"metadata": {"name": "twin-eco2-dev-worker", "labels": {
            "twin.eco2/node": "k8s-worker-1", "twin.eco2/pool": "app",
            "node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/app": ""}},
        "spec": {"unschedulable": True,
                 "taints": [{"key": "workload-type", "value": "api", "effect": "NoSchedule"},
                            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                  {"type": "Ready", "status": "True"}],
                   "addresses": [{"type": "Hostname", "address": "w"},
                                 {"type": "InternalIP", "address": "172.18.0.4"}],
                   "nodeInfo": {"kubeletVersion": "v1.33.1"}}}


def test_a_live_node_from_its_json() -> None:
    row = live_node(NODE)
    assert row.model_node == "k8s-worker-1" and row.pool == "app"  # the pool label's fallback
    assert row.roles == ["app", "worker"] and row.ready and not row.schedulable
    assert row.taints == ["workload-type=api:NoSchedule", "node.kubernetes.io/unschedulable=:NoSchedule"]
    assert row.internal_ip == "172.18.0.4" and row.kubelet == "v1.33.1"
    bare = live_node({"metadata": {"name": "new"}})  # a node that has reported nothing yet
    assert bare.ready is False and bare.schedulable and bare.kubelet is None and bare.taints == []


def test_the_live_view_is_the_same_rows_and_its_json_what_the_replica_said() -> None:
    usage = [{"metadata": {"name": "twin-eco2-dev-worker"}, "usage": {"cpu": "250m", "memory": "1Gi"}}]
    ns = {"metadata": {"name": "chat", "labels": {"tier": "business-logic", "domain": "chat",
                                                  "environment": "dev"}}, "status": {"phase": "Active"}}
    view = ClusterStatus.from_live({"server": "https://x", "version": "v1", "context": None}, [NODE], [ns],
                                   {"business-logic": 2}, usage)
    assert view.source == LIVE and isinstance(view.nodes[0], NodeRow)
    assert view.environments == ["dev"] and view.usage[0].cpu == "250m"
    data = view.to_dict()
    assert list(data) == ["cluster", "nodes", "namespaces", "pods_by_tier", "usage"]
    assert list(data["nodes"][0]) == ["name", "model_node", "pool", "roles", "ready", "schedulable",
                                      "taints", "internal_ip", "kubelet"]
    assert data["namespaces"] == [{"name": "chat", "tier": "business-logic", "domain": "chat",
                                   "environment": "dev", "status": "Active"}]
    assert data["usage"] == [{"name": "twin-eco2-dev-worker", "cpu": "250m", "memory": "1Gi"}]
    probed = ClusterStatus.from_live({}, [], [], {}, None, network_policy={"applicable": False})
    assert probed.to_dict()["network_policy"] == {"applicable": False} and probed.to_dict()["usage"] is None


def test_node_cells_say_requests_against_room() -> None:
    row = NodeRow("n", pool="app", role="worker", cpu=2.0, memory=4 * 2**30, cpu_requested=0.5,
                  memory_requested=2**30)
    assert cells(NODE_COLUMNS, row) == ["n", "app", "500m/2 25%", "1Gi/4Gi 25%", "0"]
    control = NodeRow("m", pool="master", role="control-plane", cpu=1.0, memory=2**30,
                      cpu_requested=0.0, memory_requested=0.0)
    assert cells(NODE_COLUMNS, control)[1] == "master (control-plane)"


def test_the_views_import_no_ui_and_no_kubernetes() -> None:
    code = ("import sys, twin.views.status, twin.views.domain; "
            "print('\\n'.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in out.stdout.split()}
    assert not loaded & {"rich", "typer", "textual", "tui", "kubernetes"}
    assert not {m for m in out.stdout.split() if m.startswith(("twin.cli", "twin.replica"))}
