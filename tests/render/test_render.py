"""Rendering the model: what each object carries, and that all of it passes
offline schema validation for the topology's Kubernetes version."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from sample_topology import eco2, small

from twin.model.topology import Topology
from twin.render.manifest_check import check_kind_config, check_objects
from twin.render.manifests import KIND_CONFIG, Rendered, render, write
from twin.render.meta import REPLICA_ONLY


def _find(r: Rendered, kind: str, name: str, ns: str | None = None) -> dict:
    for o in r.objects:
        if o["kind"] == kind and o["metadata"]["name"] == name and (
            ns is None or o["metadata"].get("namespace") == ns
        ):
            return o
    raise AssertionError(f"no {kind} {ns}/{name}")


def _target(step: dict) -> str:
    return next(k for k in ("call", "publish", "store", "external", "emit", "stream", "branch")
                if k in step)


def _topologies(env: str) -> list[Topology]:
    found = eco2(env)
    return [small(env)] + ([found] if found is not None else [])


# ------------------------------------------------------------------ validation


def test_every_manifest_passes_strict_schema_validation(env: str) -> None:
    topologies = _topologies(env)
    assert len(topologies) == 2, "the Eco2 topology files must render too"
    for topo in topologies:
        r = render(topo)
        report = check_objects(r.objects, topo.cluster.kubernetes_version)
        assert report.used == topo.cluster.kubernetes_version
        assert report.problems == []
        assert report.checked == len(r.objects) > 40
        assert check_kind_config(r.kind_config) == []


def test_strict_validation_rejects_unknown_fields_and_kinds_without_schema() -> None:
    r = render(small("dev"))
    deploy = copy.deepcopy(_find(r, "Deployment", "chat-api-v1"))
    deploy["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    gizmo = {"apiVersion": "apps/v1", "kind": "Gizmo", "metadata": {"name": "g"}}
    problems = check_objects([deploy, gizmo], "1.33").problems
    assert len(problems) == 2
    assert "imagePullPolice" in problems[0]
    assert "no schema for kind Gizmo with api version apps/v1" in problems[1]


def test_newer_kubernetes_than_any_schema_falls_back_with_a_note() -> None:
    report = check_objects([], "1.99")
    assert report.used is not None and report.used != "1.99"
    assert "no schema for Kubernetes 1.99" in report.note and report.used in report.note


def test_istio_objects_are_checked_against_istio_fields() -> None:
    r = render(small("prod"))
    vs = copy.deepcopy(_find(r, "VirtualService", "chat-vs"))
    vs["spec"]["http"][0]["retries"]["retryBudget"] = 3          # not an HTTPRetry field
    vs["spec"]["http"][0]["timeout"] = "ten seconds"
    dr = copy.deepcopy(_find(r, "DestinationRule", "chat-api-dr"))
    dr["spec"]["trafficPolicy"]["loadBalancer"]["simple"] = "FASTEST"
    pa = copy.deepcopy(_find(r, "PeerAuthentication", "default"))
    pa["spec"]["mtls"]["mode"] = "strict"
    problems = check_objects([vs, dr, pa], "1.33").problems
    assert any("retryBudget: unknown field of HTTPRetry" in p for p in problems)
    assert any("timeout: 'ten seconds' is not a duration" in p for p in problems)
    assert any("'FASTEST' is not one of" in p for p in problems)
    assert any("mtls.mode: 'strict'" in p for p in problems)
    assert len(problems) == 4


# ------------------------------------------------------------------ kind config


def test_kind_config_has_one_node_per_topology_node_with_pool_labels_and_taints() -> None:
    topo = small("prod")
    cfg = render(topo).kind_config
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4" and cfg["kind"] == "Cluster"
    nodes = cfg["nodes"]
    assert [n["labels"]["twin.eco2/node"] for n in nodes] == [
        "k8s-master", "k8s-worker-1", "k8s-worker-2", "k8s-storage"]
    assert [n["role"] for n in nodes] == ["control-plane", "worker", "worker", "worker"]
    app = nodes[1]
    assert app["labels"]["node-pool"] == "app"
    patch = yaml.safe_load(app["kubeadmConfigPatches"][0])
    assert patch["kind"] == "JoinConfiguration"
    assert patch["nodeRegistration"]["taints"] == [
        {"key": "workload-type", "value": "api", "effect": "NoSchedule"}]
    assert "kubeadmConfigPatches" not in nodes[3]  # the data pool has no taint
    (mapping,) = nodes[0]["extraPortMappings"]
    assert mapping == {"containerPort": 30080, "hostPort": 30080, "listenAddress": "127.0.0.1",
                       "protocol": "TCP"}
    assert all("extraPortMappings" not in n for n in nodes[1:])


def test_eco2_kind_config_follows_the_environment() -> None:
    dev, prod = eco2("dev"), eco2("prod")
    if dev is None or prod is None:
        pytest.skip("topologies/eco2-*.yaml not present")
    assert len(render(dev).kind_config["nodes"]) == 3
    prod_nodes = render(prod).kind_config["nodes"]
    assert len(prod_nodes) == 6
    cp = prod_nodes[0]
    assert yaml.safe_load(cp["kubeadmConfigPatches"][0])["kind"] == "InitConfiguration"


# ------------------------------------------------------------------- objects


def test_namespaces_carry_the_documents_labels_and_injection() -> None:
    r = render(small("prod"))
    chat = _find(r, "Namespace", "chat")["metadata"]["labels"]
    assert chat["app.kubernetes.io/part-of"] == "ecoeco-backend"
    assert (chat["tier"], chat["domain"], chat["environment"]) == ("business-logic", "chat", "prod")
    assert chat["istio-injection"] == "enabled"
    assert _find(r, "Namespace", "istio-system")["metadata"]["labels"]["istio-injection"] == "disabled"


def test_canary_versions_are_deployments_behind_one_service() -> None:
    r = render(small("dev"))
    v1, v2 = _find(r, "Deployment", "chat-api-v1", "chat"), _find(r, "Deployment", "chat-api-v2", "chat")
    labels = v2["spec"]["template"]["metadata"]["labels"]
    assert {k: labels[k] for k in ("app", "version", "tier", "domain", "environment")} == {
        "app": "chat-api", "version": "v2", "tier": "business-logic", "domain": "chat",
        "environment": "dev"}
    assert labels["app.kubernetes.io/part-of"] == "ecoeco-backend"
    assert v1["spec"]["selector"]["matchLabels"] == {"app": "chat-api", "version": "v1"}
    pod = v1["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"node-pool": "app"}
    assert pod["tolerations"] == [{"operator": "Equal", "key": "workload-type", "value": "api",
                                   "effect": "NoSchedule"}]
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                                                 "limits": {"cpu": "500m", "memory": "256Mi"}}
    svc = _find(r, "Service", "chat-api", "chat")
    assert svc["spec"]["selector"] == {"app": "chat-api"}
    assert svc["spec"]["ports"][0]["name"] == "http-api"
    grpc = _find(r, "Service", "character-api", "character")["spec"]["ports"][0]
    assert (grpc["name"], grpc["port"], grpc["appProtocol"]) == ("grpc-api", 50051, "grpc")
    assert _find(r, "PodDisruptionBudget", "chat-api")["spec"]["minAvailable"] == 1
    workers = [o for o in r.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "chat-worker"]
    assert workers[0]["spec"]["template"]["metadata"]["labels"]["tier"] == "worker"


def test_hpa_in_prod_only_and_it_owns_replicas() -> None:
    assert not [o for o in render(small("dev")).objects if o["kind"] == "HorizontalPodAutoscaler"]
    r = render(small("prod"))
    hpa = _find(r, "HorizontalPodAutoscaler", "character-api")
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 5
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert "replicas" not in _find(r, "Deployment", "character-api")["spec"]


def test_istio_routes_weights_timeouts_retries_subsets_and_mtls() -> None:
    r = render(small("prod"))
    vs = _find(r, "VirtualService", "chat-vs", "chat")["spec"]
    assert vs["gateways"] == ["istio-system/eco2-gateway"]
    http = vs["http"][0]
    assert [(d["destination"]["subset"], d["weight"]) for d in http["route"]] == [("v1", 90), ("v2", 10)]
    assert http["route"][0]["destination"]["host"] == "chat-api.chat.svc.cluster.local"
    assert http["timeout"] == "30s"
    assert http["retries"]["perTryTimeout"] == "10s" and http["retries"]["attempts"] == 2
    dr = _find(r, "DestinationRule", "chat-api-dr", "chat")["spec"]
    assert [s["name"] for s in dr["subsets"]] == ["v1", "v2"]
    assert dr["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 5
    assert dr["trafficPolicy"]["connectionPool"]["http"]["http1MaxPendingRequests"] == 50
    pa = _find(r, "PeerAuthentication", "default", "istio-system")
    assert pa["spec"] == {"mtls": {"mode": "STRICT"}}
    gw = _find(r, "Gateway", "eco2-gateway", "istio-system")
    assert gw["spec"]["selector"] == {"istio": "ingressgateway"}
    node_port = _find(r, "Service", "eco2-gateway-nodeport", "istio-system")
    assert node_port["spec"]["ports"][0]["nodePort"] == 30080


def test_redis_single_in_dev_and_sentinel_in_prod() -> None:
    dev = render(small("dev"))
    assert _find(dev, "StatefulSet", "redis", "redis")["spec"]["replicas"] == 1
    assert not [o for o in dev.objects if o["metadata"]["name"] == "redis-sentinel"]
    assert _find(dev, "Service", "redis-streams", "redis")["spec"]["selector"] == {"app": "redis"}
    prod = render(small("prod"))
    assert _find(prod, "StatefulSet", "redis", "redis")["spec"]["replicas"] == 3
    sentinel = _find(prod, "StatefulSet", "redis-sentinel", "redis")
    assert sentinel["spec"]["replicas"] == 3
    script = sentinel["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert ("sentinel monitor mymaster redis-0.redis-headless.redis.svc.cluster.local 6379 2"
            in script)
    assert "sentinel down-after-milliseconds mymaster 5000" in script
    # the store's Service stays on redis-0: it does not follow a failover
    assert _find(prod, "Service", "redis-streams")["spec"]["selector"][
        "statefulset.kubernetes.io/pod-name"] == "redis-0"
    pg = _find(prod, "StatefulSet", "postgres", "postgres")
    assert pg["spec"]["replicas"] == 2
    claim = pg["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"]["storage"] == "5Gi"


def test_gp3_maps_to_local_path_and_replica_only_objects_say_so() -> None:
    r = render(small("dev"))
    sc = _find(r, "StorageClass", "gp3")
    assert sc["provisioner"] == "rancher.io/local-path"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["metadata"]["annotations"]["twin.eco2/real-provisioner"] == "ebs.csi.aws.com"
    ms = [o for o in r.files["50-metrics-server.yaml"]]
    assert len(ms) == 9 and all(o["metadata"]["labels"][REPLICA_ONLY] == "true" for o in ms)
    standins = [o for o in r.objects if o["metadata"]["name"].endswith("-standin")]
    assert standins and all(o["metadata"]["labels"][REPLICA_ONLY] == "true" for o in standins)
    marked = {o["metadata"]["name"] for o in r.objects
              if o["metadata"]["labels"].get(REPLICA_ONLY) == "true"}
    assert _find(r, "Deployment", "chat-api-v1")["metadata"]["name"] not in marked
    assert "eco2-gateway-nodeport" in marked


def test_network_policies_loose_in_dev_strict_along_the_call_graph_in_prod() -> None:
    dev = [o for o in render(small("dev")).objects if o["kind"] == "NetworkPolicy"]
    assert {o["metadata"]["name"] for o in dev} == {"allow-all-ingress"}
    prod = render(small("prod"))
    policies = [o for o in prod.objects if o["kind"] == "NetworkPolicy"]
    denies = {o["metadata"]["namespace"] for o in policies if o["metadata"]["name"] == "default-deny-ingress"}
    assert denies == {"chat", "character", "redis", "postgres", "rabbitmq"}
    to_char = _find(prod, "NetworkPolicy", "allow-to-character-api", "character")["spec"]
    peers = [p["podSelector"]["matchLabels"] for p in to_char["ingress"][0]["from"]]
    assert peers == [{"app": "chat-api"}, {"istio": "ingressgateway"}]
    assert to_char["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 50051}]
    to_pg = _find(prod, "NetworkPolicy", "allow-to-postgres", "postgres")["spec"]
    apps = {p["podSelector"]["matchLabels"].get("app") for p in to_pg["ingress"][0]["from"]}
    assert apps == {"chat-api", "character-api"}  # chat-worker never touches postgres here
    sentinel = _find(prod, "NetworkPolicy", "allow-to-redis-sentinel", "redis")["spec"]
    assert sentinel["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 26379}]


def test_standin_config_follows_the_model() -> None:
    r = render(small("prod"))
    cm = _find(r, "ConfigMap", "chat-api-v2-standin", "chat")
    cfg = json.loads(cm["data"]["config.json"])
    assert (cfg["name"], cfg["version"], cfg["error_rate"], cfg["port"]) == ("chat-api", "v2", 0.02, 8000)
    steps = cfg["routes"]["chat"]["steps"]
    assert [_target(s) for s in steps] == ["store", "call", "publish"]
    assert steps[1]["call"] == "character-api.character.svc.cluster.local:50051"
    assert steps[1]["protocol"] == "grpc"
    assert cfg["stores"]["redis"] == {
        "kind": "redis", "via": "sentinel", "master_name": "mymaster",
        "sentinels": [["redis-sentinel.redis.svc.cluster.local", 26379]]}
    worker = json.loads(_find(r, "ConfigMap", "chat-worker-standin")["data"]["config.json"])
    assert worker["mode"] == "worker" and worker["queue"] == "chat-tasks"
    assert [_target(s) for s in worker["routes"]["chat"]["steps"]] == ["external", "store"]


# --------------------------------------------------------------------- output


def test_write_is_atomic_and_files_hold_only_cluster_objects(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    paths = write(render(small("prod")), out)
    assert paths[0].name == KIND_CONFIG and all(p.exists() for p in paths)
    for p in paths:
        for doc in yaml.safe_load_all(p.read_text()):
            group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
            assert group in {"", "apps", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io",
                             "rbac.authorization.k8s.io", "apiregistration.k8s.io",
                             "networking.istio.io", "security.istio.io", "kind.x-k8s.io"}
    before = {p.name: p.read_text() for p in out.iterdir()}

    import twin.render.manifests as render_mod

    calls = {"n": 0}
    real = render_mod.dump

    def failing(objs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(objs)

    monkeypatch.setattr(render_mod, "dump", failing)
    with pytest.raises(OSError):
        write(render(small("dev")), out)
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
