"""`twin validate`, `status`, `domain`, `graph`, `schema` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
PROD = str(ROOT / "topologies" / "eco2-prod.yaml")
DEV = str(ROOT / "topologies" / "eco2-dev.yaml")


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    from twin.cli import common

    monkeypatch.setattr(common.out, "width", 240)  # tables unfolded, as in a wide terminal
    return CliRunner()


def run(runner: CliRunner, *args: str):  # noqa: ANN201
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result


def test_validate_every_topology_ok(runner: CliRunner) -> None:
    files = sorted(str(p) for p in (ROOT / "topologies").glob("eco2-*.yaml"))
    r = run(runner, "validate", *files)
    assert r.exit_code == 0, r.output
    assert r.stdout.count("ok ") == len(files) and "(Topology)" in r.stdout


def test_validate_bad_file_exit_2_with_file_line_field(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "topologies" / "eco2-base.yaml").read_text().replace(
        "    concurrency: 16\n", "    concurrency: sixteen\n", 1))
    good = ROOT / "topologies" / "eco2-dev.yaml"
    r = run(runner, "validate", str(good), str(bad))
    assert r.exit_code == 2
    assert "ok " in r.stdout
    assert f"{bad}:122:5: services.chat-api.concurrency: Input should be a valid integer" in r.stderr
    assert "1 problem found" in r.stderr


def test_validate_garbage_yaml_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("apiVersion: twin.eco2/v1\nkind: Topology\ncluster: [\n")
    r = run(runner, "validate", str(bad))
    assert r.exit_code == 2 and "YAML" in r.stderr


def test_status_shows_cluster_nodes_namespaces_and_pods_by_tier(runner: CliRunner) -> None:
    r = run(runner, "status", "-t", PROD)
    assert r.exit_code == 0, r.output
    out = r.stdout
    for words in ("=== Cluster Info ===", "ap-northeast-2", "argocd, branch develop", "strict",
                  "=== Node Status ===", "k8s-storage", "workload-type=api:NoSchedule",
                  "node-pool=data", "=== Namespace Summary ===", "ecoeco-backend",
                  "=== Pod Summary by Tier ===", "deterministic fit"):
        assert words in out, words
    # prod: 2+3+1 (v2)+2+2+2+2 APIs... counted from the model
    assert "business-logic: 14 pods" in out and "worker: 7 pods" in out
    assert "integration: 6 pods" in out and "data: 5 pods" in out


def test_status_dev_with_set(runner: CliRunner) -> None:
    r = run(runner, "status", "-t", DEV, "--set", "services.chat-api.replicas=2")
    assert r.exit_code == 0, r.output
    assert "loose" in r.stdout and "k8s-worker-2" not in r.stdout
    assert "business-logic: 8 pods" in r.stdout  # 6 APIs, chat-api v1 x2 + v2 x1


def test_status_bad_set_exit_2(runner: CliRunner) -> None:
    r = run(runner, "status", "--set", "services.chat-api.replicas=lots", "-t", PROD)
    assert r.exit_code == 2 and "--set services.chat-api.replicas=lots" in r.stderr


def test_status_live_without_the_replica_module_exit_3(runner: CliRunner,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "twin.replica.live", None)  # import fails
    r = run(runner, "status", "--live", "-t", PROD)
    assert r.exit_code == 3 and "cannot run" in r.stderr


def test_domain_chat(runner: CliRunner) -> None:
    r = run(runner, "domain", "chat", "-t", PROD)
    assert r.exit_code == 0, r.output
    out = r.stdout
    for words in ("=== chat Domain Status ===", "## API Pod", "chat-api-v1-0", "chat-api-v2-0",
                  "## Worker Pod", "chat-worker-0", "## Services", "chat-api.chat.svc.cluster.local",
                  "8000", "## Config", "VirtualService chat-vs: chat-api/v1 90, chat-api/v2 10",
                  "redis: via Sentinel"):
        assert words in out, words


def test_domain_redis_shows_the_store_service(runner: CliRunner) -> None:
    r = run(runner, "domain", "redis", "-t", PROD)
    assert r.exit_code == 0, r.output
    assert "redis-streams.redis.svc.cluster.local" in r.stdout and "6379" in r.stdout
    assert "3 servers, 3 sentinels, quorum 2" in r.stdout


def test_unknown_domain_exit_2_lists_domains(runner: CliRunner) -> None:
    r = run(runner, "domain", "chatt", "-t", PROD)
    assert r.exit_code == 2 and "chat" in r.stderr and "domains:" in r.stderr


def test_graph_blast_radius_redis(runner: CliRunner) -> None:
    r = run(runner, "graph", "-t", PROD, "--blast-radius", "redis")
    assert r.exit_code == 0, r.output
    assert "Routes that FAIL: chat, character" in r.stdout
    assert "Routes that DEGRADE: login" in r.stdout


def test_graph_blast_radius_storage_node_json(runner: CliRunner) -> None:
    r = run(runner, "graph", "-t", PROD, "--blast-radius", "node/k8s-storage", "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert {s["store"] for s in data["stores_lost"]} == {"postgres", "redis", "rabbitmq"}
    assert data["routes"]["fail"] == ["login", "chat", "scan", "character", "location", "image"]


def test_graph_route_and_dot(runner: CliRunner) -> None:
    r = run(runner, "graph", "-t", PROD, "--route", "chat")
    assert r.exit_code == 0 and "worker/chat-worker consume" in r.stdout
    r = run(runner, "graph", "-t", PROD, "--format", "dot")
    assert r.exit_code == 0 and r.stdout.startswith("digraph")
    r = run(runner, "graph", "-t", PROD, "--route", "chat", "--format", "dot")
    assert r.exit_code == 0 and "style=dashed" in r.stdout
    r = run(runner, "graph", "-t", PROD)
    assert r.exit_code == 0 and "route/chat -> " in r.stdout


def test_graph_unknown_or_ambiguous_name_exit_2(runner: CliRunner) -> None:
    r = run(runner, "graph", "-t", PROD, "--blast-radius", "rediss")
    assert r.exit_code == 2 and "store/redis" in r.stderr
    r = run(runner, "graph", "-t", PROD, "--format", "png")
    assert r.exit_code == 2


def test_schema_topology(runner: CliRunner) -> None:
    r = run(runner, "schema", "topology")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["$schema"].startswith("https://json-schema.org/")
    r = run(runner, "schema", "nonsense")
    assert r.exit_code == 2 and "topology" in r.stderr


def test_status_live_prints_what_the_replica_answers(runner: CliRunner,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.replica import live
    from twin.views.status import ClusterStatus, NodeRow

    seen = []

    def fake(topology: object, kubeconfig: object = None, context: object = None) -> ClusterStatus:
        seen.append(topology.cluster.environment)
        assert kubeconfig is None and context is None     # the twin's own kind replica
        return ClusterStatus("live", {"server": "https://127.0.0.1:6443"},
                             nodes=[NodeRow("twin-eco2-dev-worker", pool="app", taints=["a", "b"])],
                             pods_by_tier={"business-logic": 7}, usage=None)

    monkeypatch.setattr(live, "status_view", fake)
    monkeypatch.chdir(ROOT)
    r = run(runner, "status", "--live")
    assert r.exit_code == 0, r.output
    assert seen == ["dev"]  # --live defaults to the replica's topology, dev
    assert "twin-eco2-dev-worker" in r.stdout and "a,b" in r.stdout
    assert "business-logic: 7" in r.stdout and "not available" in r.stdout


def test_domain_live_without_a_replica_exit_3(runner: CliRunner,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.replica import kind, live

    def missing(*_: object, **__: object) -> dict:
        raise kind.CannotRun("no replica of twin-eco2-dev is up", "run `twin up`")

    monkeypatch.setattr(live, "domain_view", missing)
    monkeypatch.chdir(ROOT)
    r = run(runner, "domain", "chat", "--live")
    assert r.exit_code == 3 and "no replica" in r.stderr and "twin up" in r.stderr
