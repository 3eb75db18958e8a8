"""Component names as DESIGN.md fixes them: `KIND/NAME`, or a bare NAME where unique.

One resolver for `--blast-radius`, fault targets, checks and `--set`, so that
every part of the twin accepts and rejects the same names with the same words.
Namespaces are addressable (`namespace/chat`) but never by a bare name: most of
them share their name with a store or a route (`redis`, `chat`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from twin.model.topology import Topology

KINDS = (
    "service", "worker", "store", "queue", "external", "route",
    "node", "pool", "platform", "daemonset", "gateway", "namespace",
)
"""Every kind a component can be addressed by, in the order bare names are listed."""

_BARE = tuple(k for k in KINDS if k != "namespace")


@dataclass(frozen=True)
class Component:
    """One addressable thing of a topology: its kind, name and model object."""

    kind: str
    name: str
    obj: Any

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    def __str__(self) -> str:
        return self.key


class UnknownComponent(LookupError):
    """A name that resolves to nothing, or to more than one component."""

    def __init__(self, name: str, message: str, candidates: list[str]):
        self.name = name
        self.message = message
        self.candidates = candidates
        super().__init__(message)


def components(topology: Topology, kind: str | None = None) -> Iterator[Component]:
    """Every component of a kind (all kinds when None), in file order."""
    t = topology
    kinds = KINDS if kind is None else (kind,)
    for k in kinds:
        if k == "service":
            yield from (Component(k, s.name, s) for s in t.services)
        elif k == "worker":
            yield from (Component(k, w.name, w) for w in t.workers)
        elif k == "store":
            yield from (Component(k, s.name, s) for s in t.stores)
        elif k == "queue":
            yield from (Component(k, q.name, q) for s in t.stores
                        for q in getattr(s, "queues", []))
        elif k == "external":
            yield from (Component(k, e.name, e) for e in t.externals)
        elif k == "route":
            yield from (Component(k, r.name, r) for r in t.routes)
        elif k == "node":
            yield from (Component(k, n.name, n) for _, n in t.nodes)
        elif k == "pool":
            yield from (Component(k, p.name, p) for p in t.pools)
        elif k == "platform":
            yield from (Component(k, p.name, p) for p in t.platform)
        elif k == "daemonset":
            yield from (Component(k, d.name, d) for d in t.daemonsets)
        elif k == "gateway":
            if t.mesh is not None:
                yield Component(k, t.mesh.gateway.name, t.mesh.gateway)
        elif k == "namespace":
            yield from (Component(k, n.name, n) for n in t.namespaces)


def closest(name: str, names: list[str]) -> list[str]:
    """The names a typo most likely meant: a name holding it or held by it first (`char`:
    character-api); else the closest spellings, `chat-apii` giving chat-api alone, not
    every `-api` (they share most letters with it, but less than chat-api does)."""
    inside = [n for n in names if name in n or n in name]  # `char`, `redis-streams`
    if inside:
        return sorted(inside, key=lambda n: (abs(len(n) - len(name)), n))[:5]
    scored = sorted(((difflib.SequenceMatcher(None, name, n).ratio(), n) for n in names),
                    reverse=True)
    scored = [(r, n) for r, n in scored if r >= 0.6]
    return [n for r, n in scored[:5] if r >= scored[0][0] - 0.05] if scored else []


def resolve(topology: Topology, name: str) -> Component:
    """`store/redis` or `redis` as its Component; UnknownComponent names the candidates."""
    name = name.strip()
    if "/" in name:
        kind, _, bare = name.partition("/")
        if kind not in KINDS:
            raise UnknownComponent(
                name, f"unknown kind {kind!r} in {name!r}; kinds are: {', '.join(KINDS)}",
                list(KINDS))
        found = [c for c in components(topology, kind) if c.name == bare]
        if found:
            return found[0]
        pool = [c.key for c in components(topology, kind)]
        near = [f"{kind}/{n}" for n in closest(bare, [c.name for c in components(topology, kind)])]
        return _unknown(name, near or pool, f"no {kind} named {bare!r}")
    found = [c for c in components(topology) if c.name == name and c.kind in _BARE]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        keys = [c.key for c in found]
        raise UnknownComponent(
            name, f"{name!r} is ambiguous: it could be {', '.join(keys)}; say which as KIND/NAME",
            keys)
    pool = [c.key for c in components(topology) if c.kind in _BARE]
    names = {c.name: c.key for c in components(topology) if c.kind in _BARE}
    near = [names[n] for n in closest(name, list(names))]
    if not near and any(c.name == name for c in components(topology, "namespace")):
        near = [f"namespace/{name}"]
    return _unknown(name, near or pool, f"no component named {name!r}")


def _unknown(name: str, candidates: list[str], what: str) -> Component:
    shown = ", ".join(candidates[:12]) + (", ..." if len(candidates) > 12 else "")
    hint = f"; did you mean {shown}?" if candidates else ""
    raise UnknownComponent(name, what + hint, candidates)


def dns_name(topology: Topology, name: str) -> str:
    """A service's or store's cluster DNS name (`redis-streams.redis.svc.cluster.local`)."""
    svc = topology.service(name)
    if svc is not None:
        return f"{svc.name}.{svc.namespace}.svc.cluster.local"
    store = topology.store(name)
    if store is not None:
        return f"{store.service}.{store.namespace}.svc.cluster.local"
    return name


def key(kind: str, name: str) -> str:
    """A component's key, `KIND/NAME`."""
    return f"{kind}/{name}"


def target_key(topology: Topology, name: str) -> str:
    """An emit's `via` name as a component key: a service, store or worker, else an external."""
    if topology.service(name) is not None:
        return key("service", name)
    if topology.store(name) is not None:
        return key("store", name)
    if topology.worker(name) is not None:
        return key("worker", name)
    return key("external", name)
