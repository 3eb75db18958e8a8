"""domain-check.sh's rows (twin.views.domain) from the model and from the replica's objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.graph.pods import schedule
from twin.loading.files import load_topology
from twin.views.domain import POD_GROUPS, DomainView, domains
from twin.views.rows import LIVE, MODEL
from twin.views.workloads import PodRow, WorkloadRow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prod():  # noqa: ANN201
    return load_topology(ROOT / "topologies" / "eco2-prod.yaml")


def test_the_domains_are_the_namespaces_domain_labels(prod) -> None:  # noqa: ANN001
    assert domains(prod) == sorted({ns.domain for ns in prod.namespaces if ns.domain})
    assert "chat" in domains(prod) and "redis" in domains(prod)


def test_a_domain_groups_its_pods_by_tier_where_the_fit_put_them(prod) -> None:  # noqa: ANN001
    view = DomainView.from_model(prod, "chat")
    assert view.source == MODEL and view.namespaces == ["chat"]
    where = schedule(prod).where
    for group in POD_GROUPS:
        for pod in view.pods(group):
            assert pod.tier in group.tiers and pod.namespace == "chat"
            assert pod.node == where[pod.name]
    api = next(w for w in view.workloads if w.name == "chat-api")
    assert len(view.api_pods) == api.replicas == sum(api.versions.values())
    assert {p.version for p in view.api_pods} == set(api.versions)
    worker = next(w for w in view.workloads if w.name == "chat-worker")
    assert worker.consumer is not None and len(view.worker_pods) == worker.replicas


def test_a_domain_lists_its_services_and_what_its_objects_configure(prod) -> None:  # noqa: ANN001
    view = DomainView.from_model(prod, "chat")
    (svc,) = view.services
    assert svc.dns == "chat-api.chat.svc.cluster.local" and svc.ports == [str(prod.service("chat-api").port)]
    (vs,) = view.virtual_services
    weights = {(d.subset, d.weight) for h in vs.http for d in h.destinations}
    assert sum(w for _, w in weights) == 100
    config = view.config()
    assert config[0].startswith("chat-api: replicas ")
    assert any(line.startswith("VirtualService chat-vs: ") for line in config)
    rabbit = DomainView.from_model(prod, "rabbitmq")
    store = prod.store("rabbitmq")
    assert rabbit.services[0].ports == [str(store.port), str(store.management_port)]
    redis = DomainView.from_model(prod, "redis")
    (row,) = redis.stores
    assert (row.servers, row.sentinels, row.quorum) == (prod.store("redis").servers,
                                                        prod.store("redis").sentinel.sentinels,
                                                        prod.store("redis").sentinel.quorum)
    assert redis.other_pods and not redis.api_pods  # the store's pods, in the data tier


def test_a_workload_row_says_its_bounds() -> None:
    from twin.model.topology import Worker

    w = Worker.model_validate({"name": "w", "namespace": "n", "queue": "q", "replicas": 2,
                               "pdb": {"max_unavailable": 1}, "acks_late": True,
                               "clients": [{"store": "redis", "via": "sentinel", "pool": 3}]})
    row = WorkloadRow.of(w)
    assert row.pdb == {"max_unavailable": 1} and row.hpa is None and row.cpu_limit is None
    assert row.lines() == [
        "w: replicas 2; HPA off; PDB max_unavailable 1; requests 100m/128Mi; "
        "queue q, concurrency 4, prefetch x4, acks_late true",
        "  redis: via Sentinel, pool 3 per pod"]


def test_the_model_view_as_json(prod) -> None:  # noqa: ANN001
    data = json.loads(json.dumps(DomainView.from_model(prod, "chat").to_dict()))
    assert {"namespaces", "api_pods", "worker_pods", "other_pods", "workloads",
            "virtual_services"} <= set(data)
    assert "configmaps" not in data and "ready" not in data["api_pods"][0]
    assert data["api_pods"][0]["cpu"] > 0


def _pod(name: str, tier: str, ready: tuple[bool, ...], restarts: int = 0) -> dict:
    return {"metadata": {"name": name, "namespace": "chat",
                         "labels": {"tier": tier, "domain": "chat", "version": "v1"}},
            "spec": {"nodeName": "w1", "containers": [{"name": f"c{i}"} for i in range(len(ready))]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                       "containerStatuses": [{"name": f"c{i}", "ready": r, "restartCount": restarts}
                                             for i, r in enumerate(ready)]}}


def test_the_live_view_is_the_same_rows_and_its_json_what_domain_check_sh_lists() -> None:
    view = DomainView.from_live(
        "chat", {"api_pods": [_pod("a", "business-logic", (True, False), restarts=2)],
                 "worker_pods": [_pod("w", "worker", (True,))]},
        services=[{"metadata": {"name": "chat-api", "namespace": "chat"},
                   "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9",
                            "ports": [{"port": 8000, "protocol": "TCP"}]}}],
        configmaps=[{"metadata": {"name": "cm", "namespace": "chat"}, "data": {"a": "1", "b": "2"}}])
    assert view.source == LIVE and isinstance(view.api_pods[0], PodRow)
    a = view.api_pods[0]
    assert (a.ready, a.restarts, a.tier, a.node) == ("1/2", 4, "business-logic", "w1")
    data = view.to_dict()
    assert list(data) == ["domain", "api_pods", "worker_pods", "services", "configmaps"]
    assert list(data["api_pods"][0]) == ["name", "namespace", "ready", "status", "restarts", "node",
                                         "ip", "version", "containers"]
    assert data["services"] == [{"name": "chat-api", "namespace": "chat", "type": "ClusterIP",
                                 "cluster_ip": "10.96.0.9", "ports": ["8000/TCP"]}]
    assert data["configmaps"] == [{"name": "cm", "namespace": "chat", "data": 2}]
    assert view.config() == ["No resources found."]  # the replica's objects are not read back


def test_the_replica_is_asked_for_the_groups_domain_check_sh_lists() -> None:
    assert [g.key for g in POD_GROUPS if g.live] == ["api_pods", "worker_pods"]
    assert all(g.optional for g in POD_GROUPS if not g.live)
    api, _, other = POD_GROUPS
    assert api.selector("chat") == "domain=chat,tier=business-logic"
    assert other.selector("redis") == "domain=redis,tier in (integration,data)"
