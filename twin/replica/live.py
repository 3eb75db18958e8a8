"""Live views of the replica through the client (never by shelling out to
kubectl): what the architecture document's cluster-status.sh and
domain-check.sh show, as plain data the CLI prints.

`live_status` and `live_domain` are what `twin status --live` and
`twin domain NAME --live` call: on the twin's kind replica, or with
--kubeconfig/--context on a dedicated cluster or vcluster (as `twin up`).
`twin status --live --probe-network-policy` adds `probe_network_policy`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twin.model.topology import Topology

TIERS = ("business-logic", "worker", "integration", "data")
"""The tiers cluster-status.sh counts pods for."""
PART_OF = "app.kubernetes.io/part-of=ecoeco-backend"


def _client(topology: Topology, kubeconfig: Path | str | None, context: str | None) -> Any:
    from twin.render.kind_config import cluster_name
    from twin.replica import kind
    from twin.replica.apply import api_client

    if kubeconfig is None:
        kubeconfig = kind.kubeconfig_path(cluster_name(topology))
        if not Path(kubeconfig).exists():
            raise kind.CannotRun(
                f"no replica of {cluster_name(topology)} is up (no kubeconfig at {kubeconfig})",
                "run `twin up` (or `make twin-up`), or pass --kubeconfig/--context",
            )
    try:
        return api_client(kubeconfig, context)
    except Exception as e:  # kubernetes.config.ConfigException, a missing or unreadable file
        raise kind.CannotRun(f"cannot use kubeconfig {kubeconfig}"
                             f"{f' context {context}' if context else ''}: {e}",
                             "check --kubeconfig/--context (`kubectl config get-contexts "
                             "--kubeconfig FILE`)") from None


def _pod(p: Any) -> dict[str, Any]:
    statuses = p.status.container_statuses or []
    return {
        "name": p.metadata.name,
        "namespace": p.metadata.namespace,
        "ready": f"{sum(1 for c in statuses if c.ready)}/{len(p.spec.containers)}",
        "status": p.status.phase,
        "restarts": sum(c.restart_count for c in statuses),
        "node": p.spec.node_name,
        "ip": p.status.pod_ip,
        "version": (p.metadata.labels or {}).get("version"),
        "containers": [c.name for c in p.spec.containers],
    }


def _node(n: Any) -> dict[str, Any]:
    labels = n.metadata.labels or {}
    ready = next((c.status == "True" for c in n.status.conditions or [] if c.type == "Ready"), False)
    return {
        "name": n.metadata.name,
        "model_node": labels.get("twin.eco2/node"),
        "pool": labels.get("node-pool") or labels.get("twin.eco2/pool"),
        "roles": sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/")),
        "ready": ready,
        "schedulable": not (n.spec and n.spec.unschedulable),
        "taints": [f"{t.key}={t.value or ''}:{t.effect}" for t in (n.spec and n.spec.taints) or []],
        "internal_ip": next((a.address for a in n.status.addresses or [] if a.type == "InternalIP"), None),
        "kubelet": n.status.node_info.kubelet_version if n.status.node_info else None,
    }


def _reachable(api: Any) -> None:
    """A replica that does not answer is a CannotRun, not a traceback."""
    from kubernetes import client

    from twin.replica.kind import CannotRun

    try:
        client.VersionApi(api).get_code(_request_timeout=10)
    except Exception as e:  # urllib3 connection errors, TLS errors, 5xx
        raise CannotRun(f"the replica's API server at {api.configuration.host} does not answer "
                        f"({type(e).__name__})",
                        "start it with `twin up`, or check --kubeconfig/--context") from None


def live_status(topology: Topology, kubeconfig: Path | str | None = None, context: str | None = None,
                probe: bool = False, api: Any = None) -> dict[str, Any]:
    """cluster-status.sh: cluster info, nodes, ecoeco-backend namespaces, pods per
    tier, node usage (None when metrics are not available)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = api or _client(topology, kubeconfig, context)
    _reachable(api)
    core = client.CoreV1Api(api)
    version = client.VersionApi(api).get_code()
    namespaces = []
    for ns in core.list_namespace(label_selector=PART_OF).items:
        labels = ns.metadata.labels or {}
        namespaces.append({"name": ns.metadata.name, "tier": labels.get("tier"),
                           "domain": labels.get("domain"), "environment": labels.get("environment"),
                           "status": ns.status.phase})
    pods_by_tier = {tier: len(core.list_pod_for_all_namespaces(label_selector=f"tier={tier}").items)
                    for tier in TIERS}
    usage = None
    try:
        metrics = client.CustomObjectsApi(api).list_cluster_custom_object("metrics.k8s.io", "v1beta1", "nodes")
        usage = [{"name": m["metadata"]["name"], "cpu": m["usage"]["cpu"], "memory": m["usage"]["memory"]}
                 for m in metrics.get("items", [])]
    except ApiException:
        usage = None
    data: dict[str, Any] = {
        "cluster": {"server": api.configuration.host, "version": version.git_version,
                    "context": context},
        "nodes": [_node(n) for n in core.list_node().items],
        "namespaces": namespaces,
        "pods_by_tier": pods_by_tier,
        "usage": usage,
    }
    if probe:
        data["network_policy"] = probe_network_policy(topology, api)
    return data


