"""Data stores: each a server with its own capacity, up or down, and client pools.

A store serves `concurrency` operations at once from one queue. Clients reach
it through a per-pod connection pool (`clients[].pool`); PostgreSQL hands out
at most `max_connections` in total, so pods that start last may get fewer
connections than their pool asks for, or none (`connection_limit`).

Whether a client can reach the store, and whether a write is accepted, is asked
of an `Access`: by default the store's own up/down state and its primary
server pod; a Redis store with Sentinel can be backed by a `RedisGroup`
(twin.sim.redis) through `use(access)`, without changing the callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import simpy

from twin.model.topology import Postgres, Redis
from twin.model.topology import Store as StoreModel
from twin.sim.pod import Pod
from twin.sim.sampling import sampler, uniform
from twin.sim.slots import Pool, Slots
from twin.sim.stats import Station

Emit = Callable[[float, str, str, str], None]


class Access(Protocol):
    """What a store layer answers for one client (`pod/chat-api-v1-0`)."""

    def reachable(self, client: str) -> bool: ...

    def writable(self, client: str) -> bool: ...


class Store:
    """One data store as the callers see it: capacity, state, pools, meters."""

    def __init__(self, env: simpy.Environment, model: StoreModel, streams: Callable, emit: Emit):
        self.env = env
        self.model = model
        self.name = model.name
        self.component = f"store/{model.name}"
        self.emit = emit
        self.slots = Slots(model.concurrency)
        self.sample = sampler(model.service_time, streams(f"{self.component}/service_time"))
        self.up = True
        self.access: Access | None = None
        self.servers: list[Pod] = []
        self.primary: Pod | None = None
        self.max_connections = model.max_connections if isinstance(model, Postgres) else 0
        self.connections = 0
        self.meters = Station()
        self.errors: dict[str, int] = {}
        self.uniform = uniform(streams(f"{self.component}/failover"))

    @property
    def concurrency(self) -> int:
        """Operations served at once."""
        return self.slots.capacity

    # ---------------------------------------------------------------- access

    def use(self, access: Access) -> None:
        """Let another model (a RedisGroup) decide reachability and writes."""
        self.access = access

    def reachable(self, client: str) -> bool:
        if not self.up:  # crashed: whatever the access model says
            return False
        if self.access is not None:
            return self.access.reachable(client)
        p = self.primary
        return self.up and p is not None and p.reachable and p.alive

    def writable(self, client: str) -> bool:
        if not self.up:
            return False
        if self.access is not None:
            return self.access.writable(client)
        return self.reachable(client)

    def publishable(self, client: str) -> bool:
        """PUBLISH: not a write (Redis takes it on a replica too); a store without its
        own access model takes it when reachable."""
        if not self.up:
            return False
        publishable = getattr(self.access, "publishable", None)
        if publishable is not None:
            return publishable(client)
        return self.reachable(client)

    def crash(self, reason: str = "crashed", restart: float | None = None) -> None:
        """Down now; back after `restart` (the model's restart time when None; < 0: never)."""
        if not self.up:
            return
        self.up = False
        self.emit(self.env.now, self.component, "StoreDown", reason)
        delay = self.model.restart if restart is None else restart
        if delay >= 0:
            self.env.timeout(delay).callbacks.append(lambda _e: self.restore("restarted"))

    def restore(self, reason: str = "restored") -> None:
        if self.up:
            return
        self.up = True
        self.emit(self.env.now, self.component, "StoreUp", reason)

    # --------------------------------------------------------------- servers

    def server_changed(self, pod: Pod, ready: bool) -> None:
        """Watcher of the store's server pods: the first ready one is the primary."""
        if ready:
            if pod not in self.servers:
                self.servers.append(pod)
            if self.primary is None or not self.primary.alive:
                self._promote(pod, "server ready")
        else:
            if pod in self.servers:
                self.servers.remove(pod)

    def node_changed(self, up: bool) -> None:
        """A node went away or came back: with HA PostgreSQL, Patroni fails over after
        ttl plus up to one loop_wait."""
        p = self.primary
        if up or p is None or p.reachable:
            return
        model = self.model
        if isinstance(model, Postgres) and model.mode == "ha":
            delay = model.failover.ttl + self.uniform() * model.failover.loop_wait
            self.env.timeout(delay).callbacks.append(lambda _e: self._failover(p))

    def _failover(self, old: Pod) -> None:
        if self.primary is not old or old.reachable:
            return
        for pod in self.servers:
            if pod is not old and pod.reachable and pod.alive:
                self._promote(pod, f"failover from {old.name}")
                return

    def _promote(self, pod: Pod, why: str) -> None:
        self.primary = pod
        if self.env.now > 0 or len(self.servers) > 1:
            self.emit(self.env.now, self.component, "Primary", f"{pod.name} ({why})")

    # ----------------------------------------------------------------- pools

    def connect(self, pod: Pod, size: int) -> None:
        """A client pod opens its pool (fewer connections when the server runs short)."""
        if self.max_connections:
            size = max(0, min(size, self.max_connections - self.connections))
            if size == 0:
                self.emit(self.env.now, pod.component, "TooManyConnections",
                          f"{self.name} max_connections {self.max_connections} reached")
            self.connections += size
        pod.pools[self.name] = Pool(size)

    def disconnect(self, pod: Pod) -> None:
        """The pod's pool closes: operations waiting for a connection are refused; those
        holding one finish and give it back to the closed pool."""
        pool = pod.pools.pop(self.name, None)
        if pool is not None and self.max_connections:
            self.connections -= pool.capacity
        if pool is not None:
            pool.refuse()

    def reset_meters(self, now: float) -> None:
        self.meters.reset(now)
        self.errors = {}


def is_write(op: str) -> bool:
    return op in ("write", "xadd", "publish")


def redis_like(model: StoreModel) -> bool:
    return isinstance(model, Redis)
