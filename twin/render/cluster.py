"""Cluster-wide objects: namespaces with the document's labels, StorageClasses.

The real gp3 StorageClass provisions EBS volumes; on kind it is mapped to the
local-path provisioner kind ships, keeping its name so PVCs stay unchanged.
"""

from __future__ import annotations

from typing import Any

from twin.model.topology import Topology
from twin.render.meta import ADAPTED, header

LOCAL_PATH = "rancher.io/local-path"


def namespaces(topo: Topology) -> list[dict[str, Any]]:
    out = []
    names = [ns.name for ns in topo.namespaces]
    for ns in topo.namespaces:
        labels = topo.namespace_labels(ns)
        labels["istio-injection"] = "enabled" if ns.sidecar_injection else "disabled"
        out.append(header("v1", "Namespace", ns.name, labels=labels))
    # namespaces the model uses without declaring them
    used = [w.namespace for w in topo.workloads] + [s.namespace for s in topo.stores]
    if topo.mesh is not None:
        used.append(topo.mesh.gateway.namespace)
    for name in used:
        if name not in names:
            names.append(name)
            out.append(header("v1", "Namespace", name, labels={"environment": topo.cluster.environment}))
    return out


def storage_classes(topo: Topology) -> list[dict[str, Any]]:
    classes = list(topo.cluster.storage_classes)
    out = []
    for sc in classes:
        annotations = {"twin.eco2/real-provisioner": sc.provisioner}
        if sc.parameters:
            annotations["twin.eco2/real-parameters"] = ",".join(
                f"{k}={v}" for k, v in sorted(sc.parameters.items())
            )
        if sc.default:
            annotations["storageclass.kubernetes.io/is-default-class"] = "true"
        obj = header("storage.k8s.io/v1", "StorageClass", sc.name,
                     labels={ADAPTED: "true"}, annotations=annotations)
        obj["provisioner"] = LOCAL_PATH
        obj["reclaimPolicy"] = sc.reclaim_policy
        obj["volumeBindingMode"] = sc.volume_binding_mode
        out.append(obj)
    if not any(sc.name == "gp3" for sc in classes):
        obj = header("storage.k8s.io/v1", "StorageClass", "gp3", labels={ADAPTED: "true"},
                     annotations={"twin.eco2/real-provisioner": "ebs.csi.aws.com"})
        obj.update({"provisioner": LOCAL_PATH, "reclaimPolicy": "Delete",
                    "volumeBindingMode": "WaitForFirstConsumer"})
        out.append(obj)
    return out