def live_domain(topology: Topology, domain: str, kubeconfig: Path | str | None = None,
                context: str | None = None, api: Any = None) -> dict[str, Any]:
    """domain-check.sh: a domain's API pods, worker pods, services and config maps."""
    from kubernetes import client

    api = api or _client(topology, kubeconfig, context)
    _reachable(api)
    core = client.CoreV1Api(api)
    pods = core.list_pod_for_all_namespaces
    return {
        "domain": domain,
        "api_pods": [_pod(p) for p in pods(label_selector=f"domain={domain},tier=business-logic").items],
        "worker_pods": [_pod(p) for p in pods(label_selector=f"domain={domain},tier=worker").items],
        "services": [{"name": s.metadata.name, "namespace": s.metadata.namespace, "type": s.spec.type,
                      "cluster_ip": s.spec.cluster_ip,
                      "ports": [f"{p.port}/{p.protocol}" for p in s.spec.ports or []]}
                     for s in core.list_service_for_all_namespaces(label_selector=f"domain={domain}").items],
        "configmaps": [{"name": c.metadata.name, "namespace": c.metadata.namespace,
                        "data": len(c.data or {})}
                       for c in core.list_config_map_for_all_namespaces(label_selector=f"domain={domain}").items],
    }


PROBE_IMAGE = "busybox:1.36"


def probe_network_policy(topology: Topology, api: Any, timeout: float = 90) -> dict[str, Any]:
    """Start a pod that speaks as a workload and tries a connection its policies
    allow and one they must refuse. Enforcement depends on the CNI, so it is
    observed, not assumed: `enforced` is True only when the allowed connection
    works and the forbidden one does not."""
    from kubernetes import client

    from twin.render import callgraph, policies

    if topology.cluster.network_policy != "strict":
        return {"applicable": False, "why": "network_policy is loose in this topology"}
    graph = callgraph.build(topology)
    forbidden = policies.forbidden_connection(topology, graph)
    if forbidden is None:
        return {"applicable": False, "why": "every workload may reach every target"}
    ns, app, host, port = forbidden
    allowed = next(((b, ns_, app_, ports[0]) for a, b in sorted(graph.edges) if a == app
                    for ns_, app_, ports in policies.targets(topology, b)), None)
    core = client.CoreV1Api(api)
    name = f"twin-netpol-probe-{int(time.time())}"
    lines = [f"nc -z -w 3 {host} {port} && echo FORBIDDEN_OPEN || echo FORBIDDEN_REFUSED"]
    if allowed is not None:
        target, a_ns, a_app, a_port = allowed
        store = topology.store(target)
        a_host = store.service if store is not None and a_app == store.name else a_app
        lines.insert(0, f"nc -z -w 3 {a_host}.{a_ns}.svc.cluster.local {a_port} "
                        "&& echo ALLOWED_OPEN || echo ALLOWED_REFUSED")
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns,
                     "labels": {"app": app, "twin.eco2/replica-only": "true"},
                     "annotations": {"sidecar.istio.io/inject": "false"}},
        "spec": {"restartPolicy": "Never",
                 "tolerations": [{"operator": "Exists"}],
                 "containers": [{"name": "probe", "image": PROBE_IMAGE,
                                 "command": ["sh", "-c", "; ".join(lines)]}]},
    }
    core.create_namespaced_pod(ns, pod)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            phase = core.read_namespaced_pod(name, ns).status.phase
            if phase in ("Succeeded", "Failed"):
                break
            time.sleep(1)
        else:
            return {"applicable": True, "enforced": None, "why": f"probe pod did not finish in {timeout:g}s"}
        log = core.read_namespaced_pod_log(name, ns)
    finally:
        core.delete_namespaced_pod(name, ns, grace_period_seconds=0)
    refused = "FORBIDDEN_REFUSED" in log
    allowed_ok = allowed is None or "ALLOWED_OPEN" in log
    data: dict[str, Any] = {"applicable": True, "from": f"{ns}/{app}", "to": f"{host}:{port}",
                            "refused": refused, "allowed_works": allowed_ok, "enforced": refused and allowed_ok}
    if not refused:
        data["warning"] = (f"the cluster's CNI does not enforce NetworkPolicies: {ns}/{app} reached "
                           f"{host}:{port}, which the strict policies forbid; install a CNI that "
                           "enforces them (Calico, Cilium) before trusting isolation results")
    elif not allowed_ok:
        data["warning"] = (f"the probe could not reach what its policies allow ({ns}/{app} -> "
                           f"{allowed[0] if allowed else '?'}): the refusal proves nothing; "
                           "is the target running?")
    return data
