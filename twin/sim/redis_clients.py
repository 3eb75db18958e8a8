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
- Pub/Sub subscribers (the pods SSE events are emitted to) hold one subscription
  on the server they connected to; when its connections are killed the
  subscription is gone until the client reconnects and re-subscribes (after
  Sentinel names a reachable master, or the Service address answers again), and
  events PUBLISHed meanwhile are lost: PUBLISH succeeds with no one listening.
  PUBLISH is not a write: a replica accepts it too. On a master it reaches the
  subscribers there and on the replicas following it; on a replica, only that
  replica's own subscribers (it does not go up to the master). The router's
  XACK after it is a write, refused (READONLY) on a replica: the entry stays
  pending;
- Streams consumer groups (`EventLog`): an entry XADDed to a master and not yet
  on the replica Sentinel promotes is gone there, so the router never reads it
  (lost); an entry delivered whose XACK had not reached that replica is pending
  again on it and redelivered (duplicated). Both follow the servers' replication
  offsets: the replica holds exactly the writes up to its offset;
- every pool killed at once reconnects at once: each reconnect asks a sentinel
  (one query on its single thread) and opens its pool's connections, each
  costing the new server's single thread a few commands (accept, AUTH, SETNAME,
  ROLE), so operations on that server wait behind the burst: a latency bump.

Partitions cut client pods (by workload, node or pool) from servers and
sentinels; the other stores see the same cut through `CutAccess`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from twin.model.topology import Redis, StoreClient
from twin.result.events import sentinel_message
from twin.sim.redis import REFUSED, TIMEOUT, RedisGroup
from twin.sim.stats import Outages

if TYPE_CHECKING:
    from twin.sim.engine import Simulation

RECONNECT_MIN, RECONNECT_MAX = 0.1, 1.0  # client backoff before reconnecting (redis-py-like)
CONNECT_COMMANDS = 4  # a new connection costs the server: accept, AUTH, CLIENT SETNAME, ROLE
SENTINEL_QUERY = 0.0001  # SENTINEL get-master-addr-by-name on a sentinel's single thread (s)
ENTRY_HORIZON = 2.0  # stream entries older than this are replicated and acked (s)

