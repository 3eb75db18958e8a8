"""Whether the pods fit their node pools: now, at the HPAs' maximum, and with one node lost.

Placement is twin.graph.pods' deterministic fit (nodeSelector, affinity, taints,
requests against allocatable, Istio sidecars, platform components and DaemonSets
all counted); this module only asks it at other replica counts and without a
node, and sums what it says per pool. With a node lost, the pods on the others
stay where they are and the lost node's pods are placed again (a StatefulSet's
pod counts as force-deleted and re-created: by itself it would stay down).
PostgreSQL's connections are every client pod's pool against max_connections.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin.capacity.replicas import with_replicas
from twin.graph.placement import eligible
from twin.graph.pods import Schedule, schedule
from twin.model.topology import Postgres, Topology


@dataclass(frozen=True)
class PoolFit:
    """One pool under one case: allocatable against requested, and what stays Pending."""

    pool: str
    nodes: int
    cpu_allocatable: float
    cpu_requested: float
    memory_allocatable: float
    memory_requested: float
    pending: tuple[str, ...] = ()

    @property
    def cpu_headroom(self) -> float:
        return self.cpu_allocatable - self.cpu_requested

    @property
    def memory_headroom(self) -> float:
        return self.memory_allocatable - self.memory_requested

    @property
    def cpu_share(self) -> float:
        return self.cpu_requested / self.cpu_allocatable if self.cpu_allocatable else 0.0

    @property
    def memory_share(self) -> float:
        return self.memory_requested / self.memory_allocatable if self.memory_allocatable else 0.0


@dataclass(frozen=True)
class FitCase:
    """A placement question and its answer: `pending` pods found no node."""

    name: str
    pools: tuple[PoolFit, ...]
    pending: tuple[str, ...]
    lost: str | None = None
    replaced: tuple[str, ...] = ()  # a lost node's pods placed again elsewhere

    @property
    def fits(self) -> bool:
        return not self.pending


@dataclass(frozen=True)
class Connections:
    """PostgreSQL: connections the clients' pools open against max_connections."""

    store: str
    max_connections: int
    now: int
    at_max: int
    by_workload: tuple[tuple[str, int], ...] = ()

    @property
    def fits(self) -> bool:
        return self.at_max <= self.max_connections


def pools(topo: Topology, placed: Schedule) -> tuple[PoolFit, ...]:
    """Per pool (in the topology's order), over its live nodes."""
    out = []
    pending_by_pool: dict[str, list[str]] = {}
    for pod in placed.pending:
        home = next((n.pool for n in placed.nodes if eligible(pod.placement, n)), "")
        pending_by_pool.setdefault(home, []).append(pod.name)
    for pool in topo.pools:
        live = [n for n in placed.nodes if n.pool == pool.name]
        out.append(PoolFit(
            pool.name, len(live), sum(n.cpu for n in live),
            sum(placed.requested[n.name][0] for n in live), sum(n.memory for n in live),
            sum(placed.requested[n.name][1] for n in live),
            tuple(pending_by_pool.get(pool.name, ()))))
    return tuple(out)


def case(topo: Topology, name: str) -> tuple[FitCase, Schedule]:
    placed = schedule(topo)
    return FitCase(name, pools(topo, placed), tuple(p.name for p in placed.pending)), placed


def without_each_node(topo: Topology, base: Schedule, label: str) -> list[FitCase]:
    """N-1: each worker node lost in turn (the control plane's loss stops rescheduling
    altogether, so it is not a placement question)."""
    out = []
    for node in base.nodes:
        if node.role == "control-plane":
            continue
        placed = schedule(topo, lost=frozenset({node.name}), fixed=base)
        moved = tuple(p.name for p in base.on(node.name) if p.controller != "DaemonSet")
        out.append(FitCase(f"{label} without {node.name}", pools(topo, placed),
                           tuple(p.name for p in placed.pending), node.name, moved))
    return out


def at_hpa_max(topo: Topology) -> Topology:
    """The topology with every HPA-scaled workload at its maximum (its first version's
    Deployment, as the HPA's scaleTargetRef; other versions keep theirs)."""
    counts = {w.name: w.hpa.max for w in topo.workloads if w.hpa is not None}
    return with_replicas(topo, counts)  # the topology itself when no HPA


def connections(topo: Topology, at_max: Topology) -> list[Connections]:
    out = []
    for store in topo.stores:
        if not isinstance(store, Postgres):
            continue
        now = _connections(topo, store.name)
        peak = _connections(at_max, store.name)
        out.append(Connections(store.name, store.max_connections, sum(n for _, n in now),
                               sum(n for _, n in peak), tuple(peak)))
    return out


def _connections(topo: Topology, store: str) -> list[tuple[str, int]]:
    out = []
    for w in topo.workloads:
        pool = sum(c.pool for c in w.clients if c.store == store)
        if not pool:
            continue
        pods = sum(v.replicas if v.replicas is not None else w.replicas for v in w.versions) \
            if w.versions else w.replicas
        out.append((w.name, pool * pods))
    return out
