"""PostgreSQL as the cluster runs it: one server (dev) or a Patroni-managed HA set (prod).

Single: a crashed container is restarted by the kubelet after `restart`; a server
whose node is gone stays down until someone acts (`restart`), because a StatefulSet
pod is never replaced by itself. HA: the primary holds a leader key in the DCS and
renews it every loop_wait; when it stops, the key lapses `ttl` later and a replica
takes it at its next HA loop, so failover takes about ttl plus up to one loop_wait
(Patroni's defaults ttl 30 s, loop_wait 10 s). Either way every open connection dies
with the primary and clients reconnect to whichever server the Service points at.

`ConnectionLimit` is the part the store layer asks on every query: pods x pool
size against max_connections, new connections refused past it ("FATAL: sorry, too
many clients already").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import simpy

from twin.model.topology import Postgres

Emit = Callable[[float, str, str, str], None]

Acquire = Literal["ok", "pool-exhausted", "refused", "unavailable"]


class ConnectionLimit:
    """max_connections of the primary, shared by every pod's connection pool.

    A pod opens connections lazily, up to its pool size; a query takes an idle one,
    or opens one more, or waits in its own pool when the pool is full of busy ones
    ("pool-exhausted"), or fails when the server has no slot left ("refused").
    `reserved` models superuser_reserved_connections (3 in PostgreSQL), which
    application users cannot take; 0 means the topology's max_connections is the
    application's whole budget.
    """

    def __init__(self, max_connections: int, reserved: int = 0):
        self.max_connections = max_connections
        self.reserved = reserved
        self.open: dict[str, int] = {}
        self.busy: dict[str, int] = {}
        self.pools: dict[str, int] = {}
        self.refused = 0
        self.refused_by: dict[str, int] = {}

    @property
    def limit(self) -> int:
        return self.max_connections - self.reserved

    @property
    def in_use(self) -> int:
        return sum(self.open.values())

    @property
    def free(self) -> int:
        return self.limit - self.in_use

    def register(self, client: str, pool: int, *, eager: int = 0) -> int:
        """A pod that talks to the store, with its pool size; opens `eager` at once."""
        self.pools[client] = pool
        self.open.setdefault(client, 0)
        self.busy.setdefault(client, 0)
        opened = 0
        for _ in range(min(eager, pool)):
            if not self._open_one(client):
                break
            opened += 1
        return opened

    def _open_one(self, client: str) -> bool:
        if self.in_use >= self.limit:
            self.refused += 1
            self.refused_by[client] = self.refused_by.get(client, 0) + 1
            return False
        self.open[client] = self.open.get(client, 0) + 1
        return True

    def acquire(self, client: str) -> Acquire:
        """A query needs a connection from this pod's pool."""
        if client not in self.pools:
            raise KeyError(f"{client} never registered a pool")
        if self.busy[client] < self.open[client]:
            self.busy[client] += 1
            return "ok"
        if self.open[client] >= self.pools[client]:
            return "pool-exhausted"
        if not self._open_one(client):
            return "refused"
        self.busy[client] += 1
        return "ok"

    def release(self, client: str) -> None:
        """The query is done; the connection stays open and idle in the pod's pool."""
        if self.busy.get(client, 0) > 0:
            self.busy[client] -= 1

    def close(self, client: str) -> None:
        """The pod is gone: its connections are closed and its slots free."""
        self.open.pop(client, None)
        self.busy.pop(client, None)
        self.pools.pop(client, None)

    def drop_all(self) -> None:
        """The server restarted or a new primary took over: every connection is broken."""
        for client in self.open:
            self.open[client] = 0
            self.busy[client] = 0

    def demand(self) -> int:
        """Connections the pods would hold with full pools: pods x pool size."""
        return sum(self.pools.values())


@dataclass
class Member:
    """One PostgreSQL server (a StatefulSet pod with Patroni beside it in HA)."""

    name: str
    up: bool = True
    role: Literal["primary", "replica"] = "replica"


