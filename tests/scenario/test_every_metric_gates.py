"""Every documented metric gates: for each, a check that holds on the healthy simulator
and fails when the model is changed in the one way the metric should see.

A check that could never fail would pass a pull request that broke what it names; so each
metric of the vocabulary (twin.result.trace, docs/scenarios.md's table) has a row below:
its check, and the change that breaks it. The runs are short (90 s of prod, one
replication) and each change runs once for all of its rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twin.result.trace import split, vocabulary
from twin.scenario import loader
from twin.scenario.checks import FAILED, HELD
from twin.scenario.runner import execute

ROOT = Path(__file__).resolve().parents[2]
FAULT_AT = "30s"


def _crash(action: str, target: str, **more: object) -> list[dict]:
    return [{"id": "f", "at": FAULT_AT, "action": action, "target": target, **more}]


_ONE_CHAT_WORKER = {"workers.chat-worker.replicas": 1, "workers.chat-worker.hpa.min": 1,
                    "workers.chat-worker.hpa.max": 1}

CHANGES: dict[str, dict] = {
    "healthy": {},
    "less load": {"load": {"scale": 0.2}},
    "errors": {"overrides": {"services.chat-api.error_rate": 0.2, "workers.chat-worker.error_rate": 0.2}},
    "slow chat-api": {"overrides": {"services.chat-api.service_time": {"dist": "constant", "value": "1s"}}},
    "fewer replicas": {"overrides": {"services.chat-api.replicas": 1, "services.chat-api.hpa.min": 1,
                                     **_ONE_CHAT_WORKER}},
    "weights 50/50": {"overrides": {"mesh.virtual_services.chat-vs.http.0.route.0.weight": 50,
                                    "mesh.virtual_services.chat-vs.http.0.route.1.weight": 50}},
    "slow LLM": {"timeline": _crash("external-slow", "external/llm", factor=3)},
    "redis master crash": {"overrides": {"stores.redis.sentinel.down_after": "5s"},
                           "timeline": _crash("redis-master-crash", "store/redis")},
    "redis restarts empty": {"timeline": _crash("redis-restart-empty", "store/redis")},
    "chat-api via the Service": {
        "overrides": {"services.chat-api.clients.redis.via": "service",
                      "stores.redis.sentinel.down_after": "5s"},
        "timeline": _crash("redis-master-crash", "store/redis", **{"for": "20s"})},
    "replication lag 1s": {  # stream entries XACKed on the old master, not yet on the new one
        "seed": 2, "load": {"scale": 2},
        "overrides": {"stores.redis.sentinel.down_after": "5s",
                      "stores.redis.replication_lag": {"dist": "exponential", "mean": "1s"}},
        "timeline": _crash("redis-master-crash", "store/redis")},
    "postgres down": {"timeline": _crash("store-down", "store/postgres", **{"for": "30s"})},
    "postgres max_connections 120": {"overrides": {"stores.postgres.max_connections": 120}},
    "chat-tasks overflow": {"overrides": {"stores.rabbitmq.queues.chat-tasks.max_length": 5,
                                          "workers.chat-worker.acks_late": True, **_ONE_CHAT_WORKER},
                            "timeline": _crash("worker-crash", "worker/chat-worker", count=1)},
    "chat-worker crash": {"timeline": _crash("worker-crash", "worker/chat-worker", count=2)},
    "node down": {"timeline": _crash("node-down", "node/k8s-worker-1")},
}

def _latency(comp: str, p50: float, p95: float, p99: float, change: str) -> list[tuple[str, dict, str]]:
    """A latency histogram's rows: the metric at p95 and its three quantile shorthands."""
    return [(f"{comp}.latency", {"stat": "p95", "max": p95}, change),
            *((f"{comp}.p{q}", {"max": bound}, change) for q, bound in ((50, p50), (95, p95), (99, p99)))]


