"""The architecture document's domain-check.sh as rows: a domain's API and
worker pods, its services, and what its objects configure (replicas, HPA,
clients, routing, stores).

`DomainView.from_model` reads a topology; `DomainView.from_live` reads the
replica's objects as plain JSON (twin.replica.live asks for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.graph.naming import dns_name
from twin.graph.pods import schedule
from twin.model.topology import Topology
from twin.views.rows import LIVE, MODEL, Column, Source, record, seen, unrecorded
from twin.views.workloads import PodRow, WorkloadRow, live_pod, model_pod, workloads_in


@dataclass(frozen=True)
class PodGroup:
    """A section of pods: its title, its key in the view's JSON, the tiers it holds."""

    title: str
    key: str
    tiers: tuple[str, ...]
    live: bool  # domain-check.sh lists it: the replica is asked for it
    optional: bool = False  # left out when empty

    def selector(self, domain: str) -> str:
        """The label selector of the group's pods in a domain."""
        if len(self.tiers) == 1:
            return f"domain={domain},tier={self.tiers[0]}"
        return f"domain={domain},tier in ({','.join(self.tiers)})"


POD_GROUPS = (
    PodGroup("API Pod", "api_pods", ("business-logic",), live=True),
    PodGroup("Worker Pod", "worker_pods", ("worker",), live=True),
    PodGroup("Other Pods", "other_pods", ("integration", "data"), live=False, optional=True),
)


def domains(topology: Topology) -> list[str]:
    """Every `domain` label a namespace of the topology has, sorted."""
    return sorted({ns.domain for ns in topology.namespaces if ns.domain})


@dataclass
class ServiceRow:
    """A Service: on the model its DNS name and protocol, live its type and address."""

    name: str
    namespace: str
    type: str | None = seen(LIVE)
    cluster_ip: str | None = seen(LIVE)
    ports: list[str] = field(default_factory=list)  # live: "8000/TCP"
    dns: str | None = seen(MODEL)
    protocol: str | None = seen(MODEL)  # http, grpc, or the store's kind


@dataclass
class ConfigMapRow:
    name: str
    namespace: str
    data: int  # keys it holds


@dataclass
class Destination:
    host: str
    subset: str | None
    weight: int


@dataclass
class HttpRoute:
    destinations: list[Destination]
    timeout: float | None = None


@dataclass
class VirtualServiceRow:
    name: str
    http: list[HttpRoute]

    def lines(self) -> list[str]:
        return [f"VirtualService {self.name}: "
                + ", ".join(f"{d.host}{'/' + d.subset if d.subset else ''} {d.weight}"
                            for d in h.destinations)
                + (f", timeout {h.timeout:g}s" if h.timeout else "") for h in self.http]


@dataclass
class DestinationRuleRow:
    name: str
    host: str
    subsets: dict[str, dict[str, str]]  # subset -> its labels
    load_balancer: str

    def lines(self) -> list[str]:
        subsets = ", ".join(f"{name} ({','.join(f'{k}={v}' for k, v in labels.items())})"
                            for name, labels in self.subsets.items())
        return [f"DestinationRule {self.name}: host {self.host}, subsets {subsets}, "
                f"{self.load_balancer}"]


@dataclass
class StoreRow:
    """A data store's mode; with Sentinel its servers, sentinels, quorum, down-after."""

    name: str
    kind: str
    mode: str
    servers: int | None = None
    sentinels: int | None = None
    quorum: int | None = None
    down_after: float | None = None

    def lines(self) -> list[str]:
        extra = "" if self.sentinels is None else (
            f", {self.servers} servers, {self.sentinels} sentinels, quorum {self.quorum}, "
            f"down-after {self.down_after:g}s")
        return [f"{self.name}: {self.kind} {self.mode}{extra}"]


