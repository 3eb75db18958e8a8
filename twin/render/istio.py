"""Istio objects: the eco2-gateway Gateway, VirtualServices (weights, timeout,
retries, faults), DestinationRules (subsets, load balancer, outlier detection,
connection pool) and a mesh-wide PeerAuthentication.

Field names follow istio/api networking/v1alpha3 (JSON names of the proto
fields); durations are Go-style strings (`30s`, `250ms`). On kind the ingress
gateway is reached through a NodePort Service (replica-only) that kind maps to
127.0.0.1.
"""

from __future__ import annotations

from typing import Any

from twin.graph.naming import dns_name as fqdn
from twin.model.topology import (
    DestinationRule,
    FaultInjection,
    HTTPRoute,
    Retries,
    Topology,
    VirtualService,
)
from twin.render.meta import duration, header, replica_only

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
GATEWAY_SELECTOR = {"istio": "ingressgateway"}
GATEWAY_POD_PORT = 8080
"""The ingress gateway pod listens on 8080 for the Gateway's port 80 (istioctl defaults)."""


def _gateway_ref(topo: Topology, name: str) -> str:
    assert topo.mesh is not None
    gw = topo.mesh.gateway
    if name == gw.name:
        return f"{gw.namespace}/{gw.name}"
    return name


def gateway(topo: Topology) -> list[dict[str, Any]]:
    assert topo.mesh is not None
    gw = topo.mesh.gateway
    obj = header(NETWORKING, "Gateway", gw.name, gw.namespace)
    obj["spec"] = {
        "selector": dict(GATEWAY_SELECTOR),
        "servers": [{"port": {"number": gw.port, "name": "http", "protocol": "HTTP"},
                     "hosts": list(gw.hosts)}],
    }
    svc = header("v1", "Service", f"{gw.name}-nodeport", gw.namespace, labels=replica_only())
    svc["spec"] = {
        "type": "NodePort",
        "selector": dict(GATEWAY_SELECTOR),
        "ports": [{"name": "http2", "port": gw.port, "targetPort": GATEWAY_POD_PORT,
                   "nodePort": gw.node_port, "protocol": "TCP"}],
    }
    return [obj, svc]


def _retries(r: Retries) -> dict[str, Any]:
    out: dict[str, Any] = {"attempts": r.attempts}
    if r.per_try_timeout is not None:
        out["perTryTimeout"] = duration(r.per_try_timeout)
    if r.retry_on:
        out["retryOn"] = ",".join(r.retry_on)
    return out


def _fault(f: FaultInjection) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.delay is not None:
        out["delay"] = {"fixedDelay": duration(f.delay), "percentage": {"value": f.delay_percent}}
    if f.abort_status is not None:
        out["abort"] = {"httpStatus": f.abort_status, "percentage": {"value": f.abort_percent}}
    return out


def _http(topo: Topology, http: HTTPRoute) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if http.name:
        out["name"] = http.name
    matches = []
    for m in http.match:
        match: dict[str, Any] = {}
        if m.uri_prefix is not None:
            match["uri"] = {"prefix": m.uri_prefix}
        elif m.uri_exact is not None:
            match["uri"] = {"exact": m.uri_exact}
        if m.headers:
            match["headers"] = {k: {"exact": v} for k, v in m.headers.items()}
        if match:
            matches.append(match)
    if matches:
        out["match"] = matches
    routes = []
    for d in http.route:
        dest: dict[str, Any] = {"host": fqdn(topo, d.host)}
        if d.subset:
            dest["subset"] = d.subset
        if d.port is not None:
            dest["port"] = {"number": d.port}
        routes.append({"destination": dest, "weight": d.weight})
    out["route"] = routes
    if http.timeout is not None:
        out["timeout"] = duration(http.timeout)
    if http.retries is not None:
        out["retries"] = _retries(http.retries)
    if http.fault is not None:
        fault = _fault(http.fault)
        if fault:
            out["fault"] = fault
    return out


def virtual_service(topo: Topology, vs: VirtualService) -> dict[str, Any]:
    assert topo.mesh is not None
    gateways = [_gateway_ref(topo, g) for g in vs.gateways]
    hosts = [fqdn(topo, h) for h in vs.hosts]
    if not hosts:
        if gateways:
            hosts = list(topo.mesh.gateway.hosts)
        if not gateways or "mesh" in gateways:
            for http in vs.http:
                for d in http.route:
                    h = fqdn(topo, d.host)
                    if h not in hosts:
                        hosts.append(h)
    obj = header(NETWORKING, "VirtualService", vs.name, vs.namespace)
    spec: dict[str, Any] = {"hosts": hosts}
    if gateways:
        spec["gateways"] = gateways
    spec["http"] = [_http(topo, h) for h in vs.http]
    obj["spec"] = spec
    return obj


def destination_rule(topo: Topology, dr: DestinationRule) -> dict[str, Any]:
    policy: dict[str, Any] = {"loadBalancer": {"simple": dr.load_balancer}}
    if dr.connection_pool is not None:
        cp = dr.connection_pool
        pool: dict[str, Any] = {}
        if cp.max_connections is not None:
            pool["tcp"] = {"maxConnections": cp.max_connections}
        http: dict[str, Any] = {}
        if cp.http1_max_pending_requests is not None:
            http["http1MaxPendingRequests"] = cp.http1_max_pending_requests
        if cp.http2_max_requests is not None:
            http["http2MaxRequests"] = cp.http2_max_requests
        if http:
            pool["http"] = http
        if pool:
            policy["connectionPool"] = pool
    if dr.outlier_detection is not None:
        od = dr.outlier_detection
        policy["outlierDetection"] = {
            "consecutive5xxErrors": od.consecutive_5xx_errors,
            "interval": duration(od.interval),
            "baseEjectionTime": duration(od.base_ejection_time),
            "maxEjectionPercent": round(od.max_ejection_percent),
        }
    obj = header(NETWORKING, "DestinationRule", dr.name, dr.namespace)
    spec: dict[str, Any] = {"host": fqdn(topo, dr.host), "trafficPolicy": policy}
    if dr.subsets:
        spec["subsets"] = [{"name": s.name, "labels": dict(s.labels)} for s in dr.subsets]
    obj["spec"] = spec
    return obj


def peer_authentication(topo: Topology) -> dict[str, Any]:
    """Named `default` in the root namespace (istio-system): mesh-wide."""
    assert topo.mesh is not None
    obj = header(SECURITY, "PeerAuthentication", "default", "istio-system")
    obj["spec"] = {"mtls": {"mode": topo.mesh.mtls}}
    return obj


def render(topo: Topology) -> list[dict[str, Any]]:
    if topo.mesh is None:
        return []
    out = gateway(topo)
    out += [virtual_service(topo, vs) for vs in topo.mesh.virtual_services]
    out += [destination_rule(topo, dr) for dr in topo.mesh.destination_rules]
    out.append(peer_authentication(topo))
    return out