class PostgresCluster:
    """Which server is primary and whether the store accepts connections now."""

    def __init__(
        self,
        env: simpy.Environment,
        store: Postgres,
        emit: Emit,
        rng: np.random.Generator,
        *,
        promote: float = 0.0,
        reserved_connections: int = 0,
    ):
        self.env = env
        self.store = store
        self.emit = emit
        self.rng = rng
        self.promote = promote
        self.members = [Member(f"{store.name}-{i}") for i in range(store.replicas if store.mode == "ha" else 1)]
        self.members[0].role = "primary"
        self.connections = ConnectionLimit(store.max_connections, reserved_connections)
        self.listeners: list[Callable[[bool], None]] = []
        self.outages: list[tuple[float, float, str]] = []
        """(primary lost at, new primary at, new primary): the measured outages."""
        self._election: simpy.Process | None = None
        self._lost_at: float | None = None

    @property
    def source(self) -> str:
        return f"store/{self.store.name}"

    @property
    def primary(self) -> Member | None:
        return next((m for m in self.members if m.role == "primary" and m.up), None)

    @property
    def available(self) -> bool:
        return self.primary is not None

    # the store layer's Access protocol (twin.sim.stores.Store.use)
    def reachable(self, client: str) -> bool:
        return self.available

    def writable(self, client: str) -> bool:
        return self.available

    def node_changed(self, servers_on_node: list[str], up: bool) -> None:
        """A node with these server pods was lost (they stay down) or came back (restart)."""
        for name in servers_on_node:
            if any(m.name == name for m in self.members):
                if up:
                    self.restart(name)
                else:
                    self.fail(name)

    def follow_nodes(self, controller, cluster) -> None:  # noqa: ANN001 - the core's types
        """Hear a NodeLifecycleController's node losses for the server pods of this store."""

        def changed(node: str, up: bool) -> None:
            self.node_changed([p.name for p in cluster.nodes[node].pods], up)

        controller.node_listeners.append(changed)

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.name == name)

    def _changed(self) -> None:
        for listener in self.listeners:
            listener(self.available)

    # ---------------------------------------------------------------- faults

    def fail(self, name: str | None = None, *, restartable: bool = False) -> None:
        """A server stops (default: the primary). restartable: a container crash on a
        live node, which the kubelet restarts after `restart`; otherwise (node lost)
        it stays down until `restart` is called."""
        m = self.member(name) if name else (self.primary or self.members[0])
        if not m.up:
            return
        was_primary = m.role == "primary"
        m.up = False
        self.emit(self.env.now, self.source, "ServerDown", f"{m.name} ({m.role}) stopped")
        if was_primary:
            self._lost_at = self.env.now
            self.connections.drop_all()
            self._changed()
            if self.store.mode == "ha" and self._election is None:
                self._election = self.env.process(self._failover())
        if restartable:
            self.env.process(self._restart_after(m, self.store.restart))

    def restart(self, name: str | None = None) -> None:
        """Someone acts (or the node is back): the server starts, ready after `restart`."""
        m = self.member(name) if name else next((x for x in self.members if not x.up), None)
        if m is not None and not m.up:
            self.env.process(self._restart_after(m, self.store.restart))

    def _restart_after(self, m: Member, delay: float):  # noqa: ANN202 - a SimPy process
        yield self.env.timeout(delay)
        if m.up:
            return
        m.up = True
        if m.role == "primary" and self.primary is m:
            # single mode, or HA before the leader key lapsed: it carries on as primary
            self._end_outage(m)
            self.emit(self.env.now, self.source, "ServerUp", f"{m.name} is primary again")
        else:
            m.role = "replica"
            self.emit(self.env.now, self.source, "ServerUp", f"{m.name} rejoined as a replica")

    def _end_outage(self, m: Member) -> None:
        if self._lost_at is not None:
            self.outages.append((self._lost_at, self.env.now, m.name))
            self._lost_at = None
        self._changed()

    # ----------------------------------------------------------- HA failover

    def _failover(self):  # noqa: ANN202 - a SimPy process
        """Leader key lapses ttl after the last renewal; a replica takes it at its next loop."""
        timing = self.store.failover
        yield self.env.timeout(timing.ttl)
        old = next(m for m in self.members if m.role == "primary")
        if not old.up:
            self.emit(self.env.now, self.source, "LeaderKeyExpired", f"{old.name} lost the leader lock")
        wait = float(self.rng.uniform(0.0, timing.loop_wait))  # replicas' loops are out of phase
        while True:
            if old.up:  # back before a replica took the key: it carries on as primary
                self._election = None
                return
            yield self.env.timeout(wait)
            candidates = [m for m in self.members if m.up and m.role == "replica"]
            if candidates and not old.up:
                break
            wait = timing.loop_wait  # no healthy replica yet: try again next loop
        if self.promote > 0:
            yield self.env.timeout(self.promote)
        new = candidates[0]
        old.role = "replica"
        new.role = "primary"
        self._election = None
        self.connections.drop_all()
        self.emit(self.env.now, self.source, "Promoted",
                  f"{new.name} promoted after {self.env.now - (self._lost_at or 0.0):.1f}s")
        self._end_outage(new)
