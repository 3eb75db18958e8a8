"""A workload and its pods as rows: replicas, HPA, PDB, requests, clients; and
each pod's node with, by source, what it requests or how it is doing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.model.topology import Topology, Worker, Workload
from twin.model.units import format_cpu, format_memory
from twin.views.rows import LIVE, MODEL, Column, seen


@dataclass
class PodRow:
    """One pod: where it runs and, by source, what it requests or how it is doing."""

    name: str
    namespace: str
    workload: str | None = seen(MODEL)  # the component, service/chat-api
    tier: str | None = seen(MODEL)
    ready: str | None = seen(LIVE)  # ready containers of all, "1/2"
    status: str | None = seen(LIVE)  # the pod's phase
    restarts: int | None = seen(LIVE)
    node: str | None = None  # None: Pending
    ip: str | None = seen(LIVE)
    version: str | None = None
    containers: list[str] = seen(LIVE, factory=list)
    cpu: float | None = seen(MODEL)  # requested, the Istio sidecar's included
    memory: float | None = seen(MODEL)


def model_pod(pod: Any, node: str | None) -> PodRow:
    """A pod of the graph's fit (twin.graph.pods.Pod) and its node as a row."""
    return PodRow(pod.name, pod.namespace, workload=pod.component, tier=pod.tier, node=node,
                  version=pod.version, cpu=pod.cpu, memory=pod.memory)


def live_pod(pod: dict[str, Any]) -> PodRow:
    """A Pod object as JSON (as the API server writes it) as a row."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = spec.get("containers") or []
    labels = meta.get("labels") or {}
    return PodRow(
        meta["name"], meta.get("namespace", ""), tier=labels.get("tier"),
        ready=f"{sum(1 for c in statuses if c.get('ready'))}/{len(containers)}",
        status=status.get("phase"), restarts=sum(c.get("restartCount", 0) for c in statuses),
        node=spec.get("nodeName"), ip=status.get("podIP"), version=labels.get("version"),
        containers=[c["name"] for c in containers])


def pod_columns(namespace: bool) -> tuple[Column, ...]:
    """The model's pod table; the namespace column only when pods of several are listed."""
    return (
        ("pod", lambda p: p.name),
        *((("namespace", lambda p: p.namespace),) if namespace else ()),
        ("workload", lambda p: p.workload or ""),
        ("version", lambda p: p.version or ""),
        ("node", lambda p: p.node or "Pending"),
        ("requests*", lambda p: f"{format_cpu(p.cpu)} / {format_memory(p.memory)}"),
    )


REQUESTS_NOTE = "* CPU / memory requested, the Istio sidecar's included"


@dataclass
class Hpa:
    min: int
    max: int
    metric: str
    target: float


@dataclass
class Client:
    """How a workload reaches a store: through Sentinel, or a Service (master or all)."""

    store: str
    via: str
    target: str
    pool: int  # connections per pod


@dataclass
class Consumer:
    """What a worker consumes and how (Celery's concurrency, prefetch, acks_late)."""

    queue: str
    concurrency: int
    prefetch: int
    acks_late: bool


@dataclass
class WorkloadRow:
    """A Deployment (one per version) or StatefulSet: what its objects say."""

    name: str
    namespace: str
    replicas: int  # every version's added up
    versions: dict[str, int] = field(default_factory=dict)  # version -> replicas
    hpa: Hpa | None = None
    pdb: dict[str, int] | None = None  # min_available or max_unavailable
    cpu: float = 0.0  # requested per pod
    memory: float = 0.0
    cpu_limit: float | None = None
    memory_limit: float | None = None
    consumer: Consumer | None = None
    clients: list[Client] = field(default_factory=list)

    @classmethod
    def of(cls, w: Workload) -> WorkloadRow:
        versions = {v.name: v.replicas if v.replicas is not None else w.replicas for v in w.versions}
        pdb = None
        if w.pdb:  # the one of its two bounds that is set
            pdb = ({"min_available": w.pdb.min_available} if w.pdb.min_available is not None
                   else {"max_unavailable": w.pdb.max_unavailable})
        r = w.resources
        return cls(
            w.name, w.namespace, sum(versions.values()) if versions else w.replicas, versions,
            Hpa(w.hpa.min, w.hpa.max, w.hpa.metric, w.hpa.target) if w.hpa else None, pdb,
            r.requests.cpu, r.requests.memory,
            r.limits.cpu if r.limits else None, r.limits.memory if r.limits else None,
            Consumer(w.queue, w.concurrency, w.prefetch, w.acks_late) if isinstance(w, Worker) else None,
            [Client(c.store, c.via, c.target, c.pool) for c in w.clients])

    def lines(self) -> list[str]:
        """domain-check.sh's config lines of the workload: its summary, then one per client."""
        if self.versions:  # one Deployment per version: the pods add up
            bits = [f"replicas {self.replicas} ("
                    + ", ".join(f"{v} {n}" for v, n in self.versions.items()) + ")"]
        else:
            bits = [f"replicas {self.replicas}"]
        h = self.hpa
        bits.append(f"HPA {h.min}-{h.max} on {h.metric} {h.target:g}" if h else "HPA off")
        bits += [f"PDB {k} {v}" for k, v in (self.pdb or {}).items()]
        bits.append(f"requests {format_cpu(self.cpu)}/{format_memory(self.memory)}")
        if self.cpu_limit is not None and self.memory_limit is not None:
            bits.append(f"limits {format_cpu(self.cpu_limit)}/{format_memory(self.memory_limit)}")
        if c := self.consumer:
            bits.append(f"queue {c.queue}, concurrency {c.concurrency}, prefetch x{c.prefetch}, "
                        f"acks_late {str(c.acks_late).lower()}")
        lines = [f"{self.name}: " + "; ".join(bits)]
        for c in self.clients:
            via = "Sentinel" if c.via == "sentinel" else f"Service ({c.target})"
            lines.append(f"  {c.store}: via {via}, pool {c.pool} per pod")
        return lines


def workloads_in(topology: Topology, namespaces: set[str]) -> list[WorkloadRow]:
    return [WorkloadRow.of(w) for w in topology.workloads if w.namespace in namespaces]
