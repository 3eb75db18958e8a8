"""NetworkPolicies: loose in dev (an explicit allow-all per namespace), strict in
prod (default-deny ingress per namespace, then allows along the routes' call
graph and the workloads' store clients, plus traffic inside data namespaces for
replication and Sentinel gossip). Egress stays open: DNS and the mesh control
plane need it and the architecture document names no egress rules.
"""

from __future__ import annotations

from typing import Any

from twin.model.topology import Redis, Topology
from twin.render.callgraph import GATEWAY, CallGraph
from twin.render.meta import header

NS_NAME = "kubernetes.io/metadata.name"


def _policy(name: str, ns: str, env: str, spec: dict[str, Any]) -> dict[str, Any]:
    obj = header("networking.k8s.io/v1", "NetworkPolicy", name, ns, labels={"environment": env})
    obj["spec"] = spec
    return obj


def _peer(topo: Topology, caller: str) -> dict[str, Any] | None:
    if caller == GATEWAY:
        ns = topo.mesh.gateway.namespace if topo.mesh else "istio-system"
        return {"namespaceSelector": {"matchLabels": {NS_NAME: ns}},
                "podSelector": {"matchLabels": {"istio": "ingressgateway"}}}
    wl = topo.workload(caller)
    if wl is None:
        return None
    return {"namespaceSelector": {"matchLabels": {NS_NAME: wl.namespace}},
            "podSelector": {"matchLabels": {"app": wl.name}}}


def _namespaces(topo: Topology) -> list[str]:
    names: list[str] = []
    for ns in [w.namespace for w in topo.workloads] + [s.namespace for s in topo.stores]:
        if ns not in names:
            names.append(ns)
    return names


def targets(topo: Topology, name: str) -> list[tuple[str, str, list[int]]]:
    """(namespace, pod app label, ports) that a caller of `name` must reach."""
    svc = topo.service(name)
    if svc is not None:
        return [(svc.namespace, svc.name, [svc.port])]
    store = topo.store(name)
    if store is None:
        return []
    if isinstance(store, Redis) and store.mode == "sentinel" and store.sentinel is not None:
        return [(store.namespace, store.name, [store.port]),
                (store.namespace, f"{store.name}-sentinel", [store.sentinel.port])]
    ports = [store.port]
    if hasattr(store, "management_port"):
        ports.append(store.management_port)
    return [(store.namespace, store.name, ports)]


def strict(topo: Topology, graph: CallGraph) -> list[dict[str, Any]]:
    env = topo.cluster.environment
    out = [
        _policy("default-deny-ingress", ns, env, {"podSelector": {}, "policyTypes": ["Ingress"]})
        for ns in _namespaces(topo)
    ]
    callees = sorted({b for _, b in graph.edges})
    for callee in callees:
        peers = [p for c in sorted(graph.callers(callee)) if (p := _peer(topo, c)) is not None]
        if not peers:
            continue
        for ns, app, ports in targets(topo, callee):
            out.append(_policy(f"allow-to-{app}", ns, env, {
                "podSelector": {"matchLabels": {"app": app}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": peers,
                             "ports": [{"protocol": "TCP", "port": p} for p in ports]}],
            }))
    for ns in sorted({s.namespace for s in topo.stores}):
        out.append(_policy("allow-same-namespace", ns, env, {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
        }))
    return out


def loose(topo: Topology) -> list[dict[str, Any]]:
    env = topo.cluster.environment
    return [
        _policy("allow-all-ingress", ns, env,
                {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]})
        for ns in _namespaces(topo)
    ]


def forbidden_connection(topo: Topology, graph: CallGraph) -> tuple[str, str, str, int] | None:
    """A (client namespace, client app, host, port) that strict policies must refuse:
    a workload reaching a store or service it has no edge to."""
    for wl in topo.workloads:
        for target in [*topo.stores, *topo.services]:
            if target.name == wl.name or (wl.name, target.name) in graph.edges:
                continue
            if target.namespace == wl.namespace:
                continue
            for ns, app, ports in targets(topo, target.name):
                host = (f"{topo.store(target.name).service}.{ns}.svc.cluster.local"
                        if topo.store(target.name) is not None and app == target.name
                        else f"{app}.{ns}.svc.cluster.local")
                return wl.namespace, wl.name, host, ports[0]
    return None


def render(topo: Topology, graph: CallGraph) -> list[dict[str, Any]]:
    return strict(topo, graph) if topo.cluster.network_policy == "strict" else loose(topo)
