"""Redis Sentinel, one SimPy process per sentinel, after redis src/sentinel.c.

Each sentinel runs its own timer at a random 10-19 Hz and, per tick, does what
sentinelHandleRedisInstance does for the master, its replicas and its peer
sentinels: reconnect, PING / INFO / hello when due, SDOWN, and for the master
ODOWN, the failover start, the failover state machine and is-master-down asks.
Replies are immediate (a LAN round trip is far below a tick), except the
is-master-down replies, which land RTT later, so a leader counts its votes on
the tick after it asked, as the real one does.

A sentinel with nothing to do sleeps instead of ticking: every server and peer
it sees answers and agrees with its view, or is SDOWN and unreachable, and no
failover runs. Anything that could change that (a crash, a restart, a partition,
a SLAVEOF, a peer's news) wakes it, and the phases of its periodic PING, INFO
and hello are redrawn as if it had ticked all along.

Not modelled: TILT, scripts, SENTINEL FAILOVER (forced), several
masters per sentinel, the master-reported-as-slave SDOWN rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import simpy

from twin.model.topology import Redis
from twin.sim.redis_server import Server, run_id

NEVER = float("-inf")
ASK_PERIOD = 1.0  # SENTINEL_ASK_PERIOD
INFO_VALIDITY = 5.0  # SENTINEL_INFO_VALIDITY_TIME: is-master-down replies
MAX_DESYNC = 1.0  # SENTINEL_MAX_DESYNC
ELECTION_TIMEOUT = 10.0  # SENTINEL_ELECTION_TIMEOUT
FAST_INFO_PERIOD = 1.0  # INFO to replicas while the master is ODOWN or failing over
SLAVE_RECONF_TIMEOUT = 10.0  # SENTINEL_SLAVE_RECONF_TIMEOUT
RTT = 0.001

# failover states, as in sentinel.c
NONE, WAIT_START, SELECT_SLAVE, SEND_SLAVEOF_NOONE, WAIT_PROMOTION, RECONF_SLAVES, UPDATE_CONFIG = range(7)


class Group(Protocol):
    """What a sentinel reaches of its store (twin.sim.redis.RedisGroup, which creates the
    sentinels): the servers and its peers, the network between them, and where its
    SLAVEOF commands, switch-master messages and events go."""

    env: simpy.Environment
    store: Redis
    streams: Callable[[str], np.random.Generator]
    emit: Callable[[float, str, str, dict], None]
    servers: dict[str, Server]
    sentinels: list[Sentinel]
    initial_master: str

    def reachable(self, a: str, b: str) -> bool: ...

    def replicaof(self, name: str, master: str | None, by: str) -> None: ...

    def notify(self, kind: str, detail: dict) -> None: ...

    def master_as_seen_by_sentinels(self, client_side: str | None = None) -> str | None: ...


class Link:
    """A sentinelRedisInstance plus its instanceLink: one instance as one sentinel sees it."""

    def __init__(self, kind: str, name: str, now: float, peer_index: int = -1, peer_run_id: str = ""):
        self.kind = kind  # master, slave or sentinel
        self.name = name  # server name, or sentinel/<i> for a peer
        self.peer_index = peer_index
        self.peer_run_id = peer_run_id
        self.connected = False
        self.last_reconn = NEVER
        self.act_ping: float | None = now  # createInstanceLink: "now", to time out a node never reached
        self.last_ping = NEVER
        self.last_pong = now
        self.last_avail = now
        self.last_pub = NEVER
        self.info_refresh: float | None = None
        self.sdown = False
        self.sdown_since: float | None = None
        self.odown = False
        self.odown_since: float | None = None
        # INFO
        self.run_id: str | None = None
        self.role: str = kind if kind != "sentinel" else "sentinel"
        self.role_time = now
        self.slave_master: str | None = None
        self.slave_conf_change_time = now
        self.link_up = False
        self.link_down_time = 0.0
        self.offset = 0
        self.priority = 100
        # failover flags on replicas
        self.promoted = False
        self.reconf_sent = False
        self.reconf_inprog = False
        self.reconf_done = False
        self.reconf_sent_time = NEVER
        # peer sentinels
        self.master_down = False
        self.last_md_reply = NEVER
        self.leader: str | None = None
        self.leader_epoch = 0
        self.last_hello = NEVER


class Sentinel:
    """One redis-sentinel process monitoring the store's master."""

    def __init__(self, group: Group, index: int, previous: Sentinel | None = None,
                 new_address: bool = False):
        self.group = group
        self.env = group.env
        self.index = index
        self.member = f"sentinel/{index}"
        self.gen = group.streams(self.member)
        cfg = group.store.sentinel
        self.quorum = cfg.quorum
        self.down_after = cfg.down_after
        self.failover_timeout = cfg.failover_timeout
        self.parallel_syncs = cfg.parallel_syncs
        self.ping_period = min(cfg.ping_period, cfg.down_after)
        self.info_period = cfg.info_period
        self.hello_period = cfg.hello_period
        self.master_label = cfg.master_name
        self.alive = True
        self._wake_event = None
        now = self.env.now
        keep = previous is not None and not new_address  # same pod identity: sentinel.conf kept
        self.generation = 0 if previous is None else previous.generation + (1 if new_address else 0)
        self.run_id = previous.run_id if keep else run_id(self.gen)
        self.current_epoch = previous.current_epoch if keep else 0
        self.config_epoch = previous.config_epoch if keep else 0
        self.leader: str | None = previous.leader if keep else None  # this sentinel's vote
        self.leader_epoch = previous.leader_epoch if keep else 0
        self.peers: dict[str, Link] = {}
        if keep:
            for rid, old in previous.peers.items():
                self.peers[rid] = Link("sentinel", old.name, now, old.peer_index, rid)
        master = group.master_as_seen_by_sentinels() if previous is not None else None
        self._reset_master(master or group.initial_master)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if not self.peers and self.generation == 0 and self.current_epoch == 0:
            for other in self.group.sentinels:  # sentinel.conf's known-sentinel lines
                if other is not self and other.alive:
                    self.peers[other.run_id] = Link("sentinel", other.member, self.env.now,
                                                    other.index, other.run_id)
        self.env.process(self._run())

    def kill(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.wake()
        for s in self.group.sentinels:
            if s is not self and s.alive and self.group.reachable(s.member, self.member):
                s.connection_reset(self.run_id)

    def wake(self) -> None:
        if self._wake_event is not None and not self._wake_event.triggered:
            self._wake_event.succeed()

    def connection_reset(self, key: str) -> None:
        """The instance's process died: its TCP connections close at once."""
        link = self.peers.get(key) or self._server_links().get(key)
        if link is not None:
            link.connected = False

    def _run(self):
        gen = self.gen
        yield self.env.timeout(float(gen.uniform(0, 0.1)))
        while self.alive:
            self._tick()
            if self._settled():
                self._wake_event = self.env.event()
                yield self._wake_event
                self._wake_event = None
                if not self.alive:
                    return
                self._resume()
                yield self.env.timeout(float(gen.uniform(0, 1.0 / (10 + int(gen.integers(0, 10))))))
            else:
                yield self.env.timeout(1.0 / (10 + int(gen.integers(0, 10))))

    # ---------------------------------------------------------------- helpers

    def _event(self, name: str, link: Link | None = None, **detail) -> None:
        """One Pub/Sub event about an instance (`%@`): the fields of
        twin.result.events.sentinel_message, which writes Sentinel's own text."""
        kind, who = ("master", self.master_name) if link is None else (link.kind, link.name)
        info = {"type": kind, "name": who, "master": self.master_label, "server": self.master_name}
        info.update(detail)
        self.group.emit(self.env.now, self.member, name, info)

    def _server_links(self) -> dict[str, Link]:
        return {self.master_name: self.master, **self.slaves}

    def _peer(self, link: Link) -> Sentinel | None:
        s = self.group.sentinels[link.peer_index]
        return s if s.alive and s.run_id == link.peer_run_id else None

    def _responds(self, link: Link) -> bool:
        if link.kind == "sentinel":
            peer = self._peer(link)
            return peer is not None and self.group.reachable(self.member, peer.member)
        server = self.group.servers[link.name]
        return server.up and self.group.reachable(self.member, server.name)

    @property
    def in_failover(self) -> bool:
        return self.failover_state != NONE

    def current_master(self) -> str:
        """sentinelGetCurrentMasterAddress: the promoted replica from reconf-slaves on."""
        if self.in_failover and self.promoted and self.failover_state >= RECONF_SLAVES:
            return self.promoted
        return self.master_name

    def _reset_master(self, name: str, announce: bool = False) -> None:
        """sentinelResetMasterAndChangeAddress: new master, every other server a replica
        (each announced with +slave after a +switch-master, as the real one does)."""
        now = self.env.now
        self.master_name = name
        self.master = Link("master", name, now)
        self.master.role = "master"
        self.slaves = {n: Link("slave", n, now) for n in self.group.servers if n != name}
        self.failover_state = NONE
        self.failover_state_change_time = NEVER
        self.failover_start_time = NEVER  # "We can failover again ASAP."
        self.failover_epoch = 0
        self.promoted: str | None = None
        self.leader = None
        if announce:
            for link in self.slaves.values():
                self._event("+slave", link)

    def _info_period(self, link: Link) -> float:
        if link.kind == "slave" and (self.master.odown or self.in_failover or link.link_down_time):
            return FAST_INFO_PERIOD
        return self.info_period

    # ------------------------------------------------------------------- tick

    def _tick(self) -> None:
        self._handle(self.master)
        self._check_odown()
        if self._start_failover_if_needed():
            self._ask_master_state(force=True)
        self._failover_state_machine()
        self._ask_master_state(force=False)
        for link in list(self.slaves.values()):
            self._handle(link)
        for link in list(self.peers.values()):
            self._handle(link)
        if self.failover_state == UPDATE_CONFIG:
            self._switch_to_promoted()

    def _handle(self, link: Link) -> None:
        now = self.env.now
        if not link.connected and now - link.last_reconn >= self.ping_period:
            link.last_reconn = now
            if self._responds(link):
                link.connected = True
                self._ping(link)  # "Send a PING ASAP when reconnecting."
            elif link.act_ping is None:
                link.act_ping = now  # the PING queued on a connection that never completes
        if link.connected:
            if link.kind != "sentinel" and (
                link.info_refresh is None or now - link.info_refresh > self._info_period(link)
            ):
                self._info(link)
            if now - link.last_pong > self.ping_period and now - link.last_ping > self.ping_period / 2:
                self._ping(link)
            if now - link.last_pub > self.hello_period:
                self._hello(link)
        self._check_sdown(link)

    def _ping(self, link: Link) -> None:
        now = self.env.now
        link.last_ping = now
        if self._responds(link):
            link.last_pong = link.last_avail = now
            link.act_ping = None
        elif link.act_ping is None:
            link.act_ping = now

    def _check_sdown(self, link: Link) -> None:
        now = self.env.now
        half = self.down_after / 2
        if (link.connected and link.act_ping is not None and now - link.act_ping > half
                and now - link.last_pong > half):
            link.connected = False  # the link looks dead: close it and reconnect
        if link.act_ping is not None:
            elapsed = now - link.act_ping
        elif not link.connected:
            elapsed = now - link.last_avail
        else:
            elapsed = 0.0
        if elapsed > self.down_after:
            if not link.sdown:
                link.sdown = True
                link.sdown_since = now
                self._event("+sdown", link)
        elif link.sdown:
            link.sdown = False
            self._event("-sdown", link)

    # ------------------------------------------------------------------- INFO

    def _info(self, link: Link) -> None:
        """INFO replication, and what sentinelRefreshInstanceInfo does with it."""
        if not self._responds(link):
            return
        now = self.env.now
        group = self.group
        server = group.servers[link.name]
        link.info_refresh = now
        if link.run_id is not None and link.run_id != server.run_id:
            self._event("+reboot", link)  # a new run id: the process restarted
        link.run_id = server.run_id
        role = server.role
        master_of = server.replica_of
        link.link_up = server.following is not None
        link.link_down_time = (
            now - server.link_down_since
            if role == "slave" and not link.link_up and server.link_down_since is not None
            else 0.0
        )
        link.offset = server.offset_now(group)
        link.priority = server.priority
        if role == "slave" and master_of != link.slave_master:
            link.slave_conf_change_time = now
        link.slave_master = master_of
        if role != link.role:
            link.role = role
            link.role_time = now
            if role == "slave":
                link.slave_conf_change_time = now
            # + when the role reported is the one configured, - on a mismatch
            self._event("+role-change" if link.kind == role else "-role-change", link, role=role)
        if link.kind != "slave":
            return
        if role == "master":
            if link.promoted and self.failover_state == WAIT_PROMOTION:
                self.config_epoch = self.failover_epoch
                self.failover_state = RECONF_SLAVES
                self.failover_state_change_time = now
                self._event("+promoted-slave", link)
                self._event("+failover-state-reconf-slaves")
                for other in (self.master, *self.slaves.values(), *self.peers.values()):
                    other.last_pub = NEVER  # sentinelForceHelloUpdateForMaster
            else:
                wait = self.group.store.demote_after
                if (not link.promoted and self._master_looks_sane() and self._no_down_for(link, wait)
                        and now - link.role_time > wait):
                    self._slaveof(link, self.master_name)
                    self._event("+convert-to-slave", link)
            return
        if master_of != self.master_name:
            wait = self.failover_timeout
            if (self._master_looks_sane() and self._no_down_for(link, wait)
                    and now - link.slave_conf_change_time > wait):
                self._slaveof(link, self.master_name)
                self._event("+fix-slave-config", link)
        if link.reconf_sent or link.reconf_inprog:
            if link.reconf_sent and self.promoted is not None and master_of == self.promoted:
                link.reconf_sent = False
                link.reconf_inprog = True
                self._event("+slave-reconf-inprog", link)
            if link.reconf_inprog and link.link_up:
                link.reconf_inprog = False
                link.reconf_done = True
                self._event("+slave-reconf-done", link)

    def _master_looks_sane(self) -> bool:
        m = self.master
        return (m.role == "master" and not m.sdown and not m.odown and m.info_refresh is not None
                and self.env.now - m.info_refresh < 2 * self.info_period)

    def _no_down_for(self, link: Link, period: float) -> bool:
        recent = max(link.sdown_since or NEVER, link.odown_since or NEVER)
        return recent == NEVER or self.env.now - recent > period

    def _slaveof(self, link: Link, master: str | None) -> None:
        """MULTI, SLAVEOF, CONFIG REWRITE, CLIENT KILL normal/pubsub, EXEC: lost if unanswered."""
        if self._responds(link):
            self.group.replicaof(link.name, master, by=self.member)

    # ------------------------------------------------------------------ hello

    def _hello(self, link: Link) -> None:
        link.last_pub = self.env.now
        if not self._responds(link):
            return
        msg = (self.run_id, self.index, self.current_epoch, self.current_master(), self.config_epoch)
        if link.kind == "sentinel":
            peer = self._peer(link)
            if peer is not None:
                peer.receive_hello(*msg)
            return
        for s in self.group.sentinels:  # subscribers of __sentinel__:hello on this server
            if s is not self and s.alive and self.group.reachable(s.member, link.name):
                s.receive_hello(*msg)

    def receive_hello(self, rid: str, index: int, epoch: int, master: str, config_epoch: int) -> None:
        """sentinelProcessHelloMessage."""
        changed = False
        link = self.peers.get(rid)
        if link is None:
            link = self.peers[rid] = Link("sentinel", f"sentinel/{index}", self.env.now, index, rid)
            self._event("+sentinel", link, run_id=rid)
            changed = True
        if epoch > self.current_epoch:
            self.current_epoch = epoch
            self._event("+new-epoch", epoch=epoch)
            changed = True
        if config_epoch > self.config_epoch:
            self.config_epoch = config_epoch
            if master != self.master_name:
                old = self.master_name
                self._event("+config-update-from", link)
                self._event("+switch-master", **{"from": old, "to": master})
                self._reset_master(master, announce=True)
                self.group.notify("switch-master", {"sentinel": self.member, "from": old, "to": master})
                changed = True
        link.last_hello = self.env.now
        if changed:
            self.wake()

    # ------------------------------------------------------------- ODOWN, votes

    def _check_odown(self) -> None:
        m = self.master
        votes = 0
        if m.sdown:
            votes = 1 + sum(1 for p in self.peers.values() if p.master_down)
        if m.sdown and votes >= self.quorum:
            if not m.odown:
                m.odown = True
                m.odown_since = self.env.now
                self._event("+odown", quorum=f"{votes}/{self.quorum}")
        elif m.odown:
            m.odown = False
            self._event("-odown")

    def _ask_master_state(self, force: bool) -> None:
        """SENTINEL is-master-down-by-addr to every connected peer, once a second."""
        now = self.env.now
        for link in self.peers.values():
            if now - link.last_md_reply > INFO_VALIDITY:
                link.master_down = False
                link.leader = None
            if not self.master.sdown or not link.connected:
                continue
            if not force and now - link.last_md_reply < ASK_PERIOD:
                continue
            peer = self._peer(link)
            if peer is None or not self.group.reachable(self.member, peer.member):
                continue
            runid = self.run_id if self.in_failover else "*"
            reply = peer.is_master_down(self.master_name, self.current_epoch, runid)
            self.env.timeout(RTT).callbacks.append(
                lambda _ev, link=link, reply=reply: self._master_down_reply(link, *reply))

    def _master_down_reply(self, link: Link, down: bool, leader: str | None, epoch: int) -> None:
        if not self.alive:
            return
        link.last_md_reply = self.env.now
        link.master_down = down
        if leader is not None:
            link.leader = leader
            link.leader_epoch = epoch

    def is_master_down(self, master: str, req_epoch: int, req_runid: str) -> tuple[bool, str | None, int]:
        """The peer side of is-master-down-by-addr: our SDOWN, and a vote if asked."""
        self.wake()
        if master != self.master_name:
            return False, None, 0
        leader, epoch = None, 0
        if req_runid != "*":
            leader, epoch = self._vote(req_epoch, req_runid)
        return self.master.sdown, leader, epoch

    def _vote(self, req_epoch: int, req_runid: str) -> tuple[str | None, int]:
        """sentinelVoteLeader: the first requester of an epoch gets the vote."""
        if req_epoch > self.current_epoch:
            self.current_epoch = req_epoch
            self._event("+new-epoch", epoch=req_epoch)
        if self.leader_epoch < req_epoch and self.current_epoch <= req_epoch:
            self.leader = req_runid
            self.leader_epoch = self.current_epoch
            self._event("+vote-for-leader", leader=self._sentinel_name(req_runid),
                        run_id=req_runid, epoch=self.leader_epoch)
            if req_runid != self.run_id:
                self.failover_start_time = self.env.now + float(self.gen.uniform(0, MAX_DESYNC))
        return self.leader, self.leader_epoch

    def _sentinel_name(self, rid: str) -> str:
        if rid == self.run_id:
            return self.member
        link = self.peers.get(rid)
        return link.name if link else rid

    def _get_leader(self, epoch: int) -> str | None:
        """sentinelGetLeader: a majority of every sentinel ever seen, and the quorum."""
        voters = len(self.peers) + 1
        counters: dict[str, int] = {}
        for link in self.peers.values():
            if link.leader is not None and link.leader_epoch == self.current_epoch:
                counters[link.leader] = counters.get(link.leader, 0) + 1
        winner, max_votes = None, 0
        for rid, votes in counters.items():
            if votes > max_votes:
                winner, max_votes = rid, votes
        myvote, my_epoch = self._vote(epoch, winner or self.run_id)
        if myvote is not None and my_epoch == epoch:
            votes = counters.get(myvote, 0) + 1
            if votes > max_votes:
                winner, max_votes = myvote, votes
        if winner is not None and (max_votes < voters // 2 + 1 or max_votes < self.quorum):
            return None
        return winner

    # -------------------------------------------------------------- failover

    def _start_failover_if_needed(self) -> bool:
        now = self.env.now
        if not self.master.odown or self.in_failover:
            return False
        if now - self.failover_start_time < 2 * self.failover_timeout:
            return False
        self.failover_state = WAIT_START
        self.current_epoch += 1
        self.failover_epoch = self.current_epoch
        self._event("+new-epoch", epoch=self.current_epoch)
        self._event("+try-failover", epoch=self.current_epoch)
        self.failover_start_time = now + float(self.gen.uniform(0, MAX_DESYNC))
        self.failover_state_change_time = now
        return True

    def _abort(self) -> None:
        self.failover_state = NONE
        self.failover_state_change_time = self.env.now
        if self.promoted is not None:
            self.slaves[self.promoted].promoted = False
            self.promoted = None

    def _set_state(self, state: int, event: str, link: Link | None = None) -> None:
        self.failover_state = state
        self.failover_state_change_time = self.env.now
        self._event(event, link)

    def _failover_state_machine(self) -> None:
        state = self.failover_state
        now = self.env.now
        if state == WAIT_START:
            if self._get_leader(self.failover_epoch) != self.run_id:
                if now - self.failover_start_time > min(ELECTION_TIMEOUT, self.failover_timeout):
                    self._event("-failover-abort-not-elected")
                    self._abort()
                return
            self._event("+elected-leader", epoch=self.failover_epoch)
            self._set_state(SELECT_SLAVE, "+failover-state-select-slave")
        elif state == SELECT_SLAVE:
            link = self._select_slave()
            if link is None:
                self._event("-failover-abort-no-good-slave")
                self._abort()
                return
            self._event("+selected-slave", link, offset=link.offset, priority=link.priority,
                        run_id=link.run_id)
            link.promoted = True
            self.promoted = link.name
            self._set_state(SEND_SLAVEOF_NOONE, "+failover-state-send-slaveof-noone", link)
        elif state == SEND_SLAVEOF_NOONE:
            link = self.slaves[self.promoted]
            if not link.connected:
                if now - self.failover_state_change_time > self.failover_timeout:
                    self._event("-failover-abort-slave-timeout")
                    self._abort()
                return
            self._slaveof(link, None)
            self._set_state(WAIT_PROMOTION, "+failover-state-wait-promotion", link)
        elif state == WAIT_PROMOTION:
            if now - self.failover_state_change_time > self.failover_timeout:
                self._event("-failover-abort-slave-timeout")
                self._abort()
        elif state == RECONF_SLAVES:
            self._reconf_next_slave()

    def _select_slave(self) -> Link | None:
        """sentinelSelectSlave: exclusions, then priority, offset, run id."""
        now = self.env.now
        m = self.master
        max_master_down = (now - m.sdown_since if m.sdown else 0.0) + 10 * self.down_after
        validity = 5 * self.ping_period if m.sdown else 3 * self.info_period
        candidates = [
            s for s in self.slaves.values()
            if not s.sdown and not s.odown and s.connected
            and now - s.last_avail <= 5 * self.ping_period
            and s.priority != 0
            and s.info_refresh is not None and now - s.info_refresh <= validity
            and s.link_down_time <= max_master_down
        ]
        if not candidates:
            return None
        return min(candidates, key=lambda s: (s.priority, -s.offset, s.run_id or "\uffff"))

    def _reconf_next_slave(self) -> None:
        now = self.env.now
        in_progress = sum(1 for s in self.slaves.values() if s.reconf_sent or s.reconf_inprog)
        for s in self.slaves.values():
            if in_progress >= self.parallel_syncs:
                break
            if s.promoted or s.reconf_done:
                continue
            if s.reconf_sent and now - s.reconf_sent_time > SLAVE_RECONF_TIMEOUT:
                self._event("-slave-reconf-sent-timeout", s)
                s.reconf_sent = False
                s.reconf_done = True
            if s.reconf_sent or s.reconf_inprog or not s.connected:
                continue
            self._slaveof(s, self.promoted)
            s.reconf_sent = True
            s.reconf_sent_time = now
            self._event("+slave-reconf-sent", s)
            in_progress += 1
        self._detect_end()

    def _detect_end(self) -> None:
        now = self.env.now
        promoted = self.slaves.get(self.promoted) if self.promoted else None
        if promoted is None or promoted.sdown:
            return
        pending = [s for s in self.slaves.values()
                   if not (s.promoted or s.reconf_done or s.sdown)]
        timeout = now - self.failover_state_change_time > self.failover_timeout
        if timeout:
            self._event("+failover-end-for-timeout")
        if not pending or timeout:
            self._set_state(UPDATE_CONFIG, "+failover-end")
        if timeout:
            for s in pending:
                if not s.reconf_sent:
                    self._slaveof(s, self.promoted)
                    s.reconf_sent = True

    def _switch_to_promoted(self) -> None:
        old, new = self.master_name, self.promoted
        self._event("+switch-master", **{"from": old, "to": new})
        self._reset_master(new, announce=True)
        self.group.notify("switch-master", {"sentinel": self.member, "from": old, "to": new})

    # ------------------------------------------------------------------ idle

    def _settled(self) -> bool:
        """Nothing left that time alone could change: safe to sleep until woken."""
        if self.in_failover or self.master.sdown or self.master.odown:
            return False
        for link in (self.master, *self.slaves.values(), *self.peers.values()):
            if not self._quiet(link):
                return False
        group = self.group
        for s in group.sentinels:
            if s is self or not s.alive or not self._hears(s):
                continue
            if s.run_id not in self.peers or self.run_id not in s.peers:
                return False
            if (s.master_name, s.config_epoch, s.current_epoch) != (
                    self.master_name, self.config_epoch, self.current_epoch):
                return False
        return True

    def _hears(self, other: Sentinel) -> bool:
        reach = self.group.reachable
        if reach(self.member, other.member):
            return True
        return any(srv.up and reach(self.member, n) and reach(other.member, n)
                   for n, srv in self.group.servers.items())

    def _quiet(self, link: Link) -> bool:
        if not self._responds(link):
            return link.sdown and not link.connected
        if link.sdown or not link.connected or link.act_ping is not None:
            return False
        if link.kind == "sentinel":
            return True
        server = self.group.servers[link.name]
        if link.info_refresh is None or link.run_id != server.run_id or link.role != server.role:
            return False
        if link.kind == "master":
            return server.role == "master"
        return (server.replica_of == self.master_name == link.slave_master
                and server.following is not None and link.link_up)

    def _resume(self) -> None:
        """Back from sleep: periodic phases as if the timer had run all along."""
        now = self.env.now
        gen = self.gen
        for link in (self.master, *self.slaves.values(), *self.peers.values()):
            if link.sdown:
                continue
            t = now - float(gen.uniform(0, self.ping_period))
            link.last_ping = link.last_pong = link.last_avail = t
            link.act_ping = None
            if link.kind != "sentinel":
                link.info_refresh = now - float(gen.uniform(0, self.info_period))
            link.last_pub = now - float(gen.uniform(0, self.hello_period))
