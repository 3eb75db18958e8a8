"""Names, dependency graph, call paths and blast radius on the Eco2 topologies."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.graph.blast import blast_radius
from twin.graph.dependencies import dependency_graph
from twin.graph.naming import UnknownComponent, resolve
from twin.graph.paths import Hop, call_path
from twin.graph.pods import schedule
from twin.loading.files import load_topology
from twin.model.topology import Topology
from twin.views.graph import render_blast, render_path, to_dot, to_json

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"


@pytest.fixture(scope="module")
def prod() -> Topology:
    return load_topology(TOPOLOGIES / "eco2-prod.yaml")


@pytest.fixture(scope="module")
def dev() -> Topology:
    return load_topology(TOPOLOGIES / "eco2-dev.yaml")


# ------------------------------------------------------------------- names


@pytest.mark.parametrize(("name", "key"), [
    ("service/chat-api", "service/chat-api"), ("chat-api", "service/chat-api"),
    ("worker/chat-worker", "worker/chat-worker"), ("redis", "store/redis"),
    ("queue/chat-tasks", "queue/chat-tasks"), ("chat-tasks", "queue/chat-tasks"),
    ("node/k8s-storage", "node/k8s-storage"), ("pool/app", "pool/app"), ("app", "pool/app"),
    ("route/chat", "route/chat"), ("chat", "route/chat"), ("llm", "external/llm"),
    ("eco2-gateway", "gateway/eco2-gateway"), ("namespace/redis", "namespace/redis"),
])
def test_resolve(prod: Topology, name: str, key: str) -> None:
    assert resolve(prod, name).key == key


def test_an_unknown_name_lists_the_nearest_candidates(prod: Topology) -> None:
    with pytest.raises(UnknownComponent) as e:
        resolve(prod, "chat-apii")
    assert "service/chat-api" in e.value.candidates and "did you mean" in e.value.message


def test_an_unknown_kind_lists_the_kinds(prod: Topology) -> None:
    with pytest.raises(UnknownComponent, match="kinds are"):
        resolve(prod, "svc/chat-api")


def test_an_ambiguous_bare_name_lists_every_reading(tmp_path: Path) -> None:
    text = (TOPOLOGIES / "eco2-base.yaml").read_text().replace(
        "  - name: grafana\n    namespace: grafana\n", "  - name: llm\n    namespace: grafana\n")
    (tmp_path / "t.yaml").write_text(text)
    topo = load_topology(tmp_path / "t.yaml")
    with pytest.raises(UnknownComponent) as e:
        resolve(topo, "llm")
    assert set(e.value.candidates) == {"external/llm", "platform/llm"}
    assert "ambiguous" in e.value.message
    assert resolve(topo, "platform/llm").key == "platform/llm"


# ------------------------------------------------------------- the graph


def test_dependency_graph_edges(prod: Topology) -> None:
    g = dependency_graph(prod)
    assert g.edges["route/chat", "service/chat-api"]["how"] == "calls"
    assert g.edges["service/chat-api", "store/redis"]["how"] == "write"
    assert g.edges["service/chat-api", "queue/chat-tasks"]["how"] == "publishes"
    assert g.edges["worker/chat-worker", "queue/chat-tasks"]["how"] == "consumes"
    assert g.edges["worker/chat-worker", "external/llm"]["how"] == "calls"
    assert g.edges["queue/chat-tasks", "store/rabbitmq"]["how"] == "lives in"
    assert g.edges["gateway/eco2-gateway", "platform/istio-ingressgateway"]["how"] == "served by"
    assert g.edges["store/redis", "node/k8s-storage"]["how"] == "runs on"
    assert g.edges["service/event-router", "store/redis"]["how"].startswith("client")


def test_dot_and_json_name_every_component(prod: Topology) -> None:
    g = dependency_graph(prod)
    dot = to_dot(g)
    assert dot.startswith("digraph") and '"route/chat" -> "service/chat-api"' in dot
    data = to_json(g)
    assert {n["id"] for n in data["nodes"]} >= {"store/redis", "worker/chat-worker", "node/k8s-storage"}


def test_chat_call_path(prod: Topology) -> None:
    path = call_path(prod, "chat")
    lines = render_path(path)
    text = "\n".join(lines)
    assert lines[0].startswith("route/chat (async)") and not path.sync  # json says so too
    assert "chat-api v1 90%, chat-api v2 10%" in text
    flat = []

    def walk(h: Hop, depth: int) -> None:
        flat.append((depth, h.component, h.how, h.sync))
        for c in h.children:
            walk(c, depth + 1)

    walk(path, 0)
    assert (2, "service/chat-api", "call", True) in flat
    assert (3, "store/redis", "write", True) in flat
    assert (3, "queue/chat-tasks", "publish", True) in flat
    assert (4, "worker/chat-worker", "consume", False) in flat
    assert (5, "external/llm", "external", False) in flat
    assert (5, "store/redis", "emit", False) in flat
    assert (6, "service/event-router", "relay", False) in flat
    assert (2, "service/sse-gateway", "stream", True) in flat


def test_branch_shares_multiply(prod: Topology) -> None:
    data = call_path(prod, "character").to_dict()
    inside = data["steps"][0]["steps"][0]["steps"]
    assert [s.get("share", 1.0) for s in inside] == [1.0, 0.3, 0.1]


# ----------------------------------------------------------- blast radius


def test_redis_blast_radius_names_the_routes_that_depend_on_redis(prod: Topology) -> None:
    br = blast_radius(prod, "redis")
    assert br.routes("fail") == ["chat", "character"]
    assert br.routes("degrade") == ["login"]             # the session cache degrades
    assert br.routes("lost") == ["scan"]                  # accepted; its result never arrives
    assert br.unaffected == ["location", "image"]
    assert br.stores_lost == []                           # down is not data lost


def test_a_down_worker_delays_its_route_and_a_down_queue_fails_it(prod: Topology) -> None:
    assert blast_radius(prod, "worker/chat-worker").routes("delayed") == ["chat"]
    assert blast_radius(prod, "queue/chat-tasks").routes("fail") == ["chat"]
    assert blast_radius(prod, "llm").routes("lost") == ["chat"]


def test_a_down_branch_fails_only_its_share(prod: Topology) -> None:
    br = blast_radius(prod, "worker/character-worker")
    (impact,) = [i for i in br.impacts if i.route == "character"]
    assert impact.outcome == "delayed" and impact.share == pytest.approx(0.1)


def test_degrade_and_fallback_do_not_fail_the_route(tmp_path: Path) -> None:
    text = (TOPOLOGIES / "eco2-base.yaml").read_text().replace(
        "          - {store: postgres, op: query}",
        "          - {store: postgres, op: query, on_failure: fallback, fallback: [{store: redis, op: read}]}")
    (tmp_path / "t.yaml").write_text(text)
    topo = load_topology(tmp_path / "t.yaml")
    assert "location" in blast_radius(topo, "postgres").routes("degrade")
    both = blast_radius(topo, "namespace/redis")  # redis down too: the fallback fails
    assert "location" not in both.routes("fail")
    br = blast_radius(topo, "store/postgres")
    assert "location" not in br.routes("fail") and "image" in br.routes("fail")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_storage_node_loss_loses_every_copy_of_every_store(env: str, request: pytest.FixtureRequest) -> None:
    topo = request.getfixturevalue(env)
    br = blast_radius(topo, "node/k8s-storage")
    lost = {s.store: s for s in br.stores_lost}
    assert set(lost) == {"postgres", "redis", "rabbitmq"}
    assert lost["redis"].copies == (3 if env == "prod" else 1)
    assert lost["postgres"].copies == (2 if env == "prod" else 1)
    assert "gone" in lost["redis"].data                   # no persistence
    assert "PersistentVolume" in lost["postgres"].data
    for store in ("store/postgres", "store/redis", "store/rabbitmq"):
        assert "until the node returns" in br.down[store]
    # the platform pods that landed there, the ingress gateway among them
    assert "platform/istio-ingressgateway" in br.down and "gateway/eco2-gateway" in br.down
    assert br.routes("fail") == [r.name for r in topo.routes]
    causes = {i.cause for i in br.impacts if i.route == "chat"}
    assert {"gateway/eco2-gateway", "store/postgres"} <= causes
    statefulset = [p for p in br.pods if p["controller"] == "StatefulSet" and p["node"]]
    assert statefulset and all("not replaced" in p["fate"] for p in statefulset)


def test_app_node_loss_in_prod_reschedules_and_fails_nothing(prod: Topology) -> None:
    br = blast_radius(prod, "node/k8s-worker-1")
    assert br.routes("fail") == [] and br.stores_lost == []
    assert br.reduced and not [k for k in br.down if not k.startswith("node/")]
    assert any(p["fate"].startswith("rescheduled to k8s-worker-") for p in br.pods)


def test_app_node_loss_in_dev_takes_every_api_down(dev: Topology) -> None:
    br = blast_radius(dev, "node/k8s-worker-1")
    assert br.routes("fail") == [r.name for r in dev.routes]
    assert all(p["fate"] == "Pending: no other eligible node" for p in br.pods)


def test_pool_loss_is_every_node_of_the_pool(prod: Topology) -> None:
    br = blast_radius(prod, "pool/app")
    assert {k for k in br.down if k.startswith("node/")} == {
        "node/k8s-worker-1", "node/k8s-worker-2", "node/k8s-worker-3", "node/k8s-worker-4"}
    assert "service/chat-api" in br.down


def test_blast_radius_renders_as_text_json_and_dot(prod: Topology) -> None:
    br = blast_radius(prod, "node/k8s-storage")
    text = "\n".join(render_blast(br, prod))
    assert "Data stores that lose ALL their copies:" in text and "store/redis: all 3 copies" in text
    data = br.to_dict()
    assert data["target"] == "node/k8s-storage"
    assert {s["store"] for s in data["stores_lost"]} == {"postgres", "redis", "rabbitmq"}
    dot = to_dot(dependency_graph(prod), br)
    assert '"store/redis" [shape=cylinder, style=filled, fillcolor="red"]' in dot


# ------------------------------------------------------------------ pods


def test_schedule_respects_selectors_and_taints(prod: Topology) -> None:
    placed = schedule(prod)
    for name, node in placed.where.items():
        pod = placed.pods[name]
        if pod.component.startswith(("service/", "worker/")):
            assert node is None or node.startswith("k8s-worker-")
        if pod.component.startswith("store/") and node is not None:
            assert node == "k8s-storage"
    assert not [n for n, node in placed.where.items() if node == "k8s-master"
                and placed.pods[n].controller != "DaemonSet"]
    for n in placed.nodes:
        cpu, mem = placed.requested[n.name]
        assert cpu <= n.cpu + 1e-9 and mem <= n.memory + 1e-9


def test_schedule_spreads_a_workloads_pods(prod: Topology) -> None:
    placed = schedule(prod)
    nodes = [placed.where[p.name] for p in placed.of("service/chat-api")]
    assert len(set(nodes)) == len(nodes) == 4


@pytest.mark.parametrize("typo,meant", [
    ("service/chat-apii", ["service/chat-api"]),
    ("service/char", ["service/character-api"]),
    ("redis-streams", ["store/redis"]),
    ("worker/chat", ["worker/chat-worker"]),
    ("store/postgress", ["store/postgres"]),
])
def test_did_you_mean_names_what_the_typo_meant_not_every_neighbour(typo: str, meant: list[str]) -> None:
    topo = load_topology(Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml")
    with pytest.raises(UnknownComponent) as e:
        resolve(topo, typo)
    assert str(e.value).endswith(f"did you mean {', '.join(meant)}?")
