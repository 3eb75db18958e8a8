"""The stand-in's server: HTTP/1.1 (and a minimal gRPC answer) on one port.

Per request: wait for one of `concurrency` slots, spend the sampled service
time, then do the route's steps in order (calls to other services, store
operations, publishes, external waits), and answer 200, or fail as the model
says (`error_rate`, `error_kind`). The route comes from the `x-twin-route`
header (set on calls between stand-ins) or the path's prefix.

A worker pod (mode worker) serves only /healthz here and consumes its queue
(`amqp.py`), running per task its service time and the route's steps that
the model places in it. PostgreSQL steps go through the pod's pool
(`postgres.py`). /healthz reports the counters the tests and probes read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import sys
import time
from typing import Any

from standin.amqp import Broker
from standin.postgres import Postgres

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
Z99 = 2.3263478740408408


def sample(dist: dict[str, Any] | None, rng: random.Random) -> float:
    """Seconds from a model Distribution (as its JSON dump)."""
    if not dist:
        return 0.0
    kind = dist["dist"]
    if kind == "constant":
        return float(dist["value"])
    if kind == "exponential":
        return rng.expovariate(1.0 / dist["mean"]) if dist["mean"] > 0 else 0.0
    if kind == "uniform":
        return rng.uniform(dist["low"], dist["high"])
    if kind == "empirical":
        return float(rng.choice(dist["samples"]))
    if dist.get("median") is not None and dist.get("p99") is not None:
        mu, sigma = math.log(dist["median"]), math.log(dist["p99"] / dist["median"]) / Z99
    else:
        mean, cv = dist["mean"], dist.get("cv") or 1.0
        sigma = math.sqrt(math.log(1 + cv * cv))
        mu = math.log(mean) - sigma * sigma / 2
    return rng.lognormvariate(mu, sigma)


class StepFailed(Exception):
    pass


class StandIn:
    def __init__(self, config: dict[str, Any], seed: int | None = None):
        self.config = config
        pod = os.environ.get("POD_NAME", config["name"])
        self.pod = pod
        self.rng = random.Random(seed if seed is not None else f"{pod}/{time.time_ns()}")
        self.slots = asyncio.Semaphore(config.get("concurrency", 8))
        self.served = 0
        self.failed = 0
        self._redis: dict[str, Any] = {}
        self._pg: dict[str, Postgres] = {}
        self._mq: dict[str, Broker] = {}
        self._consumer: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ routes
    def route_for(self, path: str, header: str | None) -> tuple[str | None, list[dict[str, Any]]]:
        routes = self.config.get("routes", {})
        if header and header in routes:
            return header, routes[header]["steps"]
        for name, route in routes.items():
            if route.get("match") and path.startswith(route["match"]):
                return name, route["steps"]
        if len(routes) == 1:
            name = next(iter(routes))
            return name, routes[name]["steps"]
        return None, []

    async def serve_request(self, path: str, route_header: str | None) -> tuple[int, dict[str, Any]]:
        cfg = self.config
        async with self.slots:
            await asyncio.sleep(sample(cfg.get("service_time"), self.rng))
        route, steps = self.route_for(path, route_header)
        try:
            await self.run_steps(steps, route)
        except StepFailed as e:
            self.failed += 1
            return 502, {"error": str(e), "service": cfg["name"], "route": route}
        if self.rng.random() < cfg.get("error_rate", 0.0):
            self.failed += 1
            if cfg.get("error_kind") == "timeout":
                await asyncio.sleep(3600)
            if cfg.get("error_kind") == "reset":
                raise ConnectionResetError("stand-in reset (error_kind reset)")
            return 500, {"error": "injected", "service": cfg["name"], "version": cfg.get("version")}
        self.served += 1
        return 200, {"service": cfg["name"], "version": cfg.get("version"),
                     "pod": os.environ.get("POD_NAME"), "route": route}

    async def run_steps(self, steps: list[dict[str, Any]], route: str | None) -> None:
        for step in steps:
            try:
                await self.run_step(step, route)
            except (TimeoutError, StepFailed) as e:
                if step.get("on_failure", "fail") == "fail":
                    raise StepFailed(str(e) or f"step timed out after {step.get('timeout')} s") from None

    async def run_step(self, step: dict[str, Any], route: str | None) -> None:
        timeout = step.get("timeout")
        is_store = "store" in step and "publish" not in step
        if step.get("service_time") and not is_store:
            await asyncio.sleep(sample(step["service_time"], self.rng))
        if "branch" in step:
            u, acc = self.rng.random(), 0.0
            for branch in step["branch"]:
                acc += branch["probability"]
                if u < acc:
                    await self.run_steps(branch["steps"], route)
                    break
        elif "call" in step:
            await asyncio.wait_for(self.call(step["call"], step.get("route") or route or ""), timeout)
        elif "publish" in step:
            await asyncio.wait_for(self.touch_store(step.get("store"), "publish", route=route,
                                                    queue=step["publish"]), timeout or 10.0)
        elif "store" in step:
            hold = sample(step.get("service_time"), self.rng)
            await asyncio.wait_for(self.touch_store(step["store"], step.get("op") or "read", route=route,
                                                    hold=hold, timeout=timeout), timeout)
        elif "external" in step:
            ext = self.config.get("externals", {}).get(step["external"], {})
            await asyncio.sleep(min(sample(ext.get("latency"), self.rng), ext.get("timeout") or 1e9))
            if self.rng.random() < ext.get("error_rate", 0.0):
                raise StepFailed(f"external {step['external']} failed")
        elif "emit" in step:
            redis_name = next((n for n, s in self.config.get("stores", {}).items() if s["kind"] == "redis"), None)
            for _ in range(step.get("count", 1)):
                await self.touch_store(redis_name, "xadd", key=f"events:{step['emit']}")
        if step.get("error_rate") and self.rng.random() < step["error_rate"]:
            raise StepFailed("step failed (error_rate)")

    async def call(self, target: str, route: str) -> None:
        host, _, port = target.rpartition(":")
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError as e:
            raise StepFailed(f"call {target}: {e}") from None
        try:
            writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nx-twin-route: {route}\r\n"
                         "Connection: close\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()
        finally:
            writer.close()
        parts = status_line.split()
        if len(parts) < 2 or not parts[1].startswith(b"2"):
            raise StepFailed(f"call {target}: {status_line.decode(errors='replace').strip() or 'no answer'}")

    # ------------------------------------------------------------ stores
    async def touch_store(self, name: str | None, op: str, key: str | None = None, route: str | None = None,
                          hold: float = 0.0, queue: str | None = None, timeout: float | None = None) -> None:
        store = self.config.get("stores", {}).get(name or "")
        if store is None:
            return
        try:
            if store["kind"] == "redis":
                if hold > 0:
                    await asyncio.sleep(hold)
                await self._redis_op(name, store, op, key)
            elif store["kind"] == "postgres":
                await self.postgres(name).op(op, route, hold, timeout)
            elif store["kind"] == "rabbitmq":
                await self.broker(name).publish(queue or "", route)
        except StepFailed:
            raise
        except Exception as e:  # connection refused, too many clients, pool timeout, nack, Redis errors
            detail = str(e).strip().splitlines()[-1] if str(e).strip() else ""
            raise StepFailed(f"{name} {op}: {type(e).__name__}: {detail}") from None

    def postgres(self, name: str) -> Postgres:
        if name not in self._pg:
            self._pg[name] = Postgres({"name": name, **self.config["stores"][name]}, self.pod, self.rng)
        return self._pg[name]

    def broker(self, name: str) -> Broker:
        if name not in self._mq:
            self._mq[name] = Broker({"name": name, **self.config["stores"][name]}, self.pod)
        return self._mq[name]

    async def start(self) -> None:
        """What a pod does when it starts: open its PostgreSQL pools; a worker starts consuming."""
        for name, store in self.config.get("stores", {}).items():
            if store["kind"] == "postgres":
                await self.postgres(name).open()
        queue = self.config.get("queue")
        if self.config.get("mode") == "worker" and queue:
            broker_name = next((n for n, s in self.config.get("stores", {}).items()
                                if s["kind"] == "rabbitmq" and queue in s.get("queues", {})), None)
            if broker_name is None:
                broker_name = next((n for n, s in self.config.get("stores", {}).items()
                                    if s["kind"] == "rabbitmq"), None)
            if broker_name is not None:
                cfg = self.config
                self._consumer = asyncio.create_task(self.broker(broker_name).consume(
                    queue, int(cfg.get("prefetch", 4)), int(cfg.get("concurrency", 4)),
                    bool(cfg.get("acks_late", False)), self.run_task))

    async def run_task(self, message: dict[str, Any]) -> None:
        """One task on a worker: its own service time, then the route's steps that run here."""
        route = message.get("route")
        steps = self.config.get("routes", {}).get(route or "", {}).get("steps", [])
        await asyncio.sleep(sample(self.config.get("service_time"), self.rng))
        try:
            await self.run_steps(steps, route)
        except StepFailed:
            self.failed += 1
            raise
        self.served += 1

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "served": self.served, "failed": self.failed, "pod": self.pod}
        out["stores"] = {n: p.stats() for n, p in self._pg.items()}
        out["stores"].update({n: b.stats() for n, b in self._mq.items()})
        return out

    def _redis_client(self, name: str, store: dict[str, Any]) -> Any:
        if name not in self._redis:
            import redis.asyncio as aioredis

            if store.get("via") == "sentinel":
                from redis.asyncio.sentinel import Sentinel

                sentinel = Sentinel([tuple(s) for s in store["sentinels"]], socket_timeout=2)
                self._redis[name] = sentinel.master_for(store["master_name"], socket_timeout=2)
            else:
                self._redis[name] = aioredis.Redis(host=store["host"], port=store["port"], socket_timeout=2)
        return self._redis[name]

    async def _redis_op(self, name: str, store: dict[str, Any], op: str, key: str | None) -> None:
        r = self._redis_client(name, store)
        key = key or f"twin:{self.config['name']}:{self.rng.randrange(1000)}"
        if op == "read":
            await r.get(key)
        elif op == "xadd":
            await r.xadd(key if key.startswith("events:") else f"stream:{self.config['name']}",
                         {"from": self.config["name"]}, maxlen=1000)
        elif op == "publish":
            await r.publish(f"channel:{self.config['name']}", "event")
        elif op == "subscribe":
            await r.ping()
        else:
            await r.set(key, str(time.time()), ex=600)

    # -------------------------------------------------------------- wire
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if head.startswith(H2_PREFACE[:len(head)]) or head.startswith(b"PRI * HTTP/2.0"):
                await self.handle_grpc(head, reader, writer)
                return
            while head:
                keep = await self.handle_http(head, reader, writer)
                if not keep:
                    break
                head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def handle_http(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        length = int(headers.get("content-length", "0") or 0)
        if length:
            await reader.readexactly(length)
        if path in ("/healthz", "/readyz"):
            status, body = 200, self.health()
        else:
            status, body = await self.serve_request(path, headers.get("x-twin-route"))
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        data = json.dumps(body).encode()
        reason = {200: "OK", 500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "OK")
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\nConnection: {'keep-alive' if keep else 'close'}"
                     "\r\n\r\n".encode() + data)
        await writer.drain()
        return keep

    async def handle_grpc(self, head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Minimal gRPC: answer every call (a HEADERS frame ending a stream) with
        an empty message and grpc-status 0, or 14 (UNAVAILABLE) on a failure."""
        rest = head[len(H2_PREFACE):] if head.startswith(H2_PREFACE) else b""
        if not head.startswith(H2_PREFACE):
            rest = (head + await reader.readexactly(len(H2_PREFACE) - len(head)))[len(H2_PREFACE):]
        writer.write(_frame(4, 0, 0, b""))  # server SETTINGS
        buffer = rest
        while True:
            while len(buffer) < 9:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk
            length = int.from_bytes(buffer[:3], "big")
            while len(buffer) < 9 + length:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk
            ftype, flags = buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            buffer = buffer[9 + length:]
            if ftype == 4 and not flags & 1:
                writer.write(_frame(4, 1, 0, b""))  # SETTINGS ack
            elif ftype == 6 and not flags & 1:
                writer.write(_frame(6, 1, 0, b"\0" * 8))  # PING ack
            elif ftype in (0, 1) and flags & 1 and stream:  # END_STREAM: the request is complete
                status, _ = await self.serve_request("/", None)
                grpc_status = b"0" if status == 200 else b"14"
                writer.write(_frame(1, 4, stream, b"\x88" + _lit(b"content-type", b"application/grpc")))
                writer.write(_frame(0, 0, stream, b"\x00\x00\x00\x00\x00"))
                writer.write(_frame(1, 5, stream, _lit(b"grpc-status", grpc_status)))
            await writer.drain()


def _frame(ftype: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def _lit(name: bytes, value: bytes) -> bytes:
    """HPACK literal header field without indexing, new name, no Huffman."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


async def serve(config: dict[str, Any], host: str, port: int, ready: Any = None) -> None:
    standin = StandIn(config)
    await standin.start()
    server = await asyncio.start_server(standin.handle, host, port, family=socket.AF_INET)
    bound = server.sockets[0].getsockname()
    print(f"stand-in {config['name']} {config.get('version', '')} ({config.get('mode', 'service')}, "
          f"{config.get('protocol', 'http')}) listening on {bound[0]}:{bound[1]}", flush=True)
    if ready is not None:
        ready(bound[1])
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="standin", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=os.environ.get("STANDIN_CONFIG", "/etc/standin/config.json"))
    parser.add_argument("--host", default=os.environ.get("STANDIN_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=None, help="Override the config's port (0: any).")
    args = parser.parse_args(argv)
    with open(args.config) as f:
        config = json.load(f)
    port = args.port if args.port is not None else int(config.get("port", 8000))
    try:
        asyncio.run(serve(config, args.host, port))
    except KeyboardInterrupt:
        sys.exit(0)
