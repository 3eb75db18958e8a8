"""Live status views and faults through the client, against the fake API server."""

from __future__ import annotations

import pytest
from sample_topology import small

from twin.replica import faults
from twin.replica.live import live_domain, live_status

NODE_INFO = {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://2.1",
             "kernelVersion": "6.8", "kubeProxyVersion": "v1.33.1", "kubeletVersion": "v1.33.1",
             "machineID": "m", "operatingSystem": "linux", "osImage": "Debian", "systemUUID": "u"}


def _node(name: str, model: str, pool: str | None, taints: list | None = None) -> dict:
    labels = {"twin.eco2/node": model, "kubernetes.io/hostname": name}
    if pool:
        labels["node-pool"] = pool
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.3"}], "nodeInfo": NODE_INFO}}


def _pod(name: str, ns: str, labels: dict, node: str, phase: str = "Running", owner: str | None = None) -> dict:
    meta = {"name": name, "namespace": ns, "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner, "name": "x", "uid": "u"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "i"},
                                                      {"name": "istio-proxy", "image": "p"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5",
                       "containerStatuses": [
                           {"name": "app", "ready": True, "restartCount": 2, "image": "i", "imageID": ""},
                           {"name": "istio-proxy", "ready": True, "restartCount": 0, "image": "p",
                            "imageID": ""}]}}


@pytest.fixture
def cluster(fake):
    api = fake.api
    api.add(_node("twin-eco2-dev-control-plane", "k8s-master", None,
                  [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]))
    api.add(_node("twin-eco2-dev-worker", "k8s-worker-1", "app"))
    api.add(_node("twin-eco2-dev-worker2", "k8s-storage", "data"))
    for ns, labels in [("chat", {"tier": "business-logic", "domain": "chat"}),
                       ("redis", {"tier": "data", "domain": "redis"})]:
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {
            **labels, "app.kubernetes.io/part-of": "ecoeco-backend", "environment": "dev"}},
            "status": {"phase": "Active"}})
    api.add(_pod("chat-api-v1-abc", "chat", {"app": "chat-api", "version": "v1", "tier": "business-logic",
                                            "domain": "chat"}, "twin-eco2-dev-worker", owner="ReplicaSet"))
    api.add(_pod("chat-api-v2-def", "chat", {"app": "chat-api", "version": "v2", "tier": "business-logic",
                                            "domain": "chat"}, "twin-eco2-dev-worker", owner="ReplicaSet"))
    api.add(_pod("chat-worker-ghi", "chat", {"app": "chat-worker", "tier": "worker", "domain": "chat"},
                 "twin-eco2-dev-worker", owner="ReplicaSet"))
    api.add(_pod("redis-0", "redis", {"app": "redis", "tier": "data"}, "twin-eco2-dev-worker2",
                 owner="StatefulSet"))
    api.add(_pod("kindnet-xyz", "kube-system", {"app": "kindnet"}, "twin-eco2-dev-worker", owner="DaemonSet"))
    api.add({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "chat-api", "namespace": "chat", "labels": {"domain": "chat"}},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
                 "ports": [{"name": "http-api", "port": 8000, "protocol": "TCP"}]}})
    api.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "chat-api-v1-standin", "namespace": "chat", "labels": {"domain": "chat"}},
        "data": {"config.json": "{}"}})
    api.add({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "chat-api-v1", "namespace": "chat"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "chat-api"}},
                      "template": {"metadata": {"labels": {"app": "chat-api"}},
                                   "spec": {"containers": [{"name": "a", "image": "i"}]}}}})
    return fake


