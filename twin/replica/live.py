"""Live views of the replica through the client (never by shelling out to
kubectl): what the architecture document's cluster-status.sh and
domain-check.sh show. This module asks the API server; twin.views turns the
objects it answers (as plain JSON) into the same rows the model gives.

`status_view` and `domain_view` are what `twin status --live` and
`twin domain NAME --live` print: on the twin's kind replica, or with
--kubeconfig/--context on a dedicated cluster or vcluster (as `twin up`).
`live_status` and `live_domain` are the same views as plain data (their JSON).
`twin status --live --probe-network-policy` adds `probe_network_policy`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.views.domain import POD_GROUPS, DomainView
from twin.views.status import PART_OF_SELECTOR, TIERS, ClusterStatus


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


def _json(api: Any, listed: Any) -> list[dict[str, Any]]:
    """A list call's items as the API server writes them (camelCase JSON)."""
    return api.sanitize_for_serialization(listed.items)


def status_view(topology: Topology, kubeconfig: Path | str | None = None,
                context: str | None = None, probe: bool = False, api: Any = None) -> ClusterStatus:
    """cluster-status.sh: cluster info, nodes, ecoeco-backend namespaces, pods per
    tier, node usage (None when metrics are not available)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api = api or _client(topology, kubeconfig, context)
    _reachable(api)
    core = client.CoreV1Api(api)
    version = client.VersionApi(api).get_code()
    pods_by_tier = {tier: len(core.list_pod_for_all_namespaces(label_selector=f"tier={tier}").items)
                    for tier in TIERS}
    try:
        usage = client.CustomObjectsApi(api).list_cluster_custom_object(
            "metrics.k8s.io", "v1beta1", "nodes").get("items", [])
    except ApiException:
        usage = None
    return ClusterStatus.from_live(
        {"server": api.configuration.host, "version": version.git_version, "context": context},
        nodes=_json(api, core.list_node()),
        namespaces=_json(api, core.list_namespace(label_selector=PART_OF_SELECTOR)),
        pods_by_tier=pods_by_tier, usage=usage,
        network_policy=probe_network_policy(topology, api) if probe else None)


def live_status(topology: Topology, kubeconfig: Path | str | None = None, context: str | None = None,
                probe: bool = False, api: Any = None) -> dict[str, Any]:
    """`status_view` as plain data."""
    return status_view(topology, kubeconfig, context, probe, api).to_dict()


def domain_view(topology: Topology, domain: str, kubeconfig: Path | str | None = None,
                context: str | None = None, api: Any = None) -> DomainView:
    """domain-check.sh: a domain's API pods, worker pods, services and config maps."""
    from kubernetes import client

    api = api or _client(topology, kubeconfig, context)
    _reachable(api)
    core = client.CoreV1Api(api)
    selector = f"domain={domain}"
    pods = {g.key: _json(api, core.list_pod_for_all_namespaces(label_selector=g.selector(domain)))
            for g in POD_GROUPS if g.live}
    return DomainView.from_live(
        domain, pods,
        services=_json(api, core.list_service_for_all_namespaces(label_selector=selector)),
        configmaps=_json(api, core.list_config_map_for_all_namespaces(label_selector=selector)))


def live_domain(topology: Topology, domain: str, kubeconfig: Path | str | None = None,
                context: str | None = None, api: Any = None) -> dict[str, Any]:
    """`domain_view` as plain data."""
    return domain_view(topology, domain, kubeconfig, context, api).to_dict()


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
