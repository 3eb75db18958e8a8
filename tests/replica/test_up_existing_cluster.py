"""`twin up --kubeconfig --context`: onto a dedicated existing cluster (or vcluster)
it converges without kind; onto one whose Eco2 namespaces someone else manages it
refuses (exit 3) before applying anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakeapi import FakeAPI, Server
from test_kind import _invoke

ROOT = Path(__file__).resolve().parents[2]
DEV = str(ROOT / "topologies" / "eco2-dev.yaml")


@pytest.fixture
def no_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kind, docker and istioctl absent: an existing cluster needs none of them."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


def test_up_onto_a_dedicated_cluster_converges_without_kind(tmp_path: Path, no_kind) -> None:
    with Server(FakeAPI()) as server:
        server.kubeconfig(tmp_path / "kubeconfig")
        code, out = _invoke(["up", "-t", DEV, "--kubeconfig", str(tmp_path / "kubeconfig"),
                             "--context", "fake", "--timeout", "30"])
        assert code == 0, out  # with no kind, docker or istioctl on PATH
        assert ("apps", "Deployment", "chat", "chat-api-v1") in server.api.objects
        first = len(server.api.applies())
        code, out = _invoke(["up", "-t", DEV, "--kubeconfig", str(tmp_path / "kubeconfig"),
                             "--context", "fake", "--timeout", "30"])
        assert code == 0, out
        assert len(server.api.applies()) == 2 * first  # the same objects, applied again
        assert not [r for r in server.api.requests if r.method in ("POST", "DELETE", "PUT")]


def test_up_refuses_a_cluster_whose_eco2_namespaces_are_not_the_twins(tmp_path: Path, no_kind) -> None:
    api = FakeAPI()
    api.add({"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "chat", "labels": {"app.kubernetes.io/part-of": "ecoeco-backend",
                                                     "app.kubernetes.io/managed-by": "argocd"}}})
    with Server(api) as server:
        server.kubeconfig(tmp_path / "kubeconfig")
        code, out = _invoke(["up", "-t", DEV, "--kubeconfig", str(tmp_path / "kubeconfig"),
                             "--context", "fake"])
        assert code == 3, out
        text = " ".join(out.split())
        assert "Eco2 namespaces the twin does not manage (chat)" in text
        assert "dedicated cluster or vcluster" in text
        assert server.api.applies() == []  # nothing applied to someone else's cluster


def test_up_with_a_bad_or_unreachable_kubeconfig_cannot_run(tmp_path: Path, no_kind) -> None:
    import json
    import socket

    code, out = _invoke(["up", "-t", DEV, "--kubeconfig", str(tmp_path / "none")])
    assert code == 3 and "cannot use kubeconfig" in out
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "kubeconfig"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}]}))
    code, out = _invoke(["up", "-t", DEV, "--kubeconfig", str(config)])
    assert code == 3 and "cannot reach the cluster" in " ".join(out.split())
