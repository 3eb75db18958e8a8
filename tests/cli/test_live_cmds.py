"""`twin status --live` and `twin domain --live` with --kubeconfig/--context
(a dedicated cluster or vcluster, as `twin up`) and --probe-network-policy,
through the CLI against the fake API server on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import common
from twin.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "replica"))

from fakeapi import FakeAPI, Server  # noqa: E402

PROD = str(ROOT / "topologies" / "eco2-prod.yaml")


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(common.out, "width", 240)
    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path / "state"))     # no kind replica of the twin's
    api = FakeAPI()
    api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "vcluster-node-1", "labels": {}},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "chat", "labels": {
        "tier": "business-logic", "domain": "chat", "app.kubernetes.io/part-of": "ecoeco-backend"}},
        "status": {"phase": "Active"}})
    api.add({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "chat-api-v1-abc", "namespace": "chat",
        "labels": {"app": "chat-api", "version": "v1", "tier": "business-logic", "domain": "chat"}},
        "spec": {"nodeName": "vcluster-node-1", "containers": [{"name": "app", "image": "i"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": 0, "image": "i", "imageID": ""}]}})
    with Server(api) as s:
        s.kubeconfig(tmp_path / "dedicated.yaml", context="vcluster-twin")
        yield s, tmp_path / "dedicated.yaml"


def _run(*args: str):  # noqa: ANN202
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_status_live_asks_the_cluster_of_kubeconfig_and_context(server) -> None:
    s, config = server
    r = _run("status", "--live", "--kubeconfig", str(config), "--context", "vcluster-twin")
    assert r.exit_code == 0, r.output
    assert "vcluster-node-1" in r.stdout and s.url in r.stdout and "vcluster-twin" in r.stdout
    assert "business-logic: 1" in r.stdout
    assert any(q.path == "/api/v1/nodes" for q in s.api.requests)
    r = _run("status", "--live", "--kubeconfig", str(config), "--context", "shared-prod")
    assert r.exit_code == common.CANNOT_RUN
    err = " ".join(r.stderr.split())  # however the terminal folds it
    assert "context shared-prod" in err and "--kubeconfig/--context" in err


def test_domain_live_asks_the_cluster_of_kubeconfig_and_context(server) -> None:
    s, config = server
    r = _run("domain", "chat", "--live", "--kubeconfig", str(config), "--context", "vcluster-twin")
    assert r.exit_code == 0, r.output
    assert "chat-api-v1-abc" in r.stdout and "1/1" in r.stdout
    assert any("labelSelector=domain%3Dchat" in q.path or q.query.get("labelSelector") ==
               ["domain=chat,tier=business-logic"] for q in s.api.requests)


def test_live_only_flags_without_live_are_an_error(server) -> None:
    _, config = server
    r = _run("status", "--kubeconfig", str(config))
    assert r.exit_code == 2 and "--kubeconfig only apply with --live" in r.stderr
    r = _run("status", "--probe-network-policy")
    assert r.exit_code == 2 and "--probe-network-policy only apply with --live" in r.stderr


@pytest.mark.parametrize("cni_enforces", [True, False])
def test_status_live_probes_network_policy(server, cni_enforces: bool) -> None:
    s, config = server
    started = []

    def kubelet(pod: dict) -> None:
        started.append(pod)
        pod["status"] = {"phase": "Succeeded"}
        pod["_log"] = "ALLOWED_OPEN\n" + ("FORBIDDEN_REFUSED\n" if cni_enforces else "FORBIDDEN_OPEN\n")

    s.api.on_pod_create = kubelet
    r = _run("status", "--live", "-t", PROD, "--kubeconfig", str(config), "--context", "vcluster-twin",
             "--probe-network-policy")
    assert r.exit_code == 0, r.output
    assert len(started) == 1 and started[0]["metadata"]["namespace"] == "auth"
    if cni_enforces:
        assert "NetworkPolicies enforced: auth/auth-api -> rabbitmq.rabbitmq.svc.cluster.local:5672 refused" \
            in r.stdout
        assert "warning" not in r.stderr
    else:
        assert "warning: the cluster's CNI does not enforce NetworkPolicies" in r.stderr
        assert "auth/auth-api reached rabbitmq.rabbitmq.svc.cluster.local:5672" in r.stderr


def test_status_live_without_probe_starts_no_pod(server) -> None:
    s, config = server
    r = _run("status", "--live", "-t", PROD, "--kubeconfig", str(config), "--context", "vcluster-twin")
    assert r.exit_code == 0, r.output
    assert not [q for q in s.api.requests if q.method == "POST"]
