"""The stand-in against real PostgreSQL and RabbitMQ servers on loopback.

API stand-ins publish a route's task; worker stand-ins consume with the
model's prefetch (basic.qos = prefetch x concurrency) and concurrency, ack
early or late, and run the route's worker steps (here a PostgreSQL write).
What the tests read comes from the servers themselves (rabbitmqctl,
pg_stat_activity), not from the stand-in's own account.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Pod:
    """A stand-in as a plain process, named like a pod (its PostgreSQL application_name)."""

    def __init__(self, tmp: Path, pod: str, cfg: dict[str, Any]):
        path = tmp / f"{pod}.json"
        path.write_text(json.dumps(cfg))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "standin", "--config", str(path), "--host", "127.0.0.1", "--port", "0"],
            cwd=ROOT, env={**os.environ, "POD_NAME": pod}, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line, line
        self.port = int(line.rsplit(":", 1)[1])

    def get(self, path: str = "/") -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as resp:
            return json.loads(resp.read())

    def kill(self) -> None:
        """SIGKILL: the worker vanishes mid-task, its TCP connections close."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)


@pytest.fixture
def pods(tmp_path: Path):
    started: list[Pod] = []

    def _start(pod: str, cfg: dict[str, Any]) -> Pod:
        p = Pod(tmp_path, pod, cfg)
        started.append(p)
        return p

    yield _start
    for p in started:
        p.stop()


def _config(name: str, mode: str = "service", **kw: Any) -> dict[str, Any]:
    cfg = {"name": name, "version": "v1", "mode": mode, "protocol": "http", "port": 0, "concurrency": 32,
           "service_time": {"dist": "constant", "value": 0.0}, "error_rate": 0.0, "error_kind": "5xx",
           "routes": {}, "stores": {}, "externals": {}}
    cfg.update(kw)
    return cfg


def _rabbit(server: Any, queue: str) -> dict[str, Any]:
    return {"kind": "rabbitmq", "host": "127.0.0.1", "port": server.port, "user": "guest", "password": "guest",
            "vhost": "/", "heartbeat": 60, "queues": {queue: {"durable": True}}}


def _pg(server: Any, pool: int) -> dict[str, Any]:
    return {"kind": "postgres", "host": "127.0.0.1", "port": server.port, "pool": pool,
            "database": "postgres", "user": "postgres"}


def _api(server: Any, queue: str) -> dict[str, Any]:
    return _config("job-api", stores={"rabbitmq": _rabbit(server, queue)}, routes={
        "job": {"match": "/job", "steps": [{"publish": queue, "store": "rabbitmq", "on_failure": "fail"}]}})


def _worker(server: Any, queue: str, concurrency: int, prefetch: int, acks_late: bool, task_time: float,
            steps: list[dict[str, Any]] | None = None, stores: dict[str, Any] | None = None) -> dict[str, Any]:
    return _config("job-worker", mode="worker", queue=queue, concurrency=concurrency, prefetch=prefetch,
                   acks_late=acks_late, service_time={"dist": "constant", "value": task_time},
                   stores={"rabbitmq": _rabbit(server, queue), **(stores or {})},
                   routes={"job": {"match": "/job", "steps": steps or []}})


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def test_api_publishes_and_a_worker_consumes_with_prefetch_and_concurrency(
        pods, rabbitmq_server, postgres_server) -> None:
    queue, tasks, concurrency, prefetch, task_time = "jobs-qos", 24, 2, 3, 0.2
    api = pods("job-api-0", _api(rabbitmq_server, queue))
    with ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(lambda _: api.get("/job"), range(tasks)))
    assert codes == [200] * tasks
    assert rabbitmq_server.queue(queue) == (tasks, 0)       # confirmed by the broker, nobody consuming yet

    worker = pods("job-worker-0", _worker(
        rabbitmq_server, queue, concurrency, prefetch, acks_late=True, task_time=task_time,
        steps=[{"store": "postgres", "op": "write", "on_failure": "fail"}],
        stores={"postgres": _pg(postgres_server, 2)}))
    t0 = time.monotonic()
    seen_unacked, seen_running, prefetch_counts = [], [], set()
    while (h := worker.health())["stores"].get("rabbitmq", {}).get("done", 0) < tasks:
        assert time.monotonic() - t0 < 20, h
        for consumers, prefetch_count, unacked in rabbitmq_server.channels():
            if consumers:
                prefetch_counts.add(prefetch_count)
                seen_unacked.append(unacked)
        seen_running.append(h["stores"].get("rabbitmq", {}).get("running", 0))
    elapsed = time.monotonic() - t0
    assert prefetch_counts == {prefetch * concurrency}     # basic.qos as Celery sets it
    assert max(seen_unacked) == prefetch * concurrency     # the broker keeps the channel full, never over
    assert max(seen_running) == concurrency
    assert elapsed >= tasks * task_time / concurrency * 0.9  # 2 at a time: 2.4 s, not 0.8 s at 6
    assert rabbitmq_server.queue(queue) == (0, 0)
    rows = postgres_server.sql("SELECT count(*) FROM twin_standin WHERE service = 'job-worker-0'")
    assert rows[0][0] == tasks                             # every task did its PostgreSQL write


