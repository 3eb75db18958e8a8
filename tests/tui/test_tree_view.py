"""twin.views.tree: the topology page's rows, from the model and twin.graph alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twin.graph.blast import blast_radius
from twin.views.rows import cells
from twin.views.tree import NODE_COLUMNS, TIERS, TopologyView

PROD = Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml"


def _lines(view: TopologyView, key: str) -> dict[str, list[str]]:
    return {s.title: list(s.lines) for s in view.detail(key)}


def test_tree_is_tiers_then_routes_externals_and_pools(prod_view: TopologyView) -> None:
    top = [i.key for i in prod_view.tree()]
    tiers = [k.split("/", 1)[1] for k in top if k.startswith("tier/")]
    assert tiers == [t for t in TIERS if t in tiers]  # the document's order
    assert {"business-logic", "worker", "integration", "data"} <= set(tiers)
    assert top[-3:] == ["section/routes", "section/external", "section/pools"]


def test_every_component_is_in_the_tree_once(prod_view: TopologyView) -> None:
    from twin.graph.naming import components

    keys = [i.key for top in prod_view.tree() for i in top.walk()]
    for c in components(prod_view.topo):
        if c.kind != "namespace":
            assert keys.count(c.key) == 1, c.key


def test_a_worker_sits_in_the_worker_tier_in_its_domain(prod_view: TopologyView) -> None:
    worker = next(i for i in prod_view.tree() if i.key == "tier/worker")
    chat = next(n for n in worker.children if n.key == "namespace/chat")
    assert [c.key for c in chat.children] == ["worker/chat-worker"]
    business = next(i for i in prod_view.tree() if i.key == "tier/business-logic")
    assert "worker/chat-worker" not in {i.key for i in business.walk()}


def test_chat_api_details(prod_view: TopologyView) -> None:
    d = _lines(prod_view, "service/chat-api")
    about = d["service/chat-api"]
    assert "http port 8000, chat-api.chat.svc.cluster.local" in about
    assert "replicas 4 (v1 3, v2 1)" in about
    assert any(line.startswith("HPA 3-8 pods on CPU") for line in about)
    placement = d["placement"]
    assert sum(line.startswith("chat-api-") and " on k8s-worker-" in line for line in placement) == 4
    assert "tolerates workload-type=api:NoSchedule" in placement
    assert d["routes through it"] == ["route/chat"]
    assert "store/redis (write)" in d["stores it depends on"]
    blast = d["blast radius (b: show in the tree)"]
    assert "routes that fail: chat" in blast


def test_detail_follows_the_model() -> None:
    from twin.loading.files import load_topology

    topo = load_topology(PROD, ["services.chat-api.port=9000", "services.chat-api.hpa.max=12"])
    d = _lines(TopologyView(topo), "service/chat-api")["service/chat-api"]
    assert "http port 9000, chat-api.chat.svc.cluster.local" in d
    assert any(line.startswith("HPA 3-12 pods") for line in d)


def test_storage_node_blast_marks(prod_view: TopologyView) -> None:
    blast = prod_view.blast("node/k8s-storage")
    br = blast_radius(prod_view.topo, "node/k8s-storage")
    assert blast.marks["node/k8s-storage"] == "down"
    assert blast.marks["store/redis"] == "down" and blast.marks["store/postgres"] == "down"
    assert {k for k, m in blast.marks.items() if m == "down"} == set(br.down)
    for route in br.routes("fail"):
        assert blast.marks[f"route/{route}"] == "fail"
    assert any("store/redis loses all 3 copies" in line for line in blast.lines)


def test_redis_blast_marks_routes_by_outcome(prod_view: TopologyView) -> None:
    marks = prod_view.blast("store/redis").marks
    br = blast_radius(prod_view.topo, "store/redis")
    for outcome in ("fail", "lost", "degrade", "delayed"):
        for route in br.routes(outcome):
            assert marks[f"route/{route}"] == outcome
    assert all(f"route/{r}" not in marks for r in br.unaffected)
    assert "node/k8s-storage" not in marks


def test_nodes_hold_every_placed_pod(prod_view: TopologyView) -> None:
    rows = prod_view.nodes()
    placed = [p for p, n in prod_view.placed.where.items() if n is not None]
    assert sorted(p.name for r in rows for p in r.pods) == sorted(placed)
    storage = next(r for r in rows if r.name == "k8s-storage")
    assert {"redis-0", "redis-1", "redis-2"} <= {p.name for p in storage.pods}
    row = cells(NODE_COLUMNS, storage)
    assert row[0] == "k8s-storage" and row[-1] == str(len(storage.pods))
    assert row[1] == f"{100 * storage.cpu_requested / storage.cpu:.0f}%"
    assert storage.cpu_free == storage.cpu - storage.cpu_requested


def test_node_detail_groups_its_pods(prod_view: TopologyView) -> None:
    d = _lines(prod_view, "node/k8s-storage")
    pods = next(v for k, v in d.items() if k.startswith("pods on k8s-storage"))
    assert "store/redis: redis-0, redis-1, redis-2" in pods


def test_route_detail_is_its_call_path(prod_view: TopologyView) -> None:
    path = _lines(prod_view, "route/chat")["call path"]
    assert path[0].startswith("route/chat")
    assert any("service/chat-api call" in line for line in path)


def test_groups_have_details_too(prod_view: TopologyView) -> None:
    for top in prod_view.tree():
        for item in top.walk():
            sections: list[Any] = prod_view.detail(item.key)
            assert sections and sections[0].lines, item.key
