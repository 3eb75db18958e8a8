"""The stand-in service as a plain process on loopback: latency, errors, calls
between stand-ins, gRPC answers, Redis (direct and through Sentinel), a
refused PostgreSQL, and the configs the renderer writes (PostgreSQL and
RabbitMQ against real servers: test_standin_stores.py)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _config(name: str, **kw: Any) -> dict[str, Any]:
    cfg = {"name": name, "version": "v1", "mode": "service", "protocol": "http", "port": 0,
           "concurrency": 8, "service_time": {"dist": "constant", "value": 0.0}, "error_rate": 0.0,
           "error_kind": "5xx", "routes": {}, "stores": {}, "externals": {}}
    cfg.update(kw)
    return cfg


class StandInProcess:
    def __init__(self, tmp: Path, cfg: dict[str, Any]):
        path = tmp / f"{cfg['name']}.json"
        path.write_text(json.dumps(cfg))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "standin", "--config", str(path), "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line, self.proc.stderr.read()
        self.port = int(line.rsplit(":", 1)[1])

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def get(self, path: str = "/", headers: dict[str, str] | None = None) -> tuple[int, dict, float]:
        req = urllib.request.Request(f"http://{self.addr}{path}", headers=headers or {})
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read()), time.perf_counter() - t0
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), time.perf_counter() - t0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=5)


@pytest.fixture
def start(tmp_path: Path):
    started: list[StandInProcess] = []

    def _start(cfg: dict[str, Any]) -> StandInProcess:
        s = StandInProcess(tmp_path, cfg)
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


def test_service_time_and_calls_between_standins(start) -> None:
    back = start(_config("back", service_time={"dist": "constant", "value": 0.05}))
    front = start(_config("front", service_time={"dist": "constant", "value": 0.05}, routes={
        "r": {"match": "/api", "steps": [{"call": back.addr, "protocol": "http", "route": "r",
                                          "on_failure": "fail"}]}}))
    assert front.get("/healthz")[0] == 200
    status, body, elapsed = front.get("/api/x")
    assert (status, body["service"], body["route"]) == (200, "front", "r")
    assert 0.1 <= elapsed < 1.0          # its own 50 ms plus the callee's 50 ms
    assert back.get("/healthz")[1]["served"] == 1


def test_a_failing_callee_fails_the_route_unless_it_degrades(start) -> None:
    back = start(_config("back", error_rate=1.0))
    strict = start(_config("strict", routes={"r": {"match": "/", "steps": [
        {"call": back.addr, "route": "r", "on_failure": "fail"}]}}))
    lenient = start(_config("lenient", routes={"r": {"match": "/", "steps": [
        {"call": back.addr, "route": "r", "on_failure": "degrade"}]}}))
    status, body, _ = strict.get("/")
    assert status == 502 and "HTTP/1.1 500" in body["error"]
    assert lenient.get("/")[0] == 200


def test_error_rate_is_what_the_model_says(start) -> None:
    s = start(_config("flaky", error_rate=0.3))
    codes = [s.get("/")[0] for _ in range(300)]
    share = codes.count(500) / len(codes)
    assert set(codes) == {200, 500}
    assert 0.2 < share < 0.4             # binomial sd 0.026 at n=300


def test_grpc_port_answers_a_call(start) -> None:
    s = start(_config("character-api", protocol="grpc"))
    with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
        headers = b"\x83\x86\x00\x05:path\x0a/eco2.Svc/Get"  # :method POST, :scheme http, :path
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                     + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"                        # SETTINGS
                     + len(headers).to_bytes(3, "big") + b"\x01\x05\x00\x00\x00\x01" + headers)
        data = b""
        deadline = time.monotonic() + 5
        while b"grpc-status" not in data and time.monotonic() < deadline:
            data += sock.recv(65536)
    frames = []
    while len(data) >= 9:
        n = int.from_bytes(data[:3], "big")
        frames.append((data[3], int.from_bytes(data[5:9], "big"), data[9:9 + n]))
        data = data[9 + n:]
    assert frames[0][0] == 4                                  # server SETTINGS first
    on_stream = [f for f in frames if f[1] == 1]
    assert [f[0] for f in on_stream] == [1, 0, 1]             # HEADERS, DATA, trailers
    assert on_stream[0][2].startswith(b"\x88")                # :status 200
    assert b"grpc-status\x010" in on_stream[2][2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server not installed")
def test_redis_directly_and_through_sentinel(start, tmp_path: Path) -> None:
    import redis

    port, sport = _free_port(), _free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {sport}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {port} 1\n")
    sentinel = subprocess.Popen(["redis-sentinel", str(conf)], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(50):
            try:
                client.ping()
                redis.Redis(port=sport).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        direct = start(_config("direct", stores={"redis": {"kind": "redis", "via": "service",
                                                           "host": "127.0.0.1", "port": port}},
                               routes={"r": {"match": "/", "steps": [{"store": "redis", "op": "write"}]}}))
        via = start(_config("via", stores={"redis": {"kind": "redis", "via": "sentinel", "master_name": "mymaster",
                                                     "sentinels": [["127.0.0.1", sport]]}},
                            routes={"r": {"match": "/", "steps": [
                                {"store": "redis", "op": "xadd"}, {"emit": "sse-gateway", "count": 3}]}}))
        assert direct.get("/")[0] == 200
        assert via.get("/")[0] == 200
        assert client.keys("twin:direct:*")
        assert client.xlen("stream:via") == 1 and client.xlen("events:sse-gateway") == 3
    finally:
        for p in (sentinel, server):
            p.terminate()
            p.wait(timeout=5)


def test_a_refused_postgres_fails_the_route_within_its_timeout(start) -> None:
    s = start(_config("api", stores={"gone": {"kind": "postgres", "host": "127.0.0.1", "port": _free_port(),
                                              "pool": 2}},
                      routes={"down": {"match": "/down", "steps": [
                          {"store": "gone", "op": "read", "timeout": 1.0, "on_failure": "fail"}]}}))
    status, body, elapsed = s.get("/down")
    assert status == 502 and "gone read" in body["error"] and "refused" in body["error"]
    assert 0.8 < elapsed < 3.0
    assert s.get("/healthz")[1]["stores"]["gone"]["connect_errors"] >= 1


def test_every_rendered_standin_config_is_understood() -> None:
    import random

    from standin.server import StandIn, sample
    from twin.loading.files import load_topology
    from twin.render.manifests import render

    known = {"call", "store", "publish", "external", "emit", "stream", "branch"}
    rng = random.Random(1)
    for env in ("dev", "prod"):
        rendered = render(load_topology(ROOT / f"topologies/eco2-{env}.yaml"))
        configs = [json.loads(o["data"]["config.json"]) for o in rendered.objects
                   if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-standin")]
        assert len(configs) >= 11
        for cfg in configs:
            assert sample(cfg["service_time"], rng) >= 0
            for route in cfg["routes"].values():
                for step in route["steps"]:
                    assert known & set(step), step
            assert StandIn(cfg, seed=1).route_for("/", None) is not None
    chat = next(c for c in configs if c["name"] == "chat-api")
    assert chat["stores"]["redis"]["via"] == "sentinel"
    assert [s.get("call") or s.get("publish") or s.get("store") for s in chat["routes"]["chat"]["steps"]] == [
        "postgres", "redis", "chat-tasks"]
    worker = next(c for c in configs if c["name"] == "chat-worker")
    assert (worker["mode"], worker["queue"], worker["concurrency"]) == ("worker", "chat-tasks", 4)
    assert (worker["prefetch"], worker["acks_late"]) == (4, False)
    assert [s.get("external") or s.get("emit") or s.get("store") for s in worker["routes"]["chat"]["steps"]] == [
        "llm", "sse-gateway", "postgres"]
    assert worker["stores"]["postgres"]["pool"] == 5 and worker["stores"]["postgres"]["user"] == "postgres"
    assert set(worker["stores"]["rabbitmq"]["queues"]) == {"chat-tasks", "scan-tasks", "character-tasks"}