@dataclass
class DomainView:
    """domain-check.sh's sections; `source` says who filled them."""

    source: Source = unrecorded()
    domain: str
    namespaces: list[str] = seen(MODEL, factory=list)
    api_pods: list[PodRow] = field(default_factory=list)
    worker_pods: list[PodRow] = field(default_factory=list)
    other_pods: list[PodRow] = seen(MODEL, factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    configmaps: list[ConfigMapRow] = seen(LIVE, factory=list)
    workloads: list[WorkloadRow] = seen(MODEL, factory=list)
    virtual_services: list[VirtualServiceRow] = seen(MODEL, factory=list)
    destination_rules: list[DestinationRuleRow] = seen(MODEL, factory=list)
    stores: list[StoreRow] = seen(MODEL, factory=list)

    def pods(self, group: PodGroup) -> list[PodRow]:
        return getattr(self, group.key)

    def config(self) -> list[str]:
        """What the domain's objects say, one line each: workloads (and their
        clients), VirtualServices, DestinationRules, stores."""
        lines = [line for rows in (self.workloads, self.virtual_services, self.destination_rules,
                                   self.stores) for row in rows for line in row.lines()]
        return lines or ["No resources found."]

    def to_dict(self) -> dict[str, Any]:
        return record(self, self.source)

    @classmethod
    def from_model(cls, topology: Topology, domain: str) -> DomainView:
        """The model's view of the namespaces labelled `domain`, pods placed by the fit."""
        spaces = {ns.name for ns in topology.namespaces if ns.domain == domain}
        placed = schedule(topology)
        groups = {g.key: [model_pod(p, placed.where[p.name]) for p in placed.pods.values()
                          if p.namespace in spaces and p.tier in g.tiers] for g in POD_GROUPS}
        services = [ServiceRow(s.name, s.namespace, ports=[str(s.port)], dns=dns_name(topology, s.name),
                               protocol=s.protocol)
                    for s in topology.services if s.namespace in spaces]
        services += [ServiceRow(st.service, st.namespace,
                                ports=[str(st.port), *([str(st.management_port)]
                                                       if hasattr(st, "management_port") else [])],
                                dns=dns_name(topology, st.name), protocol=st.kind)
                     for st in topology.stores if st.namespace in spaces]
        mesh = topology.mesh
        return cls(
            MODEL, domain, sorted(spaces), **groups, services=services,
            workloads=workloads_in(topology, spaces),
            virtual_services=[VirtualServiceRow(vs.name, [
                HttpRoute([Destination(d.host, d.subset, d.weight) for d in h.route], h.timeout)
                for h in vs.http]) for vs in (mesh.virtual_services if mesh else [])
                if vs.namespace in spaces],
            destination_rules=[DestinationRuleRow(dr.name, dr.host,
                                                  {s.name: dict(s.labels) for s in dr.subsets},
                                                  dr.load_balancer)
                               for dr in (mesh.destination_rules if mesh else [])
                               if dr.namespace in spaces],
            stores=[_store(st) for st in topology.stores if st.namespace in spaces])

    @classmethod
    def from_live(cls, domain: str, pods: dict[str, list[dict[str, Any]]],
                  services: list[dict[str, Any]], configmaps: list[dict[str, Any]]) -> DomainView:
        """The replica's view from its objects as JSON: `pods` by the key of the
        POD_GROUPS it was asked for (each group's tiers selected)."""
        groups = {g.key: [live_pod(p) for p in pods.get(g.key, [])]
                  for g in POD_GROUPS if g.live}
        return cls(
            LIVE, domain, **groups,
            services=[ServiceRow(s["metadata"]["name"], s["metadata"].get("namespace", ""),
                                 type=(s.get("spec") or {}).get("type"),
                                 cluster_ip=(s.get("spec") or {}).get("clusterIP"),
                                 ports=[f"{p['port']}/{p.get('protocol')}"
                                        for p in (s.get("spec") or {}).get("ports") or []])
                      for s in services],
            configmaps=[ConfigMapRow(c["metadata"]["name"], c["metadata"].get("namespace", ""),
                                     len(c.get("data") or {})) for c in configmaps])


def _store(st: Any) -> StoreRow:
    s = getattr(st, "sentinel", None)
    if s is None:
        return StoreRow(st.name, st.kind, getattr(st, "mode", "single"))
    return StoreRow(st.name, st.kind, st.mode, st.servers, s.sentinels, s.quorum, s.down_after)


SERVICE_COLUMNS: tuple[Column, ...] = (
    ("service", lambda s: s.name),
    ("namespace", lambda s: s.namespace),
    ("DNS", lambda s: s.dns or ""),
    ("port", lambda s: "/".join(s.ports)),
    ("protocol", lambda s: s.protocol or ""),
)
"""The model's service table (a store's management port after its port: 5672/15672)."""
