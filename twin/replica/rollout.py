"""Wait for rollouts as `kubectl rollout status` judges them (kubectl's
polymorphichelpers/rollout_status.go), not by condition Available alone
(an Available Deployment may still run old pods): a Deployment is done when its generation is observed, it has not
exceeded its progress deadline, all replicas are updated, no old ones remain
and the updated ones are available.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


class RolloutFailed(Exception):
    """A rollout exceeded its progress deadline, or did not finish in time."""


@dataclass(frozen=True)
class Status:
    done: bool
    message: str


def _get(d: dict[str, Any] | None, *path: str, default: Any = 0) -> Any:
    for key in path:
        if not isinstance(d, dict) or d.get(key) is None:
            return default
        d = d[key]
    return d


def deployment_status(obj: dict[str, Any]) -> Status:
    name = obj["metadata"]["name"]
    generation = _get(obj, "metadata", "generation")
    status = obj.get("status") or {}
    if generation > _get(status, "observedGeneration"):
        return Status(False, "Waiting for deployment spec update to be observed...")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutFailed(f'deployment "{name}" exceeded its progress deadline')
    replicas = _get(obj, "spec", "replicas", default=None)
    updated = _get(status, "updatedReplicas")
    if replicas is not None and updated < replicas:
        return Status(False, f'Waiting for deployment "{name}" rollout to finish: '
                             f"{updated} out of {replicas} new replicas have been updated...")
    if _get(status, "replicas") > updated:
        return Status(False, f'Waiting for deployment "{name}" rollout to finish: '
                             f"{_get(status, 'replicas') - updated} old replicas are pending termination...")
    available = _get(status, "availableReplicas")
    if available < updated:
        return Status(False, f'Waiting for deployment "{name}" rollout to finish: '
                             f"{available} of {updated} updated replicas are available...")
    return Status(True, f'deployment "{name}" successfully rolled out')


def statefulset_status(obj: dict[str, Any]) -> Status:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {"type": "RollingUpdate"}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        raise RolloutFailed("rollout status is only available for RollingUpdate strategy type")
    observed = _get(status, "observedGeneration")
    if observed == 0 or _get(obj, "metadata", "generation") > observed:
        return Status(False, "Waiting for statefulset spec update to be observed...")
    replicas = spec.get("replicas", 1)
    ready = _get(status, "readyReplicas")
    if ready < replicas:
        return Status(False, f"Waiting for {replicas - ready} pods to be ready...")
    partition = _get(strategy, "rollingUpdate", "partition", default=None)
    if partition is not None:
        updated = _get(status, "updatedReplicas")
        if updated < replicas - partition:
            return Status(False, "Waiting for partitioned roll out to finish: "
                                 f"{updated} out of {replicas - partition} new pods have been updated...")
        return Status(True, f"partitioned roll out complete: {updated} new pods have been updated...")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Status(False, "waiting for statefulset rolling update to complete "
                             f"{_get(status, 'updatedReplicas')} pods at revision {status.get('updateRevision')}...")
    return Status(True, f"statefulset rolling update complete {status.get('currentReplicas', replicas)} "
                        f"pods at revision {status.get('currentRevision')}...")


def daemonset_status(obj: dict[str, Any]) -> Status:
    name = obj["metadata"]["name"]
    status = obj.get("status") or {}
    if _get(obj, "metadata", "generation") > _get(status, "observedGeneration"):
        return Status(False, "Waiting for daemon set spec update to be observed...")
    desired, updated = _get(status, "desiredNumberScheduled"), _get(status, "updatedNumberScheduled")
    if updated < desired:
        return Status(False, f'Waiting for daemon set "{name}" rollout to finish: '
                             f"{updated} out of {desired} new pods have been updated...")
    available = _get(status, "numberAvailable")
    if available < desired:
        return Status(False, f'Waiting for daemon set "{name}" rollout to finish: '
                             f"{available} of {desired} updated pods are available...")
    return Status(True, f'daemon set "{name}" successfully rolled out')


JUDGES = {"Deployment": deployment_status, "StatefulSet": statefulset_status,
          "DaemonSet": daemonset_status}


def wait(objects: list[dict[str, Any]], api: Any, timeout: float = 600, interval: float = 2.0,
         progress: Callable[[str], None] | None = None) -> None:
    """Poll every workload among `objects` until all are rolled out; progress is
    reported when a workload's message changes. Raises RolloutFailed on timeout."""
    from kubernetes import client

    apps = client.AppsV1Api(api)
    read = {"Deployment": apps.read_namespaced_deployment,
            "StatefulSet": apps.read_namespaced_stateful_set,
            "DaemonSet": apps.read_namespaced_daemon_set}
    say = progress or (lambda _: None)
    pending = {(o["kind"], o["metadata"]["namespace"], o["metadata"]["name"])
               for o in objects if o["kind"] in WORKLOAD_KINDS}
    last: dict[tuple[str, str, str], str] = {}
    deadline = time.monotonic() + timeout
    while True:
        for key in sorted(pending):
            kind, ns, name = key
            obj = api.sanitize_for_serialization(read[kind](name, ns))
            status = JUDGES[kind](obj)
            if status.message != last.get(key):
                say(f"{ns}/{name}: {status.message}")
                last[key] = status.message
            if status.done:
                pending.discard(key)
        if not pending:
            return
        if time.monotonic() > deadline:
            stuck = "; ".join(f"{ns}/{name}: {last.get((k, ns, name), '?')}" for k, ns, name in sorted(pending))
            raise RolloutFailed(f"{len(pending)} rollout(s) not finished after {timeout:g}s: {stuck}")
        time.sleep(interval)


def _node_ready(node: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def wait_nodes(api: Any, expected: int, timeout: float = 300, interval: float = 2.0,
               progress: Callable[[str], None] | None = None) -> list[str]:
    """Every node Ready, through the client: `kind create cluster --wait` covers
    the control plane only and exits 0 even when it times out (kind's `--wait`), so the
    workers are checked here. Waits for `expected` nodes to register; returns
    their names. Raises RolloutFailed naming the NotReady (or missing) nodes."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    say = progress or (lambda _: None)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        nodes = core.list_node().items
        not_ready = sorted(n.metadata.name for n in nodes if not _node_ready(n))
        ready = len(nodes) - len(not_ready)
        message = f"nodes Ready: {ready} of {expected}" + (
            f" (NotReady: {', '.join(not_ready)})" if not_ready else "")
        if message != last:
            say(message)
            last = message
        if len(nodes) >= expected and not not_ready:
            return sorted(n.metadata.name for n in nodes)
        if time.monotonic() > deadline:
            missing = max(0, expected - len(nodes))
            parts = [f"NotReady: {', '.join(not_ready)}"] if not_ready else []
            if missing:
                parts.append(f"{missing} node(s) never registered")
            raise RolloutFailed(f"nodes not Ready after {timeout:g}s: {'; '.join(parts)}")
        time.sleep(interval)
