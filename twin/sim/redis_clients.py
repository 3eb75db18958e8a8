"""Redis as the applications see it: the core's store calls answered by a RedisGroup.

The simulator core asks a store `reachable(client)` / `writable(client)` for each
operation (twin.sim.stores.Access). For a Redis store this module answers from
the servers and sentinels of a `RedisGroup`, the way the client library each
workload uses (`clients[].via`) would:

- via sentinel: the pool asks Sentinel for the master (get-master-addr-by-name)
  and connects there; when its connections are killed (a crash, or the CLIENT
  KILL a promotion sends), it reconnects after a short jittered backoff and asks
  again, so writes fail until Sentinel names a new master, then recover;
- via service, target master: the Service keeps the pods that carried the master
  label at deploy time (nothing relabels them on failover), so writes fail while
  that server is down, and get READONLY once it returns demoted;
- via service, target all: each connection lands on any server that is up, and
  writes landing on a replica get READONLY;
- Pub/Sub subscribers are connections like the others: while their pool
  reconnects, events published meanwhile are not delivered (the hop fails);
- every pool killed at once reconnects at once: the reconnect burst is counted.

Partitions cut client pods (by workload, node or pool) from servers and
sentinels; the other stores see the same cut through `CutAccess`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from twin.model.topology import Redis, StoreClient
from twin.sim.redis import REFUSED, TIMEOUT, RedisGroup

if TYPE_CHECKING:
    from twin.sim.engine import Simulation

RECONNECT_MIN, RECONNECT_MAX = 0.1, 1.0  # client backoff before reconnecting (redis-py-like)


class RedisClients:
    """The Access of one Redis store, backed by its RedisGroup."""

    def __init__(self, sim: Simulation, store: Redis):
        self.sim = sim
        self.env = sim.env
        self.model = store
        self.store = sim.stores[store.name]
        self.group = RedisGroup(sim.env, store, sim.streams, self._emit)
        self.gen = sim.streams(f"store/{store.name}/clients")
        self.how: dict[str, StoreClient] = {
            w.name: c for w in sim.topology.workloads for c in w.clients if c.store == store.name}
        # per client pod: the server its pool is connected to, and when it may reconnect
        self.connected: dict[str, str | None] = {}
        self.back_at: dict[str, float] = {}
        self.isolated: set[str] = set()       # pods placed on a side of a cut
        self.errors: dict[str, int] = {}      # by Redis's word: refused, timeout, READONLY, ...
        self.reconnects = 0
        self.ops = 0
        self.write_errors = 0
        self.group.subscribe(self._heard)
        self.store.use(self)

    # ------------------------------------------------------------ events

    def _emit(self, time: float, source: str, event: str, detail: dict) -> None:
        text = " ".join(f"{k}={v}" for k, v in detail.items()) if isinstance(detail, dict) else str(detail)
        self.sim.emit(time, source, event, text)

    def _heard(self, kind: str, detail: dict) -> None:
        """Connections to a server were killed: every pool on it must reconnect."""
        if kind == "connections-killed":
            server = detail.get("server")
            now = self.env.now
            for pod, srv in self.connected.items():
                if srv == server:
                    self.connected[pod] = None
                    self.back_at[pod] = now + float(self.gen.uniform(RECONNECT_MIN, RECONNECT_MAX))
                    self.reconnects += 1

    # ------------------------------------------------------------ access

    def _side(self, client: str) -> str | None:
        return f"pod/{client}" if self.isolated else None

    def _server_for(self, client: str) -> tuple[str | None, str | None]:
        """(server this client talks to, error) after any reconnect it is due."""
        now = self.env.now
        if self.back_at.get(client, 0.0) > now:
            return None, REFUSED  # its pool is reconnecting
        srv = self.connected.get(client)
        if srv is not None:
            return srv, None
        pod = self.sim.cluster.pod(client) if client != "gateway" else None
        how = self.how.get(pod.workload) if pod is not None else None
        side = self._side(client)
        if how is None or how.via == "sentinel":
            srv = self.group.master_as_seen_by_sentinels(side)
            if srv is None:
                return None, TIMEOUT
        elif how.target == "master":
            srv = self.group.initial_master
        else:
            up = sorted(n for n, s in self.group.servers.items() if s.up)
            if not up:
                return None, REFUSED
            srv = up[int(self.gen.integers(len(up)))]
        self.connected[client] = srv
        return srv, None

    def _op(self, client: str, write: bool) -> bool:
        self.ops += 1
        srv, error = self._server_for(client)
        if error is None:
            side = self._side(client)
            res = (self.group.write(client_side=side, target=srv) if write
                   else self.group.read(client_side=side, target=srv))
            if res.ok:
                return True
            error = res.error or REFUSED
            if error in (REFUSED, TIMEOUT):
                self.connected[client] = None  # the next operation reconnects (and re-resolves)
                self.back_at[client] = self.env.now + float(self.gen.uniform(RECONNECT_MIN, RECONNECT_MAX))
        self.errors[error] = self.errors.get(error, 0) + 1
        if write:
            self.write_errors += 1
        return False

    def reachable(self, client: str) -> bool:
        if client == "report":  # the end-of-run report asks, not a client
            return self.group.servers[self.master()].up
        return self._op(client, write=False)

    def writable(self, client: str) -> bool:
        return self._op(client, write=True)

    # ------------------------------------------------------------ faults

    def master(self) -> str:
        return self.group.master_as_seen_by_sentinels() or self.group.initial_master

    def crash(self, server: str | None = None, back_after: float | None = None,
              empty: bool = False) -> str:
        """Crash a server (default: the current master); restart it after `back_after`."""
        name = server or self.master()
        self.group.crash(name)
        if empty:
            self.group.servers[name].offset = 0
        if back_after is not None:
            self.env.timeout(back_after).callbacks.append(lambda _e: self.group.restart(name))
        return name

    def partition(self, isolate: Iterable[str]) -> set[str]:
        """Cut the named members (`master`, `redis-1`, `sentinel/0`) and components
        (`service/chat-api`, `node/k8s-storage`, `pool/app`: their pods, and the servers
        and sentinels whose pods run there) off from everything else; the pods cut off."""
        side_a: set[str] = set()
        pods: set[str] = set()
        for name in isolate:
            if name == "master":
                side_a.add(self.master())
            elif name in self.group.servers or name.startswith("sentinel/"):
                side_a.add(name)
            else:
                pods |= set(self.client_pods(name))
        for server in self.group.servers:
            if server in pods:  # a server pod on an isolated node, with its sentinel beside it
                side_a.add(server)
                idx = self.group.servers[server].index
                if idx < len(self.group.sentinels):
                    side_a.add(f"sentinel/{idx}")
        side_a |= {f"pod/{p}" for p in pods}
        everyone = {*self.group.members(), *(f"pod/{p.name}" for p in self.sim.cluster.pods)}
        self.isolated = everyone  # every pod now answers for its side
        self.group.partition(side_a, everyone - side_a)
        for pod in list(self.connected):  # connections across the cut time out and reconnect
            self.connected[pod] = None
        return pods

    def heal(self) -> None:
        self.isolated.clear()
        self.group.heal()

    def client_pods(self, name: str) -> list[str]:
        """Pods named by a component: a workload's pods, or every pod on a node or pool."""
        kind, _, bare = name.rpartition("/")
        pods = self.sim.cluster.pods
        if kind in ("service", "worker", ""):
            found = [p.name for p in pods if p.workload == bare]
            if found or kind:
                return found
        if kind in ("node", ""):
            found = [p.name for p in pods if p.node is not None and p.node.name == bare]
            if found or kind:
                return found
        if kind in ("pool", ""):
            return [p.name for p in pods if p.node is not None and p.node.spec.pool == bare]
        return []

    @property
    def write_failing(self) -> bool:
        return self.group._failing_since is not None  # noqa: SLF001 - its own meter


class CutAccess:
    """Any other store, with client pods cut off from it by a partition."""

    def __init__(self, store, cut: set[str]):  # noqa: ANN001 - a twin.sim.stores.Store
        self.store = store
        self.cut = cut

    def reachable(self, client: str) -> bool:
        if client in self.cut:
            return False
        p = self.store.primary
        return self.store.up and p is not None and p.reachable and p.alive

    def writable(self, client: str) -> bool:
        return self.reachable(client)


def attach(sim: Simulation) -> dict[str, RedisClients]:
    """A RedisClients for every Redis store of the topology, wired into the core."""
    out = {}
    for s in sim.topology.stores:
        if isinstance(s, Redis) and s.name in sim.stores:
            out[s.name] = RedisClients(sim, s)
    return out