# a stream entry: [t, server, offset, state, request, ack server, ack offset]
ADDED, READ, PUBLISHED, FAILED, GONE, REDELIVERED = range(6)


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
        self.reads = 0  # GET/XREAD and the like (not writes, not PUBLISH)
        self.read_errors = 0
        # writes failing, from the writes' own times (as twin.replica.local_backend
        # measures real ones): [first failure, last failure, first success after
        # (inf while failing)], one list per outage
        self.write_outages = Outages()
        # reconnect work: pods whose pool must be rebuilt, single threads' backlogs
        self.killed: set[str] = set()
        self.thread_free: dict[str, float] = {}
        self.sentinel_free: dict[int, float] = {}
        self.connections_opened = 0
        self.sentinel_queries = 0
        # Pub/Sub: subscriber pod -> server its subscription lives on (None: re-subscribing)
        self.subs: dict[str, str | None] = {}
        self.subscriptions_dropped = 0
        # Streams: recent entries, entries of a master frozen when it fell, replication lines
        self.entries: deque[list] = deque()
        self.frozen: dict[str, list[list]] = {}
        self.line = {n: s.replica_of for n, s in self.group.servers.items() if s.replica_of}
        self.last_write: dict[str, tuple[str, int]] = {}
        self.group.subscribe(self._heard)
        self.store.use(self)
        sim.flows.event_logs[store.name] = self
        sim.flows.stalls[store.name] = self.stall

    # ------------------------------------------------------------ events

    def _emit(self, time: float, source: str, event: str, detail: dict) -> None:
        """Sentinel's events in its own words, as the local backend records real ones."""
        if source.startswith("sentinel/") and isinstance(detail, dict):
            sentinel = self.model.sentinel
            text = sentinel_message(event, detail, self.model.port,
                                    sentinel.port if sentinel is not None else 26379)
        elif isinstance(detail, dict):
            text = " ".join(f"{k}={v}" for k, v in detail.items())
        else:
            text = str(detail)
        self.sim.emit(time, source, event, text)

    def _heard(self, kind: str, detail: dict) -> None:
        """Connections to a server were killed: every pool and subscription on it must
        reconnect. A master fell: its recent stream entries are kept for the promotion.
        A replica promoted: stream entries it never had are gone, unacked ones pending."""
        server = detail.get("server")
        if kind == "connections-killed":
            now = self.env.now
            for pod, srv in self.connected.items():
                if srv == server:
                    self.connected[pod] = None
                    self.back_at[pod] = now + float(self.gen.uniform(RECONNECT_MIN, RECONNECT_MAX))
                    self.reconnects += 1
                    self.killed.add(pod)
            for pod, srv in self.subs.items():
                if srv == server:
                    self.subs[pod] = None
                    self.subscriptions_dropped += 1
                    self.env.process(self._resubscribe(pod))
        elif kind == "server-down" and self.group.servers[server].replica_of is None:
            self._freeze(server)
        elif kind == "role-changed":
            if detail.get("role") == "master":
                self._promoted(server, self.line.pop(server, None))
            else:
                self.line[server] = detail.get("master")

    # ------------------------------------------------------------ Pub/Sub

    def _resubscribe(self, pod: str):
        """The subscriber's client reconnects with backoff until a server takes it."""
        while True:
            yield self.env.timeout(float(self.gen.uniform(RECONNECT_MIN, RECONNECT_MAX)))
            p = self.sim.cluster.pod(pod)
            if p is None or not p.alive:
                self.subs.pop(pod, None)
                return
            srv, error = self._resolve(pod)
            if error is None and self._live(pod, srv):
                self.subs[pod] = srv
                return

    def _live(self, pod: str, srv: str | None) -> bool:
        side = self._side(pod)
        return srv is not None and self.group.servers[srv].up and (
            side is None or self.group.reachable(side, srv))

    def subscription(self, pod: str) -> str | None:
        """The server a subscriber pod listens on; subscribed at its first event."""
        if pod not in self.subs:
            srv, error = self._resolve(pod)
            if error is None and self._live(pod, srv):
                self.subs[pod] = srv
            else:
                self.subs[pod] = None
                self.env.process(self._resubscribe(pod))
        return self.subs[pod]

    def heard(self, publisher, target, at: float) -> bool:  # noqa: ANN001 - Pods
        """Did the PUBLISH of `publisher` reach the subscription of `target`?"""
        srv = self.connected.get(publisher.name if publisher is not None else "gateway")
        sub = self.subscription(target.name)
        if srv is None or sub is None or not self._live(target.name, sub):
            return False
        servers = self.group.servers
        if servers[srv].replica_of is not None:  # published on a replica: its own subscribers
            return sub == srv
        return sub == srv or self.group._follows(servers[sub], servers[srv])  # noqa: SLF001

    # ------------------------------------------------------------ Streams

    def added(self, writer, req) -> list:  # noqa: ANN001 - a Pod (or None), a Request
        """XADD acknowledged: the entry, at the offset the write took on its server."""
        now = self.env._now
        srv, offset = self.last_write.get(writer.name if writer is not None else "gateway", ("", 0))
        entry = [now, srv, offset, ADDED, req, None, None]
        entries = self.entries
        entries.append(entry)
        while entries[0][0] < now - ENTRY_HORIZON:
            entries.popleft()
        return entry

    def read(self, entry: list) -> bool:
        """XREADGROUP by the router: False if the entry is gone."""
        if entry[3] == GONE:
            return False
        entry[3] = READ
        return True

    def acked(self, entry: list, router) -> None:  # noqa: ANN001 - a Pod
        """PUBLISHed, then XACKed (a write) on the router's server, at that server's
        offset; a replica refuses the XACK (READONLY) and the entry stays pending."""
        entry[3] = PUBLISHED
        client = router.name if router is not None else "gateway"
        if not self._op(client, write=True):
            entry[5] = entry[6] = None
            return
        srv = self.connected.get(client)
        entry[5] = srv
        entry[6] = self.group.servers[srv].offset if srv is not None else None

    def failed(self, entry: list) -> None:
        if entry is not None and entry[3] != GONE:
            entry[3] = FAILED

    def _freeze(self, master: str) -> None:
        self.frozen[master] = [e for e in self.entries if e[1] == master]

    def _promoted(self, name: str, old: str | None) -> None:
        """`name` holds `old`'s writes up to its offset: later entries are gone, entries
        whose XACK it lacks are pending again and the router redelivers them."""
        if old is None:
            return
        kept = self.group.servers[name].offset
        seen: set[int] = set()
        for e in [*self.frozen.pop(old, []), *self.entries]:
            if e[1] != old or id(e) in seen:
                continue
            seen.add(id(e))
            if e[2] > kept:
                if e[3] in (ADDED,):
                    e[3] = GONE
            elif e[3] == PUBLISHED and not (e[5] == old and e[6] is not None and e[6] <= kept):
                e[3] = REDELIVERED
                e[4].route.events_duplicated += 1

    # ------------------------------------------------------------ reconnect work

    def stall(self, client: str) -> float:
        """How long an operation waits behind its server's reconnect backlog."""
        srv = self.connected.get(client)
        return self.thread_free.get(srv, 0.0) - self.env._now if srv is not None else 0.0

    def _query_sentinel(self) -> float:
        """One SENTINEL get-master-addr-by-name: when its answer is back."""
        self.sentinel_queries += 1
        now = self.env.now
        idx = next((s.index for s in self.group.sentinels if s.alive), 0)
        done = max(now, self.sentinel_free.get(idx, 0.0)) + SENTINEL_QUERY
        self.sentinel_free[idx] = done
        return done

    def _reconnected(self, client: str, srv: str, asked_at: float) -> None:
        """A killed pool comes back: its connections are set up on `srv`'s thread."""
        self.killed.discard(client)
        pod = self.sim.cluster.pod(client)
        pool = pod.pools.get(self.model.name) if pod is not None else None
        how = self.how.get(pod.workload) if pod is not None else None
        size = pool.capacity if pool is not None else (how.pool if how is not None else 1)
        work = sum(self.store.sample() for _ in range(size * CONNECT_COMMANDS))
        start = max(asked_at, self.thread_free.get(srv, 0.0))
        self.thread_free[srv] = start + work
        self.connections_opened += size

    # ------------------------------------------------------------ access

    def _side(self, client: str) -> str | None:
        return f"pod/{client}" if self.isolated else None

    def _server_for(self, client: str) -> tuple[str | None, str | None]:
        """(server this client talks to, error) after any reconnect it is due."""
        now = self.env._now
        if self.back_at.get(client, 0.0) > now:
            return None, REFUSED  # its pool is reconnecting
        srv = self.connected.get(client)
        if srv is not None:
            return srv, None
        killed = client in self.killed
        srv, error = self._resolve(client)
        if error is None:
            self.connected[client] = srv
            if killed:
                asked = self._query_sentinel() if self._via_sentinel(client) else now
                if self._live(client, srv):  # the pool's connections are set up there
                    self._reconnected(client, srv, asked)
        elif killed and self._via_sentinel(client):
            self._query_sentinel()
        return srv, error

    def _via_sentinel(self, client: str) -> bool:
        pod = self.sim.cluster.pod(client) if client != "gateway" else None
        how = self.how.get(pod.workload) if pod is not None else None
        return bool(self.group.sentinels) and (how is None or how.via == "sentinel")

    def _resolve(self, client: str) -> tuple[str | None, str | None]:
        """The server a new connection of `client` goes to, as its client library finds it."""
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
        return srv, None

    def _op(self, client: str, write: bool, publish: bool = False) -> bool:
        self.ops += 1
        read = not write and not publish
        if read:
            self.reads += 1
        srv, error = self._server_for(client)
        if error is None:
            side = self._side(client)
            group = self.group
            res = (group.write(client_side=side, target=srv) if write
                   else group.publish(client_side=side, target=srv) if publish
                   else group.read(client_side=side, target=srv))
            if res.ok:
                if write:
                    self.last_write[client] = (srv, self.group.servers[srv].offset)
                    if self.write_outages.failing:
                        self.write_outages.ok(self.env.now)
                return True
            error = res.error or REFUSED
            if error in (REFUSED, TIMEOUT):
                self.connected[client] = None  # the next operation reconnects (and re-resolves)
                self.killed.add(client)
                self.back_at[client] = self.env.now + float(self.gen.uniform(RECONNECT_MIN, RECONNECT_MAX))
        self.errors[error] = self.errors.get(error, 0) + 1
        if read:
            self.read_errors += 1
        if write:
            self.write_errors += 1
            self._write_failed()
        return False

    def _write_failed(self) -> None:
        self.write_outages.failed(self.env.now)

    def failing_time(self, t0: float, t1: float) -> float:
        """Seconds of [t0, t1] during which writes were failing, from the writes' own times."""
        return self.write_outages.time(t0, t1)

    def failing_spans(self, until: float) -> list[tuple[float, float]]:
        """(first failure, first success after) of each outage; one still failing ends at `until`."""
        return self.write_outages.until(until)

    def reachable(self, client: str) -> bool:
        if client == "report":  # the end-of-run report asks, not a client
            return self.group.servers[self.master()].up
        return self._op(client, write=False)

    def writable(self, client: str) -> bool:
        return self._op(client, write=True)

    def publishable(self, client: str) -> bool:
        """PUBLISH from `client`: taken by whichever server its connection is on."""
        return self._op(client, write=False, publish=True)

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
        for name, server in self.group.servers.items():
            if server.replica_of is None:
                self._freeze(name)  # its replicas' links break now
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
        return self.write_outages.failing


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
