"""The Redis servers of one store: master, replicas, asynchronous replication.

Nothing here runs on a timer. Servers change only when the simulator core (crash,
restart, partition) or a sentinel (SLAVEOF) acts, and writes are counted, not
scheduled, so that hours of traffic cost one integer increment per write.

Accounting rests on one identity: every write a master accepts is acknowledged,
and a server's replication offset is the number of writes its data holds. A
replica's data is a prefix of its master's (it lags by the writes still in
flight), a full resync copies the master's count, a server restarted without
persistence holds zero. So the acknowledged writes lost are always
`acknowledged - offset of the master Sentinel names`.

`RedisGroup` is the one object the core talks to (see its docstring); one
server's state is `twin.sim.redis_server.Server`; the sentinels live in
`twin.sim.sentinel` and act on servers through the group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import simpy

from twin.model.topology import Redis
from twin.sim.redis_server import Server, run_id
from twin.sim.rng import Streams
from twin.sim.sentinel import Sentinel

Emit = Callable[[float, str, str, dict], None]
Listener = Callable[[str, dict], None]

# Write errors, as a client sees them.
REFUSED = "refused"  # connection refused: the server is down
TIMEOUT = "timeout"  # no answer: the client is cut off from the server
READONLY = "READONLY"  # the server is a replica
NOREPLICAS = "NOREPLICAS"  # min-replicas-to-write not met

ACK_PERIOD = 1.0  # replicas send REPLCONF ACK once a second (replicationCron)


@dataclass(frozen=True, slots=True)
class WriteResult:
    ok: bool
    server: str | None
    error: str | None = None


class RedisGroup:
    """The servers and sentinels of one Redis store, and what clients see of them.

    emit(time, source, event, detail) carries every event out (sources
    `sentinel/0`, `redis/redis-1`). Faults: crash/restart a server,
    kill_sentinel/restart_sentinel, partition(side_a, side_b)/heal. Partition
    members are server names (`redis-1`), sentinel names (`sentinel/0`) and any
    label the core gives its clients (passed as `client_side`). Clients:
    write()/read() against the server they believe is master (default: the one
    Sentinel names), subscribe() for connections killed, roles and switches.
    Counters: acknowledged, lost_acknowledged_writes, write_failing_seconds,
    refused (by error kind); counters() gives them as one dict.
    """

    def __init__(self, env: simpy.Environment, store: Redis, streams: Streams, emit: Emit):
        self.env = env
        self.store = store
        self.streams = streams
        self.emit = emit
        self.servers: dict[str, Server] = {}
        for i in range(store.servers if store.mode == "sentinel" else 1):
            name = f"{store.name}-{i}"
            self.servers[name] = Server(name, i, store.priority(i), streams(f"redis/{name}"))
            if i > 0:
                self.servers[name].replica_of = f"{store.name}-0"
        self._cuts: list[tuple[frozenset[str], frozenset[str]]] = []
        self._listeners: list[Listener] = []
        self.acknowledged = 0
        self.refused: dict[str, int] = {}
        self._failing_since: float | None = None
        self._failing_total = 0.0
        self._horizon = max(1.0, 50.0 * store.replication_lag.expected)
        self.initial_master = f"{store.name}-0"
        self._relink()
        self.sentinels: list[Sentinel] = []
        if store.mode == "sentinel" and store.sentinel is not None:
            self.sentinels = [Sentinel(self, i) for i in range(store.sentinel.sentinels)]
            for s in self.sentinels:
                s.start()

    # ------------------------------------------------------------ reachability

    def reachable(self, a: str, b: str) -> bool:
        """Can a and b exchange packets? Names outside every cut reach everything."""
        for side_a, side_b in self._cuts:
            if (a in side_a and b in side_b) or (a in side_b and b in side_a):
                return False
        return True

    def members(self) -> list[str]:
        """Names partitions can use for servers and sentinels."""
        return [*self.servers, *(f"sentinel/{s.index}" for s in self.sentinels)]

    # ------------------------------------------------------------------ faults

    def crash(self, name: str) -> None:
        """The server process dies: connections reset, its replicas' links drop."""
        server = self.servers[name]
        if not server.up:
            return
        self._freeze_followers_of(server)
        server.up = False
        server.following = None
        for s in self.sentinels:
            if s.alive and self.reachable(s.member, name):
                s.connection_reset(name)
        server.ack_master = None
        if not self.store.persistence.enabled:
            server.offset = 0  # memory is gone; restart() brings it back empty
        self.notify("connections-killed", {"server": name, "cause": "crash"})
        self.notify("server-down", {"server": name})
        self._changed()

    def restart(self, name: str) -> None:
        """The pod is back: a new run id, empty unless persistence is on, same role config."""
        server = self.servers[name]
        if server.up:
            return
        server.up = True
        server.run_id = run_id(server.gen)
        server.recent.clear()
        server.link_down_since = self.env.now if server.replica_of else None
        self._relink()
        self.notify("server-up", {"server": name})
        self._changed()

    def partition(self, side_a: Iterable[str], side_b: Iterable[str]) -> None:
        self._cuts.append((frozenset(side_a), frozenset(side_b)))
        self._relink()
        self._changed()

    def heal(self) -> None:
        self._cuts.clear()
        self._relink()
        self._changed()

    def kill_sentinel(self, index: int) -> None:
        self.sentinels[index].kill()
        self._changed()

    def restart_sentinel(self, index: int, new_address: bool) -> None:
        """Back with a new address (and a fresh config: new run id) or the same one."""
        old = self.sentinels[index]
        old.kill()
        self.sentinels[index] = Sentinel(self, index, previous=old, new_address=new_address)
        self.sentinels[index].start()
        self._changed()

    # ------------------------------------------------------- sentinel commands

    def replicaof(self, name: str, master: str | None, by: str) -> None:
        """SLAVEOF sent by a sentinel, with CLIENT KILL of normal and pubsub clients."""
        server = self.servers[name]
        if master is None:
            server.offset = server.offset_now(self)
            server.following = None
            server.replica_of = None
            server.link_down_since = None
            server.ack_master = None
            server.recent.clear()
        else:
            if server.replica_of is None:
                self._freeze_followers_of(server)
            elif server.following is not None:
                server.offset = server.offset_now(self)
            server.replica_of = master
            server.following = None
            server.ack_master = None
            server.link_down_since = self.env.now
        self._relink()
        self.notify("connections-killed", {"server": name, "cause": "client-kill", "by": by})
        self.notify("role-changed", {"server": name, "role": server.role, "master": master})
        self._changed()

    # ------------------------------------------------------------- replication

    def _freeze_followers_of(self, master: Server) -> None:
        """Links to `master` drop: each replica keeps what reached it."""
        for r in self.servers.values():
            if r.following is master:
                self._break(r, crashed_master=True)

    def _break(self, r: Server, crashed_master: bool) -> None:
        now = self.env.now
        r.offset = r.offset_now(self)
        r.following = None
        r.link_down_since = now
        # a crashed master forgets its replicas; a partitioned one waits for ACKs
        r.last_ack = float("-inf") if crashed_master else now - float(r.gen.uniform(0, ACK_PERIOD))

    def _relink(self) -> None:
        """Bring every replication link in line with who is up and reachable."""
        for r in self.servers.values():
            if not r.up or r.following is None:
                continue
            m = r.following
            if r.replica_of != m.name or not m.up or not self.reachable(r.name, m.name):
                self._break(r, crashed_master=not m.up)
        for r in self.servers.values():
            if not r.up or r.replica_of is None or r.following is not None:
                continue
            m = self.servers[r.replica_of]
            if m.up and self.reachable(r.name, m.name) and not self._follows(m, r):
                r.offset = m.offset_now(self)  # (partial or full) resync: the master's data
                r.following = m
                r.link_down_since = None
                r.ack_master = m

    def _follows(self, a: Server, b: Server) -> bool:
        """Does a (transitively) replicate from b? (No replication loops.)"""
        while a is not None:
            if a is b:
                return True
            a = a.following
        return False

    def good_replicas(self, master: Server) -> int:
        """Replicas whose last ACK is within min-replicas-max-lag."""
        now = self.env.now
        n = 0
        for r in self.servers.values():
            if r.following is master:
                n += 1
            elif r.up and r.ack_master is master and now - r.last_ack <= self.store.min_replicas_max_lag:
                n += 1
        return n

    # ----------------------------------------------------------------- clients

    def subscribe(self, listener: Listener) -> None:
        """listener(kind, detail) for connections-killed, server-down, server-up,
        role-changed and switch-master (a sentinel's +switch-master)."""
        self._listeners.append(listener)

    def notify(self, kind: str, detail: dict) -> None:
        for listener in self._listeners:
            listener(kind, detail)

    def master_as_seen_by_sentinels(self, client_side: str | None = None) -> str | None:
        """SENTINEL get-master-addr-by-name, asked of the first sentinel that answers."""
        if not self.sentinels:
            return self.initial_master
        for s in self.sentinels:
            if s.alive and (client_side is None or self.reachable(client_side, s.member)):
                return s.current_master()
        return None

    def _reach(self, target: str | None, client_side: str | None) -> tuple[Server | None, str | None]:
        if target is None:
            target = self.master_as_seen_by_sentinels(client_side)
            if target is None:
                return None, TIMEOUT
        server = self.servers[target]
        if client_side is not None and not self.reachable(client_side, target):
            return server, TIMEOUT
        if not server.up:
            return server, REFUSED
        return server, None

    def write(self, client_side: str | None = None, target: str | None = None) -> WriteResult:
        """One write from a client on `client_side` to `target`, the server it
        believes is master (default: the one Sentinel names). O(1)."""
        server, error = self._reach(target, client_side)
        if error is None:
            if server.replica_of is not None:
                error = READONLY
            elif (
                self.store.min_replicas_to_write > 0
                and self.good_replicas(server) < self.store.min_replicas_to_write
            ):
                error = NOREPLICAS
        now = self.env.now
        if error is not None:
            self.refused[error] = self.refused.get(error, 0) + 1
            if self._failing_since is None:
                self._failing_since = now
            return WriteResult(False, server.name if server else None, error)
        server.offset += 1
        self.acknowledged += 1
        recent = server.recent
        recent.append(now)
        if len(recent) > 64 and now - recent[0] > self._horizon:
            while now - recent[0] > self._horizon:
                recent.popleft()
        if self._failing_since is not None:
            self._failing_total += now - self._failing_since
            self._failing_since = None
        return WriteResult(True, server.name)

    def read(self, client_side: str | None = None, target: str | None = None) -> WriteResult:
        """One read: replicas serve reads too."""
        server, error = self._reach(target, client_side)
        return WriteResult(error is None, server.name if server else None, error)

    def publish(self, client_side: str | None = None, target: str | None = None) -> WriteResult:
        """PUBLISH is not a write command: a replica accepts it (no READONLY, no
        min-replicas check); only the subscribers of the server it ran on, and on a
        master those of the replicas following it, hear it (RedisClients.heard)."""
        return self.read(client_side, target)

    # ---------------------------------------------------------------- counters

    def counters(self) -> dict[str, float]:
        return {"acknowledged_writes": self.acknowledged,
                "acknowledged_writes_lost": self.lost_acknowledged_writes,
                "write_failing_seconds": self.write_failing_seconds,
                **{f"writes_refused_{k}": v for k, v in sorted(self.refused.items())}}

    @property
    def write_failing_seconds(self) -> float:
        """Time from a failed write to the next successful one, summed."""
        ongoing = self.env.now - self._failing_since if self._failing_since is not None else 0.0
        return self._failing_total + ongoing

    @property
    def lost_acknowledged_writes(self) -> int:
        """Acknowledged writes missing from the master Sentinel names (while that
        master is down without persistence, from the best copy a failover could keep)."""
        name = self.master_as_seen_by_sentinels() or self.initial_master
        master = self.servers[name]
        if master.up or self.store.persistence.enabled:
            kept = master.offset_now(self) if master.up else master.offset
        else:
            kept = max((s.offset for s in self.servers.values() if s.up and s.following is None
                        and s.replica_of is not None), default=0)
        return self.acknowledged - kept

    # ---------------------------------------------------------------- plumbing

    def _changed(self) -> None:
        """Something sentinels could notice changed: wake the idle ones."""
        for s in self.sentinels:
            s.wake()