def test_live_status_is_cluster_status_sh(cluster, api) -> None:
    data = live_status(small("dev"), api=api)
    assert data["cluster"]["version"] == "v1.33.1-fake"
    nodes = {n["model_node"]: n for n in data["nodes"]}
    assert set(nodes) == {"k8s-master", "k8s-worker-1", "k8s-storage"}
    assert nodes["k8s-worker-1"]["pool"] == "app" and nodes["k8s-worker-1"]["ready"]
    assert nodes["k8s-master"]["taints"] == ["node-role.kubernetes.io/control-plane=:NoSchedule"]
    assert {n["name"]: n["tier"] for n in data["namespaces"]} == {"chat": "business-logic", "redis": "data"}
    assert data["pods_by_tier"] == {"business-logic": 2, "worker": 1, "integration": 0, "data": 1}
    assert data["usage"] is None          # metrics.k8s.io not served: "Metrics not available"
    gets = [r.path for r in cluster.api.requests if r.method == "GET"]
    assert "/api/v1/pods" in gets and "/api/v1/nodes" in gets


def test_live_domain_is_domain_check_sh(cluster, api) -> None:
    data = live_domain(small("dev"), "chat", api=api)
    assert [p["name"] for p in data["api_pods"]] == ["chat-api-v1-abc", "chat-api-v2-def"]
    assert data["api_pods"][0]["ready"] == "2/2" and data["api_pods"][0]["restarts"] == 2
    assert data["api_pods"][1]["version"] == "v2"
    assert [p["name"] for p in data["worker_pods"]] == ["chat-worker-ghi"]
    assert data["services"] == [{"name": "chat-api", "namespace": "chat", "type": "ClusterIP",
                                 "cluster_ip": "10.96.0.10", "ports": ["8000/TCP"]}]
    assert data["configmaps"] == [{"name": "chat-api-v1-standin", "namespace": "chat", "data": 1}]


def test_live_views_say_when_no_replica_is_up(tmp_path, monkeypatch) -> None:
    from twin.replica.kind import CannotRun

    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path))
    with pytest.raises(CannotRun, match="no replica of twin-eco2-dev is up"):
        live_status(small("dev"))


def test_kill_pods_deletes_with_no_grace(cluster, api) -> None:
    done = faults.kill_pods(api, small("dev"), "chat-api", count=2)
    assert [d.target for d in done] == ["chat/chat-api-v1-abc", "chat/chat-api-v2-def"]
    deletes = [r for r in cluster.api.requests if r.method == "DELETE"]
    assert [r.path for r in deletes] == ["/api/v1/namespaces/chat/pods/chat-api-v1-abc",
                                         "/api/v1/namespaces/chat/pods/chat-api-v2-def"]
    assert all(r.query["gracePeriodSeconds"] == ["0"] for r in deletes)
    with pytest.raises(faults.FaultError, match="0 running pod"):
        faults.kill_pods(api, small("dev"), "chat-api")


def test_kill_redis_master_single(cluster, api) -> None:
    done = faults.kill_redis_master(api, small("dev"))
    assert done.target == "redis/redis-0" and done.action == "redis-master-crash"


def test_cordon_drain_and_scale(cluster, api) -> None:
    cluster.api.evict_refusals = 1           # a PodDisruptionBudget says no once
    done = faults.drain(api, "k8s-worker-1", timeout=10, interval=0.05)
    assert done.target == "twin-eco2-dev-worker" and done.detail == "3 pod(s) evicted"
    node = cluster.api.get("", "Node", "", "twin-eco2-dev-worker")
    assert node["spec"]["unschedulable"] is True
    evictions = [r.path for r in cluster.api.requests if r.method == "POST"]
    assert evictions.count("/api/v1/namespaces/chat/pods/chat-api-v1-abc/eviction") == 2
    assert not any("kindnet" in p for p in evictions)   # DaemonSet pods stay
    faults.scale(api, small("dev"), "chat-api", 3)
    scale = [r for r in cluster.api.requests if r.path.endswith("/scale")]
    assert scale[0].path == "/apis/apps/v1/namespaces/chat/deployments/chat-api-v1/scale"
    assert cluster.api.get("apps", "Deployment", "chat", "chat-api-v1")["spec"]["replicas"] == 3


