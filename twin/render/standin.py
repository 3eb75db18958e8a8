"""The stand-in service's configuration for one workload version, from the model.

Plain JSON the stand-in (`standin/`) reads at start: how long a request takes,
how often it fails, and what it does per route (calls to other services by
their cluster address, store operations, publishes, external waits), plus how
to reach each store (Redis through Sentinel or a Service, as the model says;
PostgreSQL with the client's pool size; RabbitMQ with the model's queues), and
for a worker its queue, prefetch multiplier and acks_late.
"""

from __future__ import annotations

from typing import Any

from twin.model.base import Distribution
from twin.model.steps import (
    BranchStep,
    CallStep,
    EmitStep,
    ExternalStep,
    PublishStep,
    StepBase,
    StoreStep,
    StreamStep,
)
from twin.model.steps import walk as steps_walk
from twin.model.topology import (
    Postgres,
    RabbitMQ,
    Redis,
    Service,
    Topology,
    Version,
    Worker,
    Workload,
)
from twin.render.callgraph import CallGraph

STANDIN_PORT_WORKER = 8000
"""A worker serves only its health endpoint, here."""


def _dist(d: Distribution | None) -> dict[str, Any] | None:
    return None if d is None else d.model_dump(exclude_none=True)


def _host(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


def _step(topo: Topology, step: StepBase, route: str) -> dict[str, Any]:
    """One step as the stand-in reads it, its branch choices' steps nested in it."""
    out: dict[str, Any]
    if isinstance(step, CallStep):
        svc = topo.service(step.call)
        if svc is None:
            out = {"call": step.call}
        else:
            out = {"call": f"{_host(svc.name, svc.namespace)}:{svc.port}", "protocol": svc.protocol,
                   "route": route}
    elif isinstance(step, StoreStep):
        out = {"store": step.store, "op": step.op}
    elif isinstance(step, PublishStep):
        found = topo.queue(step.publish)
        out = {"publish": step.publish, "store": found[0].name if found else None}
    elif isinstance(step, ExternalStep):
        out = {"external": step.external}
    elif isinstance(step, EmitStep):
        out = {"emit": step.emit, "count": step.count}
    elif isinstance(step, StreamStep):
        out = {"stream": step.stream, "duration": _dist(step.duration)}
    else:
        assert isinstance(step, BranchStep)
        out = {"branch": [{"probability": b.probability, "steps": []} for b in step.branch]}
    for name in ("service_time", "error_rate", "timeout"):
        value = getattr(step, name, None)
        if value is not None:
            out[name] = _dist(value) if name == "service_time" else value
    out["on_failure"] = step.on_failure
    return out


def _steps(topo: Topology, steps: list[StepBase], route: str) -> list[dict[str, Any]]:
    """A workload's own steps: a branch's choices nested, not a callee's or a consumer's
    steps (their own configs hold them), nor fallbacks (the stand-in has none)."""
    top: list[dict[str, Any]] = []
    made: dict[tuple, dict[str, Any]] = {}
    walk = steps_walk(topo, steps)
    for step, ctx in walk:
        if ctx.parent is not None and ctx.slot != "branch":
            walk.prune()
            continue
        made[ctx.path] = out = _step(topo, step, route)
        if ctx.parent is None:
            top.append(out)
        else:
            made[ctx.parent.path]["branch"][ctx.choice]["steps"].append(out)
    return top


def _store(topo: Topology, name: str, via: str, target: str, pool: int = 10) -> dict[str, Any] | None:
    store = topo.store(name)
    if store is None:
        return None
    if isinstance(store, Redis):
        if via == "sentinel" and store.sentinel is not None:
            return {"kind": "redis", "via": "sentinel", "master_name": store.sentinel.master_name,
                    "sentinels": [[_host(f"{store.name}-sentinel", store.namespace), store.sentinel.port]]}
        svc = store.service if target == "master" or store.mode == "single" else f"{store.name}-all"
        return {"kind": "redis", "via": "service", "host": _host(svc, store.namespace), "port": store.port}
    if isinstance(store, Postgres):
        # the replica's PostgreSQL trusts the pod network (no credentials in the repo)
        return {"kind": "postgres", "host": _host(store.service, store.namespace), "port": store.port,
                "pool": pool, "database": "postgres", "user": "postgres"}
    if isinstance(store, RabbitMQ):
        # the image's default user (loopback_users = none in the replica)
        return {"kind": "rabbitmq", "host": _host(store.service, store.namespace), "port": store.port,
                "user": "guest", "password": "guest", "vhost": "/", "heartbeat": store.heartbeat,
                "queues": {q.name: q.model_dump(exclude={"name"}, exclude_none=True) for q in store.queues}}
    return None


def config(topo: Topology, graph: CallGraph, wl: Workload, version: Version | None) -> dict[str, Any]:
    vname = version.name if version is not None else "v1"
    service_time = (version.service_time if version and version.service_time else wl.service_time)
    error_rate = version.error_rate if version and version.error_rate is not None else wl.error_rate
    routes: dict[str, Any] = {}
    for (who, route_name), steps in graph.work.items():
        if who != wl.name:
            continue
        route = topo.route(route_name)
        routes[route_name] = {
            "match": route.match if route is not None else None,
            "steps": _steps(topo, steps, route_name),
        }
    stores: dict[str, Any] = {}
    for client in wl.clients:
        found = _store(topo, client.store, client.via, client.target, client.pool)
        if found is not None:
            stores[client.store] = found
    used = {s["store"] for r in routes.values() for s in _flat(r["steps"]) if s.get("store")}
    for name in sorted(used - set(stores)):
        found = _store(topo, name, "service", "master")
        if found is not None:
            stores[name] = found
    externals = {
        e.name: {"latency": _dist(e.latency), "error_rate": e.error_rate, "timeout": e.timeout}
        for e in topo.externals
    }
    is_service = isinstance(wl, Service)
    return {
        "name": wl.name,
        "version": vname,
        "namespace": wl.namespace,
        "mode": "service" if is_service else "worker",
        "protocol": wl.protocol if is_service else "http",
        "port": wl.port if is_service else STANDIN_PORT_WORKER,
        "concurrency": wl.concurrency,
        "service_time": _dist(service_time),
        "error_rate": error_rate,
        "error_kind": wl.error_kind,
        "routes": routes,
        "stores": stores,
        "externals": externals,
        "queue": wl.queue if isinstance(wl, Worker) else None,
        **({"prefetch": wl.prefetch, "acks_late": wl.acks_late} if isinstance(wl, Worker) else {}),
    }


def _flat(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for s in steps:
        out.append(s)
        for b in s.get("branch", []):
            out.extend(_flat(b["steps"]))
    return out
