"""Faults on the replica, through the client: delete a pod, kill the Redis
master's pod, cordon and drain a node, scale a workload.

Model names are mapped to the replica's: a model node (k8s-worker-1) is the
kind node labelled `twin.eco2/node=k8s-worker-1`; a workload is found by its
`app` label in its namespace. Each fault returns what it did, for the record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from twin.model.topology import Redis, Topology
from twin.render.kind_config import NODE_LABEL


class FaultError(Exception):
    """The fault cannot be applied (no such pod, node or workload)."""


@dataclass(frozen=True)
class Done:
    action: str
    target: str
    at: float
    detail: str = ""


def _core(api: Any) -> Any:
    from kubernetes import client

    return client.CoreV1Api(api)


def pods_of(api: Any, namespace: str, app: str, running_only: bool = True) -> list[Any]:
    pods = _core(api).list_namespaced_pod(namespace, label_selector=f"app={app}").items
    if running_only:
        pods = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    return sorted(pods, key=lambda p: p.metadata.name)


def delete_pod(api: Any, namespace: str, name: str, grace: int | None = None) -> Done:
    """`grace=0` kills at once (a crash); None keeps the pod's own grace period."""
    from kubernetes.client.exceptions import ApiException

    try:
        _core(api).delete_namespaced_pod(name, namespace, grace_period_seconds=grace)
    except ApiException as e:
        if e.status == 404:
            raise FaultError(f"no pod {namespace}/{name}") from None
        raise
    return Done("delete-pod", f"{namespace}/{name}", time.time(),
                "killed" if grace == 0 else "deleted")


def kill_pods(api: Any, topology: Topology, workload: str, count: int = 1) -> list[Done]:
    wl = topology.workload(workload)
    if wl is None:
        raise FaultError(f"no workload {workload} in the topology")
    pods = pods_of(api, wl.namespace, wl.name)
    if len(pods) < count:
        raise FaultError(f"{workload}: {len(pods)} running pod(s), cannot kill {count}")
    return [delete_pod(api, wl.namespace, p.metadata.name, grace=0) for p in pods[:count]]


def _exec(api: Any, namespace: str, pod: str, command: list[str]) -> str:
    from kubernetes import client
    from kubernetes.stream import stream

    core = client.CoreV1Api(api)
    return stream(core.connect_get_namespaced_pod_exec, pod, namespace, command=command,
                  stderr=True, stdin=False, stdout=True, tty=False)


def redis_master(api: Any, topology: Topology, store: str = "redis") -> str:
    """The pod whose Redis says role master (asked through exec, as an operator would)."""
    redis = topology.store(store)
    if not isinstance(redis, Redis):
        raise FaultError(f"no Redis store {store} in the topology")
    pods = pods_of(api, redis.namespace, redis.name)
    if redis.mode == "single":
        if not pods:
            raise FaultError(f"no running Redis pod in {redis.namespace}")
        return pods[0].metadata.name
    for p in pods:
        role = _exec(api, redis.namespace, p.metadata.name, ["redis-cli", "-p", str(redis.port), "role"])
        if role.split()[:1] == ["master"]:
            return p.metadata.name
    raise FaultError(f"no Redis server in {redis.namespace} reports role master")


def kill_redis_master(api: Any, topology: Topology, store: str = "redis") -> Done:
    redis = topology.store(store)
    assert redis is not None
    pod = redis_master(api, topology, store)
    done = delete_pod(api, redis.namespace, pod, grace=0)
    return Done("redis-master-crash", done.target, done.at, f"master was {pod}")


def kind_node(api: Any, model_node: str) -> str:
    nodes = _core(api).list_node(label_selector=f"{NODE_LABEL}={model_node}").items
    if not nodes:
        raise FaultError(f"no replica node labelled {NODE_LABEL}={model_node}")
    return nodes[0].metadata.name


def cordon(api: Any, model_node: str, on: bool = True) -> Done:
    node = kind_node(api, model_node)
    _core(api).patch_node(node, {"spec": {"unschedulable": on}})
    return Done("cordon" if on else "uncordon", node, time.time())


def drain(api: Any, model_node: str, timeout: float = 120, interval: float = 2.0) -> Done:
    """Cordon, then evict every pod but DaemonSet and mirror pods, retrying
    evictions a PodDisruptionBudget refuses (429) until `timeout`."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    cordon(api, model_node)
    node = kind_node(api, model_node)
    core = _core(api)
    pods = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    targets = [p for p in pods
               if not any(o.kind == "DaemonSet" for o in p.metadata.owner_references or [])
               and "kubernetes.io/config.mirror" not in (p.metadata.annotations or {})]
    pending = [(p.metadata.namespace, p.metadata.name) for p in targets]
    deadline = time.monotonic() + timeout
    while pending:
        left = []
        for ns, name in pending:
            body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=ns))
            try:
                core.create_namespaced_pod_eviction(name, ns, body)
            except ApiException as e:
                if e.status == 429:
                    left.append((ns, name))
                elif e.status != 404:
                    raise
        pending = left
        if pending and time.monotonic() > deadline:
            raise FaultError(f"drain {node}: {len(pending)} pod(s) still blocked by disruption budgets")
        if pending:
            time.sleep(interval)
    return Done("drain", node, time.time(), f"{len(targets)} pod(s) evicted")


def scale(api: Any, topology: Topology, workload: str, replicas: int) -> Done:
    from kubernetes import client

    wl = topology.workload(workload)
    if wl is None:
        raise FaultError(f"no workload {workload} in the topology")
    apps = client.AppsV1Api(api)
    names = [f"{wl.name}-{v.name}" for v in wl.versions] if wl.versions else [wl.name]
    body = {"spec": {"replicas": replicas}}
    for name in names[:1]:  # the stable version (v1); canaries keep their own count
        if wl.kind == "StatefulSet":
            apps.patch_namespaced_stateful_set_scale(name, wl.namespace, body)
        else:
            apps.patch_namespaced_deployment_scale(name, wl.namespace, body)
    return Done("scale", f"{wl.namespace}/{names[0]}", time.time(), f"replicas={replicas}")