@pytest.fixture
def replica(cluster, tmp_path, monkeypatch):
    """The fake API server as the twin's own replica, with quick drain retries; the
    gateway taken as answering (these tests are about drains, not load)."""
    from twin.replica import kind, kind_backend

    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr(kind_backend, "DRAIN_RETRY", 0.05)
    monkeypatch.setattr(kind_backend, "gateway_answers", lambda port: True)
    config = kind.kubeconfig_path("twin-eco2-dev")
    config.parent.mkdir(parents=True)
    cluster.kubeconfig(config, context="kind-twin-eco2-dev")
    return cluster


def test_kind_backend_drains_with_evictions_retrying_a_pdb_429_then_uncordons(replica) -> None:
    """A scenario's `drain` on the kind backend: cordon, evictions through the
    Eviction subresource (a PDB's 429 retried), uncordon when its `for` ends."""
    from twin.replica import kind_backend
    from twin.scenario.model import Scenario

    replica.api.evict_refusals = 1
    scn = Scenario.model_validate({
        "apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "drain", "duration": "1.5s",
        "load": {"scale": 0.01},
        "timeline": [{"id": "drain", "at": "0.1s", "action": "drain", "target": "node/k8s-worker-1",
                      "for": "0.8s"}]})
    run = kind_backend.KindBackend().run(scn, small("dev"), 1, 1, lambda f, s: None)
    events = [(e.event, e.source) for e in run.result.runs[0].events]
    assert events == [("Drained", "node/k8s-worker-1"), ("NodeSchedulable", "node/k8s-worker-1")]
    assert run.result.runs[0].events[0].detail == "3 pod(s) evicted"
    assert 0.8 <= run.result.runs[0].events[1].time <= 1.5
    posts = [r.path for r in replica.api.requests if r.method == "POST"]
    assert all(p.endswith("/eviction") for p in posts)
    assert posts.count("/api/v1/namespaces/chat/pods/chat-api-v1-abc/eviction") == 2   # 429, then evicted
    assert not any("kindnet" in p for p in posts)                                    # DaemonSet pods stay
    patches = [r.body for r in replica.api.requests if r.method == "PATCH" and r.path.endswith(
        "/nodes/twin-eco2-dev-worker")]
    assert patches == [{"spec": {"unschedulable": True}}, {"spec": {"unschedulable": False}}]
    assert replica.api.get("", "Node", "", "twin-eco2-dev-worker")["spec"]["unschedulable"] is False


def _kubelet(forbidden_open: bool, allowed_open: bool = True):  # noqa: ANN202 - a FakeAPI hook
    """Plays the probe pod's kubelet and CNI: runs its `nc` lines against a
    network where the forbidden connection is refused (or not)."""
    seen: list[dict] = []

    def on_create(pod: dict) -> None:
        seen.append(pod)
        script = pod["spec"]["containers"][0]["command"][-1]
        out = []
        if "ALLOWED_OPEN" in script:
            out.append("ALLOWED_OPEN" if allowed_open else "ALLOWED_REFUSED")
        out.append("FORBIDDEN_OPEN" if forbidden_open else "FORBIDDEN_REFUSED")
        pod["status"] = {"phase": "Succeeded"}
        pod["_log"] = "\n".join(out) + "\n"

    on_create.seen = seen  # type: ignore[attr-defined]
    return on_create


def test_network_policy_probe_refused_is_enforced(fake, api) -> None:
    from twin.replica.live import probe_network_policy

    fake.api.on_pod_create = _kubelet(forbidden_open=False)
    data = probe_network_policy(small("prod"), api, timeout=5)
    assert data == {"applicable": True, "from": "character/character-api",
                    "to": "redis-streams.redis.svc.cluster.local:6379", "refused": True,
                    "allowed_works": True, "enforced": True}
    (pod,) = fake.api.on_pod_create.seen
    assert pod["metadata"]["namespace"] == "character" and pod["metadata"]["labels"]["app"] == "character-api"
    assert "nc -z -w 3 redis-streams.redis.svc.cluster.local 6379" in pod["spec"]["containers"][0]["command"][-1]
    deletes = [r.path for r in fake.api.requests if r.method == "DELETE"]
    assert deletes == [f"/api/v1/namespaces/character/pods/{pod['metadata']['name']}"]   # cleaned up


