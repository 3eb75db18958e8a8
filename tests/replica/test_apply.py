"""Server-side apply and rollout waits against a fake API server on loopback."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from sample_topology import small

from twin.render.manifests import render
from twin.replica.apply import ApplyError, apply
from twin.replica.rollout import RolloutFailed, deployment_status, statefulset_status, wait

ISTIO_KINDS = [("networking.istio.io", "Gateway", "gateways"),
               ("networking.istio.io", "VirtualService", "virtualservices"),
               ("networking.istio.io", "DestinationRule", "destinationrules"),
               ("security.istio.io", "PeerAuthentication", "peerauthentications")]


def _crds() -> list[dict]:
    return [{
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": kind, "plural": plural},
                 "versions": [{"name": "v1", "served": True, "storage": True}]},
    } for group, kind, plural in ISTIO_KINDS]


def _objects() -> list[dict]:
    # CRDs listed last on purpose: the applier must still put them first
    return render(small("prod")).objects + _crds()


def test_apply_uses_server_side_apply_at_each_objects_namespace_crds_first(fake, api) -> None:
    objects = _objects()
    lines: list[str] = []
    result = apply(objects, api, progress=lines.append)
    assert result.count("created") == len(objects) and result.count("unchanged") == 0
    writes = fake.api.writes()
    assert len(writes) == len(objects)
    assert all(w.method == "PATCH" and w.content_type.startswith("application/apply-patch+yaml")
               for w in writes)
    assert all(w.query["fieldManager"] == ["eco2-twin"] and w.query["force"] == ["true"] for w in writes)
    paths = [w.path for w in writes]
    assert "/apis/apps/v1/namespaces/chat/deployments/chat-api-v1" in paths
    assert "/apis/apps/v1/namespaces/redis/statefulsets/redis-sentinel" in paths
    assert "/apis/networking.istio.io/v1/namespaces/chat/virtualservices/chat-vs" in paths
    assert "/apis/storage.k8s.io/v1/storageclasses/gp3" in paths
    assert "/api/v1/namespaces/chat" in paths
    assert not any("/namespaces/default/" in p for p in paths)
    # CRDs first, then a wait that saw them Established, then their objects
    crd_writes = [i for i, p in enumerate(paths) if "customresourcedefinitions" in p]
    istio_writes = [i for i, p in enumerate(paths) if "istio.io/" in p]
    assert max(crd_writes) < min(istio_writes) and crd_writes == list(range(4))
    crd_reads = [r for r in fake.api.requests if r.method == "GET" and "customresourcedefinitions/" in r.path]
    assert crd_reads, "the applier must wait for Established"
    # every namespace before anything inside it (the fake refuses otherwise)
    first_ns = min(i for i, p in enumerate(paths) if p.startswith("/api/v1/namespaces/") and p.count("/") == 4)
    first_namespaced = min(i for i, p in enumerate(paths) if p.count("/namespaces/") and p.count("/") > 5)
    assert first_ns < first_namespaced
    assert any("waiting for 4 CustomResourceDefinition(s)" in ln for ln in lines)


def test_second_apply_converges_and_recreates_nothing(fake, api) -> None:
    objects = _objects()
    apply(objects, api)
    uids = {k: o["metadata"]["uid"] for k, o in fake.api.objects.items()}
    n = len(fake.api.requests)
    again = apply(objects, api)
    assert again.count("unchanged") == len(objects)
    later = fake.api.requests[n:]
    assert not [r for r in later if r.method in ("POST", "PUT", "DELETE")]
    assert {k: o["metadata"]["uid"] for k, o in fake.api.objects.items()} == uids
    changed = copy.deepcopy(objects)
    deploy = next(o for o in changed if o["metadata"]["name"] == "chat-worker" and o["kind"] == "Deployment")
    deploy["spec"]["replicas"] = 4
    third = apply(changed, api)
    assert third.count("configured") == 1 and third.count("unchanged") == len(objects) - 1


def test_a_kind_the_cluster_does_not_serve_is_a_clear_error(fake, api) -> None:
    objects = render(small("dev")).objects  # Istio objects, but no Istio CRDs
    with pytest.raises(ApplyError, match="does not serve networking.istio.io/v1 Gateway"):
        apply(objects, api)


def test_rollout_wait_reports_progress_and_finishes(fake, api) -> None:
    fake.api.ready_after = 3
    objects = render(small("dev")).objects + _crds()
    apply(objects, api)
    lines: list[str] = []
    wait(objects, api, timeout=30, interval=0.01, progress=lines.append)
    assert any('Waiting for deployment "chat-api-v1" rollout to finish: 0 of 1 updated replicas are available'
               in ln for ln in lines)
    assert any('deployment "chat-api-v1" successfully rolled out' in ln for ln in lines)
    assert any("redis/redis: statefulset rolling update complete" in ln for ln in lines)


def test_a_stuck_rollout_times_out_with_a_message(fake, api) -> None:
    fake.api.ready_after = -1
    objects = render(small("dev")).objects + _crds()
    apply(objects, api)
    with pytest.raises(RolloutFailed) as err:
        wait(objects, api, timeout=0.5, interval=0.05)
    msg = str(err.value)
    assert "not finished after 0.5s" in msg
    assert 'chat/chat-api-v1: Waiting for deployment "chat-api-v1" rollout to finish' in msg
    assert "redis/redis: Waiting for 1 pods to be ready..." in msg


def test_rollout_judged_as_kubectl_judges_it() -> None:
    base = {"metadata": {"name": "d", "generation": 2}, "spec": {"replicas": 3}}
    old = {**base, "status": {"observedGeneration": 1}}
    assert deployment_status(old).message == "Waiting for deployment spec update to be observed..."
    available_but_old = {**base, "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3,
                                            "availableReplicas": 4,
                                            "conditions": [{"type": "Available", "status": "True"}]}}
    s = deployment_status(available_but_old)
    assert not s.done and "1 old replicas are pending termination" in s.message
    deadline = {**base, "status": {"observedGeneration": 2, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}}
    with pytest.raises(RolloutFailed, match='deployment "d" exceeded its progress deadline'):
        deployment_status(deadline)
    sts = {"metadata": {"name": "s", "generation": 1}, "spec": {"replicas": 3},
           "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1,
                      "currentRevision": "a", "updateRevision": "b"}}
    assert statefulset_status(sts).message == "waiting for statefulset rolling update to complete 1 pods at revision b..."


def test_kubeconfig_context_is_used_not_the_default(fake, tmp_path: Path, monkeypatch) -> None:
    from twin.replica.apply import api_client

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "does-not-exist"))
    api = api_client(tmp_path / "kubeconfig", "fake")
    assert api.configuration.host == fake.url