# metric, its check (window after warm-up unless set), the change that must fail it
ROWS: list[tuple[str, dict, str]] = [
    ("route/chat.requests", {"stat": "sum", "min": 100}, "less load"),
    ("route/chat.failed", {"stat": "sum", "max": 0}, "errors"),
    ("route/chat.error_rate", {"max": 0.01}, "errors"),
    ("route/chat.turns_incomplete", {"stat": "sum", "max": 3}, "errors"),
    ("route/scan.events_lost", {"stat": "sum", "max": 0}, "redis restarts empty"),
    ("route/chat.events_duplicated", {"stat": "sum", "max": 0}, "replication lag 1s"),
    ("route/chat.in_flight", {"stat": "max", "max": 2}, "slow chat-api"),
    *_latency("route/chat", 0.2, 0.2, 0.3, "slow chat-api"),
    ("service/chat-api.requests", {"stat": "sum", "min": 100}, "less load"),
    ("service/chat-api.failed", {"stat": "sum", "max": 0}, "errors"),
    ("service/chat-api.error_rate", {"max": 0.01}, "errors"),
    ("service/chat-api/v2.error_rate", {"max": 0.01}, "errors"),
    ("service/chat-api.ready", {"stat": "min", "min": 4}, "fewer replicas"),
    ("service/chat-api.replicas", {"stat": "min", "min": 4}, "fewer replicas"),
    ("service/chat-api/v1.ready", {"stat": "min", "min": 3}, "fewer replicas"),
    ("service/chat-api.utilisation", {"stat": "max", "max": 0.05}, "slow chat-api"),
    ("service/chat-api.in_flight", {"stat": "max", "max": 2}, "slow chat-api"),
    ("service/sse-gateway.open_streams", {"stat": "max", "min": 8}, "less load"),
    ("service/chat-api/v2.weight", {"stat": "max", "max": 10}, "weights 50/50"),
    *_latency("service/chat-api", 0.2, 0.2, 0.3, "slow chat-api"),
    ("worker/chat-worker.tasks", {"stat": "sum", "min": 100}, "less load"),
    ("worker/chat-worker.failed", {"stat": "sum", "max": 3}, "errors"),
    ("worker/chat-worker.error_rate", {"max": 0.03}, "errors"),
    ("worker/chat-worker.ready", {"stat": "min", "min": 3}, "fewer replicas"),
    ("worker/chat-worker.replicas", {"stat": "min", "min": 3}, "fewer replicas"),
    ("worker/chat-worker.utilisation", {"max": 0.9}, "fewer replicas"),
    ("worker/chat-worker.queue_wait", {"stat": "p95", "max": 1}, "fewer replicas"),
    *_latency("worker/chat-worker", 3, 10, 12, "slow LLM"),
    ("store/redis.writes", {"stat": "sum", "min": 5000}, "less load"),
    ("store/redis.write_errors", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.write_error_rate", {"max": 0}, "redis master crash"),
    ("store/redis.writes_lost", {"stat": "sum", "max": 0}, "redis restarts empty"),
    ("store/redis.reads", {"stat": "sum", "min": 150}, "less load"),
    ("store/redis.read_errors", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.readonly_errors", {"stat": "sum", "max": 0}, "chat-api via the Service"),
    ("store/redis.connection_errors", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.reconnects", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.connections_opened", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.sentinel_queries", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.subscriptions_dropped", {"stat": "sum", "max": 0}, "redis master crash"),
    ("store/redis.write_failing", {"stat": "max", "max": 0}, "redis master crash"),
    ("store/postgres.unavailable", {"stat": "max", "max": 0}, "postgres down"),
    ("store/postgres.connections", {"stat": "max", "min": 150}, "postgres max_connections 120"),
    ("queue/chat-tasks.published", {"stat": "sum", "min": 100}, "less load"),
    ("queue/chat-tasks.dropped", {"stat": "sum", "max": 0}, "chat-tasks overflow"),
    ("queue/chat-tasks.requeued", {"stat": "sum", "max": 0}, "chat-tasks overflow"),
    ("queue/chat-tasks.lost", {"stat": "sum", "max": 0}, "chat-worker crash"),
    ("queue/chat-tasks.length", {"stat": "max", "max": 5}, "fewer replicas"),
    ("node/k8s-worker-1.ready", {"stat": "min", "min": 1}, "node down"),
]


def _scenario(change: str) -> Path:
    """One JSON document (YAML reads it) per change, with every row's check in it."""
    doc = {"apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": f"gates-{list(CHANGES).index(change)}",
           "topology": str(ROOT / "topologies" / "eco2-prod.yaml"), "duration": "90s", "warmup": "20s",
           "seed": 5, "replications": 1, **CHANGES[change]}
    doc["checks"] = [{"name": f"{i} {metric}", "metric": metric, **check}
                     for i, (metric, check, _) in enumerate(ROWS)]
    path = Path(__file__).parent / f"__gates_{list(CHANGES).index(change)}.yaml"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def outcomes():
    """change -> row index -> (status, observed), each change run once."""
    cache: dict[str, dict[int, tuple[str, object]]] = {}

    def get(change: str) -> dict[int, tuple[str, object]]:
        if change not in cache:
            path = _scenario(change)
            try:
                run = execute(loader.load(path, ()))
            finally:
                path.unlink(missing_ok=True)
            cache[change] = {int(o.name.split()[0]): (o.status, o.shown) for o in run.outcomes}
        return cache[change]

    return get


IDS = [f"{metric} [{change}]" for metric, _, change in ROWS]


@pytest.mark.parametrize(("i", "row"), list(enumerate(ROWS)), ids=IDS)
def test_the_check_holds_on_the_healthy_model(outcomes, i: int, row: tuple) -> None:
    status, shown = outcomes("healthy")[i]
    assert status == HELD, f"{row[0]} {row[1]} on the healthy model: {status}, observed {shown}"


@pytest.mark.parametrize(("i", "row"), list(enumerate(ROWS)), ids=IDS)
def test_the_check_fails_when_the_model_is_changed_for_it(outcomes, i: int, row: tuple) -> None:
    metric, check, change = row
    status, shown = outcomes(change)[i]
    assert status == FAILED, f"{metric} {check} under {change!r}: {status}, observed {shown}"


def test_every_documented_metric_has_a_row() -> None:
    """A metric added to the vocabulary without a row here is one no test shows can fail."""
    have = {(split(m)[0].split("/", 1)[0], split(m)[1]) for m, _, _ in ROWS}
    for kind in ("route", "service", "worker", "store", "queue", "node"):
        for name in vocabulary(kind):
            assert (kind, name) in have, f"{kind}/*.{name} has no check that is shown to fail"
