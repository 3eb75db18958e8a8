from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))

from fakeapi import FakeAPI, Server  # noqa: E402


@pytest.fixture
def fake(tmp_path: Path):
    with Server(FakeAPI()) as server:
        server.kubeconfig(tmp_path / "kubeconfig")
        yield server


@pytest.fixture
def api(fake, tmp_path: Path):
    from twin.replica.apply import api_client

    return api_client(tmp_path / "kubeconfig", "fake")


# ---------------------------------------------------------------- real servers
# PostgreSQL and RabbitMQ from Debian's packages on 127.0.0.1 high ports, started
# once per session in a throwaway directory and stopped at its end.


PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_MAX_CONNECTIONS = 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """root may not run PostgreSQL: run its tools as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PostgresServer:
    port: int
    max_connections: int
    probe: Any = None
    """One connection held for the whole session, so probes still get in when clients take every slot."""

    def sql(self, query: str) -> list[tuple]:
        import psycopg

        if self.probe is None:
            self.probe = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                         autocommit=True, application_name="pytest")
        cur = self.probe.execute(query)
        return cur.fetchall() if cur.description else []

    def backends(self, prefix: str) -> int:
        """Client backends whose application_name (the stand-in's pod) starts with prefix."""
        return self.sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                        f"AND application_name LIKE '{prefix}%'")[0][0]


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL 15 cluster (initdb + pg_ctl) on a free 127.0.0.1 port, max_connections 20."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL server not installed ({PG_BIN}/initdb missing: apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root and no runuser to start PostgreSQL as the postgres user")
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install -r requirements.lock)")
    base = Path(tempfile.mkdtemp(prefix="twin-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, port = base / "data", free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                 "--no-sync"]), check=True, stdout=subprocess.DEVNULL)
    opts = (f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base} "
            f"-c max_connections={PG_MAX_CONNECTIONS} -c fsync=off")
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(base / "log"),
                                 "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
    server = PostgresServer(port, PG_MAX_CONNECTIONS)
    server.sql("SELECT 1")
    try:
        yield server
    finally:
        server.probe.close()
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class RabbitMQServer:
    port: int
    node: str
    env: dict[str, str]

    def ctl(self, *args: str) -> str:
        out = subprocess.run([str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args], env=self.env,
                             capture_output=True, text=True, timeout=60)
        if out.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def rows(self, *args: str) -> list[list[str]]:
        text = self.ctl(*args, "--quiet", "--no-table-headers")
        return [line.split("\t") for line in text.splitlines() if line.strip()]

    def queue(self, name: str) -> tuple[int, int]:
        """(messages_ready, messages_unacknowledged) of a queue; (0, 0) when it does not exist."""
        for row in self.rows("list_queues", "name", "messages_ready", "messages_unacknowledged"):
            if row[0] == name:
                return int(row[1]), int(row[2])
        return 0, 0

    def channels(self) -> list[tuple[int, int, int]]:
        """(consumer_count, prefetch_count, messages_unacknowledged) per open channel."""
        return [(int(r[0]), int(r[1]), int(r[2])) for r in
                self.rows("list_channels", "consumer_count", "prefetch_count", "messages_unacknowledged")]


@pytest.fixture(scope="session")
def rabbitmq_server():
    """A RabbitMQ node (no plugins) on free 127.0.0.1 ports with its own epmd, node name and directory."""
    if not (RABBIT_BIN / "rabbitmq-server").exists():
        pytest.skip(f"RabbitMQ not installed ({RABBIT_BIN}/rabbitmq-server missing: apt-get install rabbitmq-server)")
    pytest.importorskip("aio_pika", reason="aio-pika not installed (pip install -r requirements.lock)")
    epmds = glob.glob("/usr/lib/erlang/erts-*/bin/epmd")
    base = Path(tempfile.mkdtemp(prefix="twin-rabbitmq-"))
    port, dist, epmd_port = free_port(), free_port(), free_port()
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{port}\nloopback_users = none\n")
    node = f"twin-test-{os.getpid()}@localhost"
    env = {
        **os.environ, "HOME": str(base), "RABBITMQ_NODENAME": node, "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_DIST_PORT": str(dist),
        "ERL_EPMD_PORT": str(epmd_port), "ERL_EPMD_ADDRESS": "127.0.0.1",
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"), "RABBITMQ_PID_FILE": str(base / "pid"),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    proc = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    server = RabbitMQServer(port, node, env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.ctl("await_startup", "--timeout", "10")
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"RabbitMQ did not start (logs in {base / 'log'})")
                time.sleep(0.5)
        yield server
    finally:
        try:
            server.ctl("stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, 9)
        proc.wait(timeout=30)
        if epmds:
            subprocess.run([epmds[0], "-port", str(epmd_port), "-kill"], env=env, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