@pytest.mark.parametrize("acks_late", [True, False], ids=["acks_late", "early_ack"])
def test_a_worker_killed_mid_task_hands_its_task_back_only_with_acks_late(
        pods, rabbitmq_server, acks_late: bool) -> None:
    queue = f"jobs-kill-{'late' if acks_late else 'early'}"
    api = pods("job-api-0", _api(rabbitmq_server, queue))
    assert [api.get("/job") for _ in range(3)] == [200] * 3
    # concurrency 1, prefetch 2 (basic.qos 2): one task running; with acks_late it counts against the
    # prefetch (one more delivered, one left in the queue); acked early it does not (two more delivered)
    worker = pods("job-worker-0", _worker(rabbitmq_server, queue, 1, 2, acks_late, task_time=60.0))
    _until(lambda: worker.health()["stores"].get("rabbitmq", {}).get("running") == 1, 10, "a running task")
    expected = (1, 2) if acks_late else (0, 2)            # (ready, unacknowledged)
    _until(lambda: rabbitmq_server.queue(queue) == expected, 10, f"the queue at {expected}")
    worker.kill()
    _until(lambda: rabbitmq_server.queue(queue)[1] == 0, 10, "the broker to notice the closed connection")
    ready = rabbitmq_server.queue(queue)[0]
    assert ready == (3 if acks_late else 2)               # early ack: the running task is lost

    again = pods("job-worker-1", _worker(rabbitmq_server, queue, 2, 2, acks_late, task_time=0.0))
    _until(lambda: again.health()["stores"].get("rabbitmq", {}).get("done") == ready, 10, "the rest done")
    stats = again.health()["stores"]["rabbitmq"]
    # both deliveries the dead worker held come back flagged redelivered; with an early ack those are
    # the two prefetched ones and the running task is gone for good (3 done against 2)
    assert (stats["done"], stats["redelivered"]) == ((3, 2) if acks_late else (2, 2))


def test_postgres_pool_size_is_respected_under_load(pods, postgres_server) -> None:
    pool, requests, hold = 3, 12, 0.3
    api = pods("pg-pool-api-0", _config("pg-pool-api", stores={"postgres": _pg(postgres_server, pool)}, routes={
        "r": {"match": "/", "steps": [{"store": "postgres", "op": "read", "on_failure": "fail",
                                       "service_time": {"dist": "constant", "value": hold}}]}}))
    _until(lambda: postgres_server.backends("pg-pool-api-0") == pool, 10, "the pool to open")
    active: list[int] = []
    t0 = time.monotonic()
    with ThreadPoolExecutor(requests) as ex:
        futures = [ex.submit(api.get, "/") for _ in range(requests)]
        while not all(f.done() for f in futures):
            active.append(postgres_server.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg-pool-api-0' "
                "AND state = 'active'")[0][0])
            assert postgres_server.backends("pg-pool-api-0") == pool
            time.sleep(0.02)
        codes = [f.result() for f in futures]
    elapsed = time.monotonic() - t0
    assert codes == [200] * requests
    assert max(active) == pool                            # busy, never more than the pool
    assert elapsed >= requests / pool * hold * 0.9        # 12 holds of 0.3 s, 3 at a time: 1.2 s
    assert api.health()["stores"]["postgres"]["waiting"] == 0


def test_too_many_clients_when_pods_times_pool_exceed_max_connections(pods, postgres_server) -> None:
    """max_connections 20, one held by the probe: pods of 8, 8, 8, 2 get 8, 8, 3, 0."""
    _until(lambda: postgres_server.backends("pg-") == 0, 10, "earlier pods' connections to close")
    cfg = _config("pg-many", stores={"postgres": _pg(postgres_server, 8)}, routes={
        "r": {"match": "/", "steps": [{"store": "postgres", "op": "write", "timeout": 1.0,
                                       "on_failure": "fail"}]}})
    first = []
    for i in range(3):
        first.append(pods(f"pg-many-{i}", cfg))
        _until(lambda i=i: (postgres_server.backends("pg-many-") >= min(8 * (i + 1), 19)), 10, "pools to open")
    last = pods("pg-many-3", {**cfg, "stores": {"postgres": _pg(postgres_server, 2)}})
    _until(lambda: last.health()["stores"]["postgres"]["connect_errors"] > 0, 10, "a refusal")
    assert postgres_server.backends("pg-many-") == postgres_server.max_connections - 1
    assert [postgres_server.backends(f"pg-many-{i}") for i in range(4)] == [8, 8, 3, 0]
    third = first[2].health()["stores"]["postgres"]
    assert third["connect_errors"] > 0 and "too many clients" in third["last_error"]
    assert "too many clients" in last.health()["stores"]["postgres"]["last_error"]
    assert first[0].get("/") == 200 and first[2].get("/") == 200   # three connections still serve
    assert last.get("/") == 502                                     # its writes fail: no connection at all
