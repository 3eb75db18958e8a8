"""Checks beyond field types: every name resolves, numbers agree with each other.

Each check yields (location, message), the location being a path into the
merged file, so the caller can name the file and line that supplied it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from twin.model.errors import did_you_mean
from twin.model.steps import EmitStep, PublishStep, route_walk
from twin.model.topology import RabbitMQ, Redis, Route, Topology

Finding = tuple[tuple, str]


def _stores_of(t: Topology) -> list[str]:
    return [s.name for s in t.stores]


def _services_of(t: Topology) -> list[str]:
    return [s.name for s in t.services]


def _queues_of(t: Topology) -> list[str]:
    return [q.name for s in t.stores if isinstance(s, RabbitMQ) for q in s.queues]


def check(t: Topology) -> list[Finding]:
    return [
        *_unique(t),
        *_namespaces(t),
        *_workloads(t),
        *_mesh(t),
        *_stores(t),
        *_routes(t),
    ]


def _dupes(items: list, loc: tuple, what: str) -> Iterator[Finding]:
    counts = Counter(i.name for i in items)
    seen: set[str] = set()
    for n, item in enumerate(items):
        if counts[item.name] > 1 and item.name in seen:
            yield (*loc, n, "name"), f"{what} {item.name!r} is defined more than once"
        seen.add(item.name)


def _unique(t: Topology) -> Iterator[Finding]:
    yield from _dupes(t.pools, ("pools",), "pool")
    seen: set[str] = set()
    for pi, pool in enumerate(t.pools):
        for ni, node in enumerate(pool.nodes):
            if node.name in seen:
                yield ("pools", pi, "nodes", ni, "name"), f"node {node.name!r} is defined more than once"
            seen.add(node.name)
    yield from _dupes(t.namespaces, ("namespaces",), "namespace")
    workloads = {s.name for s in t.services}
    for i, w in enumerate(t.workers):
        if w.name in workloads:
            yield ("workers", i, "name"), f"{w.name!r} is both a service and a worker"
    yield from _dupes(t.services, ("services",), "service")
    yield from _dupes(t.workers, ("workers",), "worker")
    yield from _dupes(t.stores, ("stores",), "store")
    yield from _dupes(t.externals, ("externals",), "external")
    yield from _dupes(t.routes, ("routes",), "route")
    queues = [(si, qi, q.name) for si, s in enumerate(t.stores) if isinstance(s, RabbitMQ)
              for qi, q in enumerate(s.queues)]
    names = Counter(q for _, _, q in queues)
    for si, qi, q in queues:
        if names[q] > 1:
            yield ("stores", si, "queues", qi, "name"), f"queue {q!r} is defined more than once"
    if not any(p.role == "control-plane" for p in t.pools):
        yield ("pools",), "no pool has role control-plane"


def _ns(t: Topology, name: str, loc: tuple) -> Iterator[Finding]:
    if t.namespace(name) is None:
        yield loc, (f"namespace {name!r} is not defined under namespaces"
                    f"{did_you_mean(name, [n.name for n in t.namespaces])}")


def _namespaces(t: Topology) -> Iterator[Finding]:
    for key in ("services", "workers", "platform", "daemonsets", "stores"):
        for i, item in enumerate(getattr(t, key)):
            yield from _ns(t, item.namespace, (key, i, "namespace"))
    if t.mesh:
        yield from _ns(t, t.mesh.gateway.namespace, ("mesh", "gateway", "namespace"))
        for i, vs in enumerate(t.mesh.virtual_services):
            yield from _ns(t, vs.namespace, ("mesh", "virtual_services", i, "namespace"))
        for i, dr in enumerate(t.mesh.destination_rules):
            yield from _ns(t, dr.namespace, ("mesh", "destination_rules", i, "namespace"))


def _workloads(t: Topology) -> Iterator[Finding]:
    names = {w.name for w in t.workloads}
    for key, items in (("services", t.services), ("workers", t.workers)):
        for i, w in enumerate(items):
            loc = (key, i)
            for ci, client in enumerate(w.clients):
                store = t.store(client.store)
                if store is None:
                    yield (*loc, "clients", ci, "store"), (
                        f"no store named {client.store!r}{did_you_mean(client.store, _stores_of(t))}")
                elif client.via == "sentinel" and not (isinstance(store, Redis) and store.mode == "sentinel"):
                    yield (*loc, "clients", ci, "via"), f"store {store.name!r} has no Sentinel to go through"
            if w.hpa and w.hpa.metric == "queue_length" and t.queue(w.hpa.queue or "") is None:
                yield (*loc, "hpa", "queue"), (
                    f"no queue named {w.hpa.queue!r}{did_you_mean(w.hpa.queue or '', _queues_of(t))}")
            for kind in ("pod_affinity", "pod_anti_affinity"):
                for ai, term in enumerate(getattr(w.placement, kind)):
                    for other in term.workloads:
                        if other not in names:
                            yield (*loc, "placement", kind, ai, "workloads"), (
                                f"no workload named {other!r}{did_you_mean(other, names)}")
            yield from _dupes(w.versions, (*loc, "versions"), "version")
            if w.versions and all(v.replicas is not None for v in w.versions):
                if sum(v.replicas for v in w.versions) == 0 and w.replicas > 0:
                    yield (*loc, "versions"), "every version has 0 replicas"
    for i, w in enumerate(t.workers):
        if t.queue(w.queue) is None:
            yield ("workers", i, "queue"), (
                f"no queue named {w.queue!r} in any RabbitMQ store{did_you_mean(w.queue, _queues_of(t))}")


def _mesh(t: Topology) -> Iterator[Finding]:
    if not t.mesh:
        return
    subsets = {}
    for i, dr in enumerate(t.mesh.destination_rules):
        loc = ("mesh", "destination_rules", i)
        svc = t.service(dr.host)
        if svc is None:
            yield (*loc, "host"), f"no service named {dr.host!r}{did_you_mean(dr.host, _services_of(t))}"
            continue
        subsets.setdefault(dr.host, set()).update(s.name for s in dr.subsets)
        pod_labels = [{"version": v.name, **v.labels} for v in svc.versions] or [{"version": "v1"}]
        for si, subset in enumerate(dr.subsets):
            if not any(all(lbl.get(k) == v for k, v in subset.labels.items()) for lbl in pod_labels):
                yield (*loc, "subsets", si, "labels"), (
                    f"subset {subset.name!r} selects no pods of {svc.name} (labels {subset.labels})")
    for i, vs in enumerate(t.mesh.virtual_services):
        loc = ("mesh", "virtual_services", i)
        for gi, gw in enumerate(vs.gateways):
            if gw.split("/")[-1] not in (t.mesh.gateway.name, "mesh"):
                yield (*loc, "gateways", gi), (
                    f"no gateway named {gw!r}{did_you_mean(gw, [t.mesh.gateway.name, 'mesh'])}")
        for hi, http in enumerate(vs.http):
            if sum(d.weight for d in http.route) <= 0:
                yield (*loc, "http", hi, "route"), "weights add up to 0: nothing would be routed"
            for di, dest in enumerate(http.route):
                dloc = (*loc, "http", hi, "route", di)
                if t.service(dest.host) is None:
                    yield (*dloc, "host"), (
                        f"no service named {dest.host!r}{did_you_mean(dest.host, _services_of(t))}")
                elif dest.subset is not None and dest.subset not in subsets.get(dest.host, set()):
                    yield (*dloc, "subset"), (
                        f"no DestinationRule subset {dest.subset!r} for {dest.host}"
                        f"{did_you_mean(dest.subset, subsets.get(dest.host, set()))}")


def _stores(t: Topology) -> Iterator[Finding]:
    classes = {c.name for c in t.cluster.storage_classes}
    for i, s in enumerate(t.stores):
        loc = ("stores", i)
        sc = s.persistence.storage_class
        if sc is not None and sc not in classes:
            yield (*loc, "persistence", "storage_class"), (
                f"no storage class named {sc!r}{did_you_mean(sc, classes)}")
        if isinstance(s, Redis):
            if s.sentinel is not None and s.sentinel.quorum > s.sentinel.sentinels:
                yield (*loc, "sentinel", "quorum"), (
                    f"quorum {s.sentinel.quorum} is more than the {s.sentinel.sentinels} sentinels")
            if len(s.replica_priorities) > s.servers:
                yield (*loc, "replica_priorities"), (
                    f"{len(s.replica_priorities)} priorities for {s.servers} servers")
            if s.min_replicas_to_write > s.servers - 1:
                yield (*loc, "min_replicas_to_write"), (
                    f"{s.min_replicas_to_write} replicas can never be reached with {s.servers} servers: "
                    "every write would be refused")


_NAMES = {
    "call": ("service", "no service named {!r}"),
    "stream": ("service", "no service named {!r}"),
    "emit": ("service", "no service named {!r}"),
    "store": ("store", "no store named {!r}"),
    "external": ("external", "no external dependency named {!r}"),
}
"""Step kinds whose target is a component of one kind, and the finding when it is not."""

_KNOWN = {
    "service": _services_of,
    "store": _stores_of,
    "external": lambda t: [e.name for e in t.externals],
}
"""The names a misspelt target is compared with, for its did-you-mean."""


def _steps(t: Topology, route: Route, loc: tuple) -> Iterator[Finding]:
    for step, ctx in route_walk(t, route):
        sloc = (*loc, *ctx.path)
        field = step.target_field
        if field in _NAMES:
            name = getattr(step, field)
            kind, message = _NAMES[field]
            if getattr(t, kind)(name) is None:
                yield (*sloc, field), message.format(name) + did_you_mean(name, _KNOWN[kind](t))
        elif isinstance(step, PublishStep):
            if t.queue(step.publish) is None:
                yield (*sloc, field), (
                    f"no queue named {step.publish!r}{did_you_mean(step.publish, _queues_of(t))}")
            elif t.consumer(step.publish) is None:
                yield (*sloc, field), f"no worker consumes queue {step.publish!r}"
        if isinstance(step, EmitStep):
            for vi, via in enumerate(step.via):
                if t.workload(via) is None and t.store(via) is None:
                    yield (*sloc, "via", vi), (f"no service or store named {via!r}"
                                               f"{did_you_mean(via, [*_services_of(t), *_stores_of(t)])}")


def _routes(t: Topology) -> Iterator[Finding]:
    vs_names = {vs.name for vs in t.mesh.virtual_services} if t.mesh else set()
    for i, r in enumerate(t.routes):
        if r.entry not in vs_names and t.service(r.entry) is None:
            yield ("routes", i, "entry"), (f"no VirtualService or service named {r.entry!r}"
                                           f"{did_you_mean(r.entry, [*vs_names, *_services_of(t)])}")
        yield from _steps(t, r, ("routes", i))
