"""APIs and workers: Deployments or StatefulSets (one per version subset), their
Services, PodDisruptionBudgets, HorizontalPodAutoscalers and the stand-in's
configuration.

A service with versions (v1, v2) gets one Deployment per version, all selected
by one Service (label `app`), so that DestinationRule subsets split by label
`version` as the canary does in the real cluster.
"""

from __future__ import annotations

import json
from typing import Any

from twin.model.topology import Service, Topology, Version, Workload
from twin.render import standin
from twin.render.callgraph import CallGraph
from twin.render.meta import (
    STANDIN_IMAGE,
    header,
    port_name,
    replica_only,
    resources,
    workload_labels,
)
from twin.render.placement import pod_placement

CONFIG_PATH = "/etc/standin"


def _versions(wl: Workload) -> list[Version | None]:
    return list(wl.versions) if wl.versions else [None]


def object_name(wl: Workload, version: Version | None) -> str:
    return f"{wl.name}-{version.name}" if version is not None else wl.name


def _container(wl: Workload, version: Version | None, image: str, uses_standin: bool) -> dict[str, Any]:
    c: dict[str, Any] = {"name": wl.name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if isinstance(wl, Service):
        port = {"name": wl.protocol, "containerPort": wl.port, "protocol": "TCP"}
        c["ports"] = [port]
        if wl.protocol == "http":
            c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": wl.port},
                                   "periodSeconds": 5}
        else:
            c["readinessProbe"] = {"tcpSocket": {"port": wl.port}, "periodSeconds": 5}
    elif uses_standin:
        c["ports"] = [{"name": "health", "containerPort": standin.STANDIN_PORT_WORKER, "protocol": "TCP"}]
        c["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": standin.STANDIN_PORT_WORKER},
                               "periodSeconds": 5}
    c["resources"] = resources(wl.resources)
    if uses_standin:
        c["env"] = [
            {"name": "STANDIN_CONFIG", "value": f"{CONFIG_PATH}/config.json"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]
        c["volumeMounts"] = [{"name": "standin-config", "mountPath": CONFIG_PATH, "readOnly": True}]
    if wl.pre_stop > 0:
        c["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", f"{wl.pre_stop:g}"]}}}
    return c


def _pod_template(topo: Topology, wl: Workload, version: Version | None, labels: dict[str, str],
                  image: str, uses_standin: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [_container(wl, version, image, uses_standin)],
        "terminationGracePeriodSeconds": int(wl.termination_grace),
        **pod_placement(wl.placement, wl.name),
    }
    if uses_standin:
        spec["volumes"] = [{"name": "standin-config",
                            "configMap": {"name": f"{object_name(wl, version)}-standin"}}]
    return {"metadata": {"labels": labels}, "spec": spec}


def _controller(topo: Topology, wl: Workload, version: Version | None, graph: CallGraph) -> list[dict]:
    vname = version.name if version is not None else "v1"
    labels = workload_labels(topo, wl, vname)
    if version is not None:
        labels.update(version.labels)
    name = object_name(wl, version)
    image = (version.image if version is not None and version.image else None) or wl.image
    uses_standin = image is None
    image = image or STANDIN_IMAGE
    out: list[dict[str, Any]] = []
    if uses_standin:
        cm = header("v1", "ConfigMap", f"{name}-standin", wl.namespace, labels=replica_only(labels))
        cm["data"] = {"config.json": json.dumps(standin.config(topo, graph, wl, version), indent=2,
                                                sort_keys=True)}
        out.append(cm)
    replicas = version.replicas if version is not None and version.replicas is not None else wl.replicas
    obj = header("apps/v1", wl.kind, name, wl.namespace, labels=labels)
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": wl.name, "version": vname}},
        "template": _pod_template(topo, wl, version, labels, image, uses_standin),
    }
    if wl.kind == "StatefulSet":
        spec["serviceName"] = wl.name
    if wl.hpa is not None:
        del spec["replicas"]  # the HPA owns replicas; applying them would fight it
    obj["spec"] = spec
    out.append(obj)
    if wl.hpa is not None:
        out.append(_hpa(topo, wl, name, labels))
    return out


def _hpa(topo: Topology, wl: Workload, target: str, labels: dict[str, str]) -> dict[str, Any]:
    hpa = wl.hpa
    assert hpa is not None
    obj = header("autoscaling/v2", "HorizontalPodAutoscaler", target, wl.namespace, labels=labels)
    if hpa.metric == "cpu":
        metric = {"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": round(hpa.target)}}}
    else:
        metric = {"type": "External", "external": {
            "metric": {"name": "rabbitmq_queue_messages_ready",
                       "selector": {"matchLabels": {"queue": hpa.queue or ""}}},
            "target": {"type": "AverageValue", "averageValue": f"{hpa.target:g}"}}}
    period = int(hpa.sync_period)
    obj["spec"] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": wl.kind, "name": target},
        "minReplicas": hpa.min,
        "maxReplicas": hpa.max,
        "metrics": [metric],
        "behavior": {
            "scaleDown": {"stabilizationWindowSeconds": int(hpa.scale_down_stabilization)},
            "scaleUp": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Percent", "value": round(hpa.scale_up_percent), "periodSeconds": period},
                    {"type": "Pods", "value": hpa.scale_up_pods, "periodSeconds": period},
                ],
            },
        },
    }
    return obj


def _service(topo: Topology, svc: Service) -> dict[str, Any]:
    labels = workload_labels(topo, svc)
    labels.pop("version")
    obj = header("v1", "Service", svc.name, svc.namespace, labels=labels)
    obj["spec"] = {
        "selector": {"app": svc.name},
        "ports": [{
            "name": port_name(svc.protocol, svc.role),
            "port": svc.port,
            "targetPort": svc.protocol,
            "protocol": "TCP",
            "appProtocol": svc.protocol,
        }],
    }
    return obj


def _pdb(topo: Topology, wl: Workload) -> dict[str, Any]:
    pdb = wl.pdb
    assert pdb is not None
    labels = workload_labels(topo, wl)
    labels.pop("version")
    obj = header("policy/v1", "PodDisruptionBudget", wl.name, wl.namespace, labels=labels)
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": wl.name}}}
    if pdb.min_available is not None:
        spec["minAvailable"] = pdb.min_available
    else:
        spec["maxUnavailable"] = pdb.max_unavailable
    obj["spec"] = spec
    return obj


def render(topo: Topology, graph: CallGraph) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for wl in topo.workloads:
        for version in _versions(wl):
            out.extend(_controller(topo, wl, version, graph))
        if isinstance(wl, Service):
            out.append(_service(topo, wl))
        if wl.pdb is not None:
            out.append(_pdb(topo, wl))
    return out
