"""Each fact of the architecture document, asserted on the loaded Eco2 topologies.

Source: shared/reference/eco2-cluster-architecture.md. One test per fact, so a
failure names the fact the topology no longer holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twin.graph.naming import dns_name
from twin.graph.placement import eligible_nodes, nodes
from twin.model.topology import PART_OF, Postgres, RabbitMQ, Redis, Topology

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"

BUSINESS = ["auth", "my", "scan", "character", "location", "image", "chat"]
APIS = ["auth-api", "chat-api", "scan-api", "image-api", "character-api", "location-api"]
WORKERS = ["chat-worker", "scan-worker", "character-worker"]


# ----------------------------------------------------------------- cluster


def test_self_managed_cluster_in_seoul_region(eco2: Topology) -> None:
    assert eco2.cluster.region == "ap-northeast-2"


def test_gitops_is_argocd_watching_develop(eco2: Topology) -> None:
    assert eco2.cluster.gitops.tool == "argocd"
    assert eco2.cluster.gitops.branch == "develop"


def test_kubernetes_version_is_the_stated_assumption(eco2: Topology) -> None:
    assert eco2.cluster.kubernetes_version == "1.33"


# --------------------------------------------------------------- namespaces


def test_business_logic_namespaces(eco2: Topology) -> None:
    tier = [n.name for n in eco2.namespaces if n.tier == "business-logic"]
    assert tier == BUSINESS


def test_business_namespaces_carry_their_domain_label(eco2: Topology) -> None:
    for name in BUSINESS:
        labels = eco2.namespace_labels(eco2.namespace(name))
        assert labels["domain"] == name
        assert labels["tier"] == "business-logic"


def test_data_tier_namespaces_are_postgres_and_redis(eco2: Topology) -> None:
    assert [n.name for n in eco2.namespaces if n.tier == "data"] == ["postgres", "redis"]


def test_rabbitmq_namespace_is_integration_tier_as_the_table_says(eco2: Topology) -> None:
    assert eco2.namespace("rabbitmq").tier == "integration"


def test_observability_namespaces(eco2: Topology) -> None:
    assert {n.name for n in eco2.namespaces if n.tier == "observability"} == {"prometheus", "grafana"}


def test_infrastructure_operator_namespaces(eco2: Topology) -> None:
    ours = {n.name for n in eco2.namespaces if n.tier == "infrastructure" and n.part_of}
    assert ours == {"platform-system", "data-system", "messaging-system"}


def test_every_project_namespace_is_part_of_ecoeco_backend(eco2: Topology) -> None:
    project = [n for n in eco2.namespaces if n.part_of]
    assert len(project) >= 16
    for ns in project:
        assert eco2.namespace_labels(ns)["app.kubernetes.io/part-of"] == PART_OF == "ecoeco-backend"


def test_system_namespaces_do_not_claim_the_part_of_label(eco2: Topology) -> None:
    for name in ("istio-system", "kube-system", "argocd"):
        assert "app.kubernetes.io/part-of" not in eco2.namespace_labels(eco2.namespace(name))


def test_environment_label_follows_the_environment(dev: Topology, prod: Topology) -> None:
    assert dev.namespace_labels(dev.namespace("chat"))["environment"] == "dev"
    assert prod.namespace_labels(prod.namespace("chat"))["environment"] == "prod"


def test_sidecars_are_injected_in_every_business_namespace(eco2: Topology) -> None:
    assert all(eco2.namespace(n).sidecar_injection for n in BUSINESS)


# ----------------------------------------------------------------- services


def test_business_logic_apis_and_their_namespaces(eco2: Topology) -> None:
    apis = {s.name: s.namespace for s in eco2.services if s.role == "api"}
    assert apis == {"auth-api": "auth", "chat-api": "chat", "scan-api": "scan",
                    "image-api": "image", "character-api": "character",
                    "location-api": "location"}


def test_chat_api_is_http_on_8000(eco2: Topology) -> None:
    s = eco2.service("chat-api")
    assert (s.protocol, s.port) == ("http", 8000)


@pytest.mark.parametrize("name", ["character-api", "location-api"])
def test_character_and_location_apis_are_grpc_on_50051(eco2: Topology, name: str) -> None:
    s = eco2.service(name)
    assert (s.protocol, s.port) == ("grpc", 50051)


def test_workers_live_in_their_domains(eco2: Topology) -> None:
    assert {w.name: w.namespace for w in eco2.workers} == {
        "chat-worker": "chat", "scan-worker": "scan", "character-worker": "character"}
    assert all(w.tier == "worker" for w in eco2.workers)


def test_workers_are_fed_by_rabbitmq(eco2: Topology) -> None:
    for w in eco2.workers:
        broker, _ = eco2.queue(w.queue)
        assert isinstance(broker, RabbitMQ)


def test_chat_worker_calls_the_llm_provider(eco2: Topology) -> None:
    assert eco2.external("llm") is not None
    chat = eco2.route("chat")
    publish = chat.steps[0].steps[2]
    assert publish.publish == eco2.worker("chat-worker").queue
    assert any(s.external == "llm" for s in publish.steps)


def test_integration_tier_event_router_and_sse_gateway(eco2: Topology) -> None:
    integration = {s.name for s in eco2.services if s.role == "integration"}
    assert integration == {"event-router", "sse-gateway"}
    for name in integration:
        assert any(c.store == "redis" for c in eco2.service(name).clients)


# ---------------------------------------------------------------- endpoints


@pytest.mark.parametrize(("name", "dns", "port"), [
    ("chat-api", "chat-api.chat.svc.cluster.local", 8000),
    ("character-api", "character-api.character.svc.cluster.local", 50051),
    ("location-api", "location-api.location.svc.cluster.local", 50051),
    ("redis", "redis-streams.redis.svc.cluster.local", 6379),
    ("postgres", "postgres.postgres.svc.cluster.local", 5432),
    ("rabbitmq", "rabbitmq.rabbitmq.svc.cluster.local", 5672),
])
def test_internal_endpoint_table(eco2: Topology, name: str, dns: str, port: int) -> None:
    assert dns_name(eco2, name) == dns
    component = eco2.service(name) or eco2.store(name)
    assert component.port == port


def test_rabbitmq_management_port_15672(eco2: Topology) -> None:
    assert eco2.store("rabbitmq").management_port == 15672


def test_store_kinds(eco2: Topology) -> None:
    assert isinstance(eco2.store("postgres"), Postgres)
    assert isinstance(eco2.store("redis"), Redis)
    assert isinstance(eco2.store("rabbitmq"), RabbitMQ)


# -------------------------------------------------------------- node pools


def test_app_pool_is_labelled_and_tainted_workload_type_api(eco2: Topology) -> None:
    app = next(p for p in eco2.pools if p.name == "app")
    assert app.labels["node-pool"] == "app"
    assert [(t.key, t.value, t.effect) for t in app.taints] == [("workload-type", "api", "NoSchedule")]
    assert app.nodes[0].name == "k8s-worker-1"


def test_storage_node_is_in_the_data_pool(eco2: Topology) -> None:
    data = next(p for p in eco2.pools if p.name == "data")
    assert data.labels["node-pool"] == "data"
    assert [n.name for n in data.nodes] == ["k8s-storage"]


def test_master_is_the_control_plane(eco2: Topology) -> None:
    cp = [p for p in eco2.pools if p.role == "control-plane"]
    assert [n.name for p in cp for n in p.nodes] == ["k8s-master"]


def test_api_and_worker_pods_use_the_documented_node_selector_pattern(eco2: Topology) -> None:
    for w in eco2.workloads:
        assert w.placement.node_selector == {"node-pool": "app"}
        tol = w.placement.tolerations
        assert [(t.key, t.operator, t.value, t.effect) for t in tol] == [
            ("workload-type", "Equal", "api", "NoSchedule")]
        assert {n.pool for n in eligible_nodes(eco2, w.placement)} == {"app"}


def test_data_stores_are_pinned_to_the_data_pool(eco2: Topology) -> None:
    for s in eco2.stores:
        assert [n.name for n in eligible_nodes(eco2, s.placement)] == ["k8s-storage"]


# --------------------------------------------------------------------- Istio


def test_gateway_eco2_gateway_in_istio_system(eco2: Topology) -> None:
    assert (eco2.mesh.gateway.name, eco2.mesh.gateway.namespace) == ("eco2-gateway", "istio-system")


def test_chat_vs_in_chat_splits_90_10_between_v1_and_v2(eco2: Topology) -> None:
    vs = next(v for v in eco2.mesh.virtual_services if v.name == "chat-vs")
    assert vs.namespace == "chat"
    assert "istio-system/eco2-gateway" in vs.gateways
    split = {(d.host, d.subset): d.weight for d in vs.http[0].route}
    assert split == {("chat-api", "v1"): 90, ("chat-api", "v2"): 10}


def test_chat_api_destination_rule_has_v1_and_v2_subsets(eco2: Topology) -> None:
    dr = next(d for d in eco2.mesh.destination_rules if d.host == "chat-api")
    assert {s.name: s.labels for s in dr.subsets} == {"v1": {"version": "v1"},
                                                       "v2": {"version": "v2"}}


def test_mesh_mtls_is_strict(eco2: Topology) -> None:
    assert eco2.mesh.mtls == "STRICT"


def test_platform_tier_components(eco2: Topology) -> None:
    names = {p.name for p in eco2.platform}
    assert {"istiod", "istio-ingressgateway", "argocd-server", "external-secrets",
            "prometheus-operator"} <= names


def test_gp3_is_the_default_storage_class(eco2: Topology) -> None:
    gp3 = next(c for c in eco2.cluster.storage_classes if c.name == "gp3")
    assert gp3.default and gp3.provisioner == "ebs.csi.aws.com"
    assert gp3.parameters == {"type": "gp3", "fsType": "ext4"}
    assert (gp3.volume_binding_mode, gp3.reclaim_policy) == ("WaitForFirstConsumer", "Delete")


# ---------------------------------------------------------------- dev / prod


def test_node_count_dev_3_prod_6(dev: Topology, prod: Topology) -> None:
    assert len(nodes(dev)) == 3
    assert len(nodes(prod)) >= 6


def test_redis_single_in_dev_sentinel_3_node_in_prod(dev: Topology, prod: Topology) -> None:
    assert dev.store("redis").mode == "single" and dev.store("redis").servers == 1
    r = prod.store("redis")
    assert r.mode == "sentinel" and r.servers == 3
    assert r.sentinel.sentinels == 3 and r.sentinel.quorum == 2


def test_prod_clients_reach_redis_through_sentinel(dev: Topology, prod: Topology) -> None:
    assert all(c.via == "service" for w in dev.workloads for c in w.clients)
    assert prod.service("chat-api").clients[1].store == "redis"
    assert {c.via for c in prod.service("chat-api").clients if c.store == "redis"} == {"sentinel"}


def test_postgres_single_in_dev_ha_in_prod(dev: Topology, prod: Topology) -> None:
    assert dev.store("postgres").mode == "single"
    assert prod.store("postgres").mode == "ha" and prod.store("postgres").replicas >= 2


def test_replicas_1_in_dev_2_to_3_in_prod(dev: Topology, prod: Topology) -> None:
    assert {w.replicas for w in dev.workloads} == {1}
    assert {w.replicas for w in prod.workloads} <= {2, 3}
    assert {w.replicas for w in prod.workloads} == {2, 3}


def test_hpa_off_in_dev_on_in_prod(dev: Topology, prod: Topology) -> None:
    assert all(w.hpa is None for w in dev.workloads)
    assert all(prod.service(n).hpa is not None for n in APIS)


def test_resource_limits_low_in_dev_high_in_prod(dev: Topology, prod: Topology) -> None:
    for w in dev.workloads:
        p = prod.workload(w.name)
        assert p.resources.limits.cpu > w.resources.limits.cpu
        assert p.resources.limits.memory >= w.resources.limits.memory


def test_network_policy_loose_in_dev_strict_in_prod(dev: Topology, prod: Topology) -> None:
    assert (dev.cluster.network_policy, prod.cluster.network_policy) == ("loose", "strict")


def test_environment_names(dev: Topology, prod: Topology) -> None:
    assert (dev.cluster.environment, prod.cluster.environment) == ("dev", "prod")


# ------------------------------------------------------------ what stays out


@pytest.mark.parametrize("path", sorted(TOPOLOGIES.rglob("*.yaml")), ids=lambda p: p.name)
def test_no_file_holds_the_real_master_ip_or_ssh_key(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "13.209.44.249" not in text
    assert "sesacthon" not in text and ".pem" not in text
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", text), "an IP address"
    assert "ssh -i" not in text
