"""Placement checks of a whole topology: what can run on no node is named, with its location."""

from __future__ import annotations

from pathlib import Path

from twin.graph.placement import NO_NODE, unplaceable
from twin.loading.files import load_topology
from twin.model.topology import Placement, Topology

BASE = Path(__file__).resolve().parents[2] / "topologies" / "eco2-base.yaml"


def _nowhere(topo: Topology, key: str, name: str, replicas: int | None = None) -> Topology:
    items = getattr(topo, key)
    i = next(n for n, item in enumerate(items) if item.name == name)
    update = {"placement": Placement(node_selector={"node-pool": "nowhere"})}
    if replicas is not None:
        update["replicas"] = replicas
    items = [*items[:i], items[i].model_copy(update=update), *items[i + 1:]]
    return topo.model_copy(update={key: items})


def test_the_eco2_topology_places_everything() -> None:
    assert unplaceable(load_topology(BASE)) == []


def test_a_service_and_a_store_that_fit_no_node_are_named_at_their_placement() -> None:
    topo = load_topology(BASE)
    services = [s.name for s in topo.services]
    topo = _nowhere(_nowhere(topo, "services", "chat-api"), "stores", "redis")
    found = dict(unplaceable(topo))
    assert set(found) == {("services", services.index("chat-api"), "placement"),
                          ("stores", [s.name for s in topo.stores].index("redis"), "placement")}
    assert all(NO_NODE in message for message in found.values())
    assert "nodeSelector" in found[("services", services.index("chat-api"), "placement")]


def test_a_workload_scaled_to_zero_needs_no_node() -> None:
    topo = _nowhere(load_topology(BASE), "services", "chat-api", replicas=0)
    assert unplaceable(topo) == []
