"""A Redis Sentinel failover drill on real processes, to hold the simulator against.

Three redis-server processes (one master, two replicas, no persistence) and
three redis-sentinel processes on 127.0.0.1 high ports, from the Debian
packages redis-server and redis-sentinel. The master is killed with SIGKILL;
every sentinel's Pub/Sub events (the same names as the simulator's) are
recorded as (time, source, event, detail), time in seconds from the kill,
server and sentinel addresses mapped to the simulator's names (`redis-0`,
`sentinel/1`). Optionally the old master is restarted to see it demoted.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.result.backend import CannotRun

PACKAGES = ("redis-server", "redis-sentinel")


@dataclass
class DrillResult:
    events: list[tuple[float, str, str, dict]] = field(default_factory=list)
    restarted_at: float | None = None  # seconds from the kill, when the old master came back

    def named(self, name: str, source: str | None = None) -> list[tuple[float, str, str, dict]]:
        return [e for e in self.events if e[2] == name and (source is None or e[1] == source)]


def missing() -> list[str]:
    """The binaries a drill needs that are not installed."""
    return [b for b in ("redis-server", "redis-sentinel") if shutil.which(b) is None]


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class _Drill:
    def __init__(self, workdir: Path, down_after_ms: int, failover_timeout_ms: int, quorum: int,
                 master_name: str = "mymaster"):
        self.dir = workdir
        self.master_name = master_name  # the topology's sentinel.master_name
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.quorum = quorum
        ports = _free_ports(6)
        self.redis_ports, self.sentinel_ports = ports[:3], ports[3:]
        self.procs: dict[str, subprocess.Popen] = {}
        self.names = {f"127.0.0.1:{p}": f"redis-{i}" for i, p in enumerate(self.redis_ports)}
        self.names.update({f"127.0.0.1:{p}": f"sentinel/{i}" for i, p in enumerate(self.sentinel_ports)})
        self.run_ids: dict[str, str] = {}
        self.raw: list[tuple[float, str, str, str]] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    # ----------------------------------------------------------- processes

    def _start_redis(self, i: int) -> None:
        conf = self.dir / f"redis-{i}.conf"
        lines = [f"port {self.redis_ports[i]}", "bind 127.0.0.1", 'save ""', "appendonly no",
                 f"dir {self.dir}", f"dbfilename dump-{i}.rdb", f"logfile {self.dir}/redis-{i}.log"]
        if i > 0:
            lines.append(f"replicaof 127.0.0.1 {self.redis_ports[0]}")
        if not conf.exists():
            conf.write_text("\n".join(lines) + "\n")
        self.procs[f"redis-{i}"] = subprocess.Popen(
            ["redis-server", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _start_sentinel(self, i: int) -> None:
        conf = self.dir / f"sentinel-{i}.conf"
        conf.write_text("\n".join([
            f"port {self.sentinel_ports[i]}", "bind 127.0.0.1", f"dir {self.dir}",
            f"logfile {self.dir}/sentinel-{i}.log",
            f"sentinel monitor {self.master_name} 127.0.0.1 {self.redis_ports[0]} {self.quorum}",
            f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}",
            f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {self.master_name} 1",
        ]) + "\n")
        self.procs[f"sentinel/{i}"] = subprocess.Popen(
            ["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _client(self, port: int) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, decode_responses=True)

    def _wait(self, what: str, check, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - servers still starting
                pass
            time.sleep(0.05)
        raise TimeoutError(f"redis drill: {what} not within {timeout:g}s (logs in {self.dir})")

    def start(self) -> None:
        for i in range(3):
            self._start_redis(i)
        for p in self.redis_ports:
            self._wait(f"redis on {p}", lambda p=p: self._client(p).ping(), 10)
        for p in self.redis_ports[1:]:
            self._wait("replica in sync",
                       lambda p=p: self._client(p).info("replication")["master_link_status"] == "up", 15)
        for i in range(3):
            self._start_sentinel(i)
        for i, p in enumerate(self.sentinel_ports):
            self._wait(f"sentinel on {p}", lambda p=p: self._client(p).ping(), 10)
            self.run_ids[self._client(p).execute_command("SENTINEL", "MYID")] = f"sentinel/{i}"

        def ready() -> bool:
            for p in self.sentinel_ports:
                c = self._client(p)
                if len(c.execute_command("SENTINEL", "SENTINELS", self.master_name)) != 2:
                    return False
                if len(c.execute_command("SENTINEL", "REPLICAS", self.master_name)) != 2:
                    return False
            return True

        self._wait("sentinels that know each other and the replicas", ready, 30)
        for i, p in enumerate(self.sentinel_ports):
            t = threading.Thread(target=self._listen, args=(i, p), daemon=True)
            t.start()
            self.threads.append(t)
        time.sleep(0.2)  # subscriptions in place

    def _listen(self, i: int, port: int) -> None:
        pubsub = self._client(port).pubsub()
        pubsub.psubscribe("*")
        while not self.stop.is_set():
            msg = pubsub.get_message(timeout=0.05)
            if msg and msg["type"] == "pmessage":
                self.raw.append((time.monotonic(), f"sentinel/{i}", msg["channel"], msg["data"]))
        pubsub.close()

    def kill(self, name: str) -> None:
        self.procs[name].kill()
        self.procs[name].wait()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()

    # -------------------------------------------------------------- events

    def event(self, at: float, source: str, channel: str, data: str) -> tuple[float, str, str, dict]:
        """Sentinel's "%@" format: <type> <name> <ip> <port> [@ <master> <ip> <port>] [rest]."""
        tokens = data.split()
        detail: dict[str, Any] = {"raw": data}
        if tokens and tokens[0] in ("master", "slave", "sentinel") and len(tokens) >= 4:
            detail["type"] = tokens[0]
            detail["name"] = self.names.get(f"{tokens[2]}:{tokens[3]}", tokens[1])
            rest = tokens[4:]
            if rest[:1] == ["@"] and len(rest) >= 4:
                detail["master"] = rest[1]
                detail["server"] = self.names.get(f"{rest[2]}:{rest[3]}", rest[2])
                rest = rest[4:]
            elif tokens[0] == "master":
                detail["master"] = tokens[1]
                detail["server"] = detail["name"]
            if rest[:1] == ["#quorum"]:
                detail["quorum"] = rest[1]
            if rest[:4] == ["new", "reported", "role", "is"] and len(rest) == 5:
                detail["role"] = rest[4]
        elif channel == "+switch-master" and len(tokens) == 5:
            detail.update({"master": tokens[0], "from": self.names.get(f"{tokens[1]}:{tokens[2]}"),
                           "to": self.names.get(f"{tokens[3]}:{tokens[4]}")})
        elif channel == "+new-epoch" and tokens:
            detail["epoch"] = int(tokens[0])
        elif channel == "+vote-for-leader" and len(tokens) == 2:
            detail.update({"leader": self.run_ids.get(tokens[0], tokens[0]), "run_id": tokens[0],
                           "epoch": int(tokens[1])})
        return (at, source, channel, detail)


