"""Server-side apply of rendered objects with the official client.

Through `kubernetes.dynamic.DynamicClient`, each object at its own namespace
(never `utils.create_from_yaml`, whose default namespace="default" overrides
metadata.namespace, so objects of other namespaces would land in default). CustomResourceDefinitions go first and are
waited for until Established, then discovery is refreshed; namespaces and
cluster-scoped objects come before what lives in them. Apply is a PATCH, so a
second run changes what differs and recreates nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.render.meta import FIELD_MANAGER

ORDER = [
    "CustomResourceDefinition", "Namespace", "StorageClass", "PriorityClass", "ServiceAccount",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "Secret",
    "PersistentVolumeClaim", "Service", "StatefulSet", "Deployment", "DaemonSet",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "APIService",
]
Progress = Callable[[str], None]


class ApplyError(Exception):
    """The cluster refused an object, or does not serve its kind."""


@dataclass
class Applied:
    kind: str
    namespace: str | None
    name: str
    action: str  # created, configured, unchanged


@dataclass
class ApplyResult:
    applied: list[Applied] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for a in self.applied if a.action == action)

    def summary(self) -> str:
        return ", ".join(f"{self.count(a)} {a}" for a in ("created", "configured", "unchanged"))


def api_client(kubeconfig: Path | str | None, context: str | None) -> Any:
    """An ApiClient for exactly this kubeconfig and context (the global default is untouched)."""
    from kubernetes import config

    return config.new_client_from_config(
        config_file=str(kubeconfig) if kubeconfig else None, context=context
    )


def dynamic_client(api: Any, cache_file: Path | None = None) -> Any:
    import tempfile

    from kubernetes.dynamic import DynamicClient

    if cache_file is None:  # a fresh discovery cache per run: stale kinds mislead
        cache_file = Path(tempfile.mkdtemp(prefix="twin-discovery-")) / "cache.json"
    return DynamicClient(api, cache_file=str(cache_file))


def rank(obj: dict[str, Any]) -> int:
    kind = obj["kind"]
    return ORDER.index(kind) if kind in ORDER else len(ORDER)


def _ident(obj: dict[str, Any]) -> str:
    ns = obj["metadata"].get("namespace")
    return f"{obj['kind']}/{ns + '/' if ns else ''}{obj['metadata']['name']}"


def _resource(dyn: Any, obj: dict[str, Any]) -> Any:
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    try:
        return dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    except ResourceNotFoundError:
        raise ApplyError(
            f"the cluster does not serve {obj['apiVersion']} {obj['kind']} (needed by {_ident(obj)})"
        ) from None


def apply_one(dyn: Any, obj: dict[str, Any], field_manager: str = FIELD_MANAGER) -> Applied:
    from kubernetes.client.exceptions import ApiException

    res = _resource(dyn, obj)
    name = obj["metadata"]["name"]
    ns = obj["metadata"].get("namespace") if res.namespaced else None
    if res.namespaced and not ns:
        raise ApplyError(f"{_ident(obj)} is namespaced but names no namespace")
    try:
        before = res.get(name=name, namespace=ns)
        old_version = before.metadata.resourceVersion
    except ApiException as e:
        if e.status != 404:
            raise ApplyError(f"{_ident(obj)}: {e.status} {e.reason}") from None
        old_version = None
    try:
        after = res.server_side_apply(body=obj, name=name, namespace=ns,
                                      field_manager=field_manager, force_conflicts=True)
    except ApiException as e:
        raise ApplyError(f"{_ident(obj)} refused: {e.status} {_message(e)}") from None
    if old_version is None:
        action = "created"
    elif after.metadata.resourceVersion == old_version:
        action = "unchanged"
    else:
        action = "configured"
    return Applied(obj["kind"], ns, name, action)


def _message(e: Any) -> str:
    import json

    try:
        return json.loads(e.body).get("message", e.reason)
    except (TypeError, ValueError):
        return str(e.reason)


def wait_established(dyn: Any, names: list[str], timeout: float = 60, interval: float = 0.5) -> None:
    res = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    deadline = time.monotonic() + timeout
    pending = list(names)
    while pending:
        still = []
        for name in pending:
            crd = res.get(name=name).to_dict()
            conditions = (crd.get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                still.append(name)
        pending = still
        if pending and time.monotonic() > deadline:
            raise ApplyError(f"CustomResourceDefinitions not Established after {timeout:g}s: "
                             + ", ".join(pending))
        if pending:
            time.sleep(interval)


def apply(objects: list[dict[str, Any]], api: Any, progress: Progress | None = None,
          crd_timeout: float = 60, cache_file: Path | None = None) -> ApplyResult:
    say = progress or (lambda _: None)
    dyn = dynamic_client(api, cache_file)
    result = ApplyResult()
    crds = [o for o in objects if o["kind"] == "CustomResourceDefinition"]
    rest = sorted((o for o in objects if o["kind"] != "CustomResourceDefinition"), key=rank)
    for obj in crds:
        result.applied.append(apply_one(dyn, obj))
        say(f"{result.applied[-1].action:10} {_ident(obj)}")
    if crds:
        say(f"waiting for {len(crds)} CustomResourceDefinition(s) to be Established")
        wait_established(dyn, [c["metadata"]["name"] for c in crds], crd_timeout)
        dyn.resources.invalidate_cache()
    for obj in rest:
        result.applied.append(apply_one(dyn, obj))
        say(f"{result.applied[-1].action:10} {_ident(obj)}")
    return result
