"""Room holders for the platform: ArgoCD, External Secrets, Prometheus, Grafana and
DaemonSets such as node-exporter take CPU and memory on the real nodes, so on the
replica a sleeping container with the same requests and placement takes the same
room where the taints let it run. The scheduler then sees the nodes as full as the
real ones, and the simulator's placement can be compared with the replica's.

Left to their own installers: istio-system (istioctl) and kube-system (kind ships
kube-proxy and its own CNI). Every object carries the replica-only label: the real
components are not stand-ins.
"""

from __future__ import annotations

from typing import Any

from twin.model.topology import DaemonSet, PlatformComponent, Topology
from twin.render.meta import STANDIN_IMAGE, header, replica_only, resources
from twin.render.placement import pod_placement

SLEEP = ["python", "-c", "import signal; signal.pause()"]
"""Run in the stand-in's image, which `twin up` loads into kind: nothing is pulled."""
INSTALLED_ELSEWHERE = frozenset({"istio-system", "kube-system"})


def _template(item: PlatformComponent | DaemonSet, labels: dict[str, str]) -> dict[str, Any]:
    container = {"name": item.name, "image": STANDIN_IMAGE, "imagePullPolicy": "IfNotPresent",
                 "command": SLEEP, "resources": resources(item.resources)}
    spec = {"containers": [container], "terminationGracePeriodSeconds": 0,
            **pod_placement(item.placement, item.name)}
    return {"metadata": {"labels": labels}, "spec": spec}


def _labels(item: PlatformComponent | DaemonSet) -> dict[str, str]:
    return replica_only({"app": item.name, "tier": "platform",
                         "app.kubernetes.io/component": "room-holder"})


def left_out(topo: Topology) -> list[str]:
    """Platform pods this module leaves to another installer, for `twin up` to say so."""
    return [f"{x.namespace}/{x.name}" for x in [*topo.platform, *topo.daemonsets]
            if x.namespace in INSTALLED_ELSEWHERE]


def render(topo: Topology) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for comp in topo.platform:
        if comp.namespace in INSTALLED_ELSEWHERE:
            continue
        labels = _labels(comp)
        obj = header("apps/v1", comp.kind, comp.name, comp.namespace, labels=labels)
        obj["spec"] = {"replicas": comp.replicas,
                       "selector": {"matchLabels": {"app": comp.name}},
                       "template": _template(comp, labels)}
        if comp.kind == "StatefulSet":
            obj["spec"]["serviceName"] = comp.name
        out.append(obj)
    for ds in topo.daemonsets:
        if ds.namespace in INSTALLED_ELSEWHERE:
            continue
        labels = _labels(ds)
        obj = header("apps/v1", "DaemonSet", ds.name, ds.namespace, labels=labels)
        obj["spec"] = {"selector": {"matchLabels": {"app": ds.name}},
                       "template": _template(ds, labels)}
        out.append(obj)
    return out