def run_drill(down_after_ms: int = 1000, failover_timeout_ms: int = 10000, quorum: int = 2,
              restart_old_master_after: float | None = None, watch: float = 8.0,
              workdir: Path | None = None) -> DrillResult:
    """Kill the master, record every sentinel's events for `watch` seconds after
    +switch-master (and after restarting the old master, if asked)."""
    absent = missing()
    if absent:
        raise CannotRun(f"missing {', '.join(absent)}", f"apt-get install -y {' '.join(PACKAGES)}")
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="redis-drill-")
        workdir = Path(tmp.name)
    drill = _Drill(workdir, down_after_ms, failover_timeout_ms, quorum)
    result = DrillResult()
    try:
        drill.start()
        drill.raw.clear()
        killed = time.monotonic()
        drill.kill("redis-0")
        deadline = killed + down_after_ms / 1000 + 2 * failover_timeout_ms / 1000 + 30
        while time.monotonic() < deadline:
            if sum(1 for r in list(drill.raw) if r[2] == "+switch-master") >= 3:
                break
            time.sleep(0.05)
        if restart_old_master_after is not None:
            time.sleep(restart_old_master_after)
            result.restarted_at = time.monotonic() - killed
            drill._start_redis(0)
        time.sleep(watch)
        result.events = [drill.event(t - killed, s, c, d) for t, s, c, d in sorted(drill.raw)]
        return result
    finally:
        drill.close()
        if tmp is not None:
            tmp.cleanup()