def test_network_policy_probe_accepted_warns_the_cni_does_not_enforce(fake, api) -> None:
    from twin.replica.live import live_status, probe_network_policy

    fake.api.on_pod_create = _kubelet(forbidden_open=True)
    data = probe_network_policy(small("prod"), api, timeout=5)
    assert data["enforced"] is False and data["refused"] is False
    assert "CNI does not enforce NetworkPolicies" in data["warning"]
    assert "character/character-api reached redis-streams.redis.svc.cluster.local:6379" in data["warning"]
    # a refusal while the allowed connection fails too proves nothing
    fake.api.on_pod_create = _kubelet(forbidden_open=False, allowed_open=False)
    data = probe_network_policy(small("prod"), api, timeout=5)
    assert data["enforced"] is False and "proves nothing" in data["warning"]
    # loose policies (dev): nothing to probe, and no pod started
    n = len(fake.api.requests)
    assert live_status(small("dev"), api=api, probe=True)["network_policy"]["applicable"] is False
    assert not [r for r in fake.api.requests[n:] if r.method == "POST"]


def test_a_drain_blocked_by_a_pdb_does_not_hold_up_the_timeline(replica) -> None:
    from twin.replica import kind_backend
    from twin.scenario.model import Scenario

    replica.api.evict_refusals = 10**6                       # minAvailable = replicas: always 429
    scn = Scenario.model_validate({
        "apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "drain-pdb", "duration": "1.2s",
        "load": {"scale": 0.01},
        "timeline": [{"id": "drain", "at": "0.1s", "action": "drain", "target": "node/k8s-worker-1",
                      "for": "0.6s"},
                     {"id": "kill", "at": "0.3s", "action": "kill-pod", "target": "service/chat-worker"}]})
    run = kind_backend.KindBackend().run(scn, small("dev"), 1, 1, lambda f, s: None)
    events = {e.event: e for e in run.result.runs[0].events}
    assert set(events) == {"FaultFailed", "Killed", "NodeSchedulable"}
    assert "still blocked by disruption budgets" in events["FaultFailed"].detail
    assert events["Killed"].time < 0.6                       # the kill did not wait for the drain
    assert replica.api.get("", "Node", "", "twin-eco2-dev-worker")["spec"]["unschedulable"] is False


def test_kind_backend_without_a_gateway_applies_faults_and_observes_no_route(
        cluster, tmp_path, monkeypatch) -> None:
    """Istio left out at `twin up` (no istioctl): nothing answers at the gateway's
    NodePort. The kill still happens and is recorded; no load is driven, so route
    checks are "not applicable" instead of failing on connection refused."""
    import socket

    from twin.replica import apply, kind_backend
    from twin.scenario.model import Scenario

    monkeypatch.setattr(kind_backend.kind, "kubeconfig_path", lambda name: tmp_path / "kubeconfig")
    real = apply.api_client
    monkeypatch.setattr(apply, "api_client", lambda config, context=None: real(config, "fake"))
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    topo = small("dev")
    mesh = topo.mesh.model_copy(update={"gateway": topo.mesh.gateway.model_copy(update={"node_port": port})})
    topo = topo.model_copy(update={"mesh": mesh})
    scn = Scenario.model_validate({
        "apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "pod-kill", "duration": "1.5s",
        "timeline": [{"id": "kill", "at": "0.5s", "action": "kill-pod", "target": "service/chat-api"}]})
    run = kind_backend.KindBackend().run(scn, topo, 1, 1, lambda f, s: None)
    events = {e.event: e for e in run.result.runs[0].events}
    assert "Killed" in events and "nothing answers at 127.0.0.1:" in events["NotApplied"].detail
    (trace,) = run.traces()
    assert not trace.observable("route/chat.error_rate")
    assert run.result.runs[0].routes == {}
    assert kind_backend.gateway_answers(port) is False
