"""Data stores: Redis (single, or servers plus Sentinels), PostgreSQL, RabbitMQ.

Redis with Sentinel: StatefulSet `redis` (redis-0 starts as master, the others
replicate it unless the Sentinels already name another master), StatefulSet
`<name>-sentinel` monitoring it by host name. The store's Service
(`redis-streams`) selects pod redis-0 by name: it does NOT follow a failover,
which is exactly the hazard of clients that reach Redis "via service"; clients
"via sentinel" ask the Sentinels. PostgreSQL HA is a primary plus streaming
standbys; Patroni's automatic failover is not reproduced (the simulator models it).
"""

from __future__ import annotations

import json
from typing import Any

from twin.model.topology import Persistence, Postgres, RabbitMQ, Redis, StoreBase, Topology
from twin.model.units import format_memory
from twin.render.meta import header, port_name, resources, store_labels
from twin.render.placement import pod_placement

IMAGES = {"redis": "redis:7.2", "postgres": "postgres:16", "rabbitmq": "rabbitmq:3.13-management"}
POD_NAME = "statefulset.kubernetes.io/pod-name"


def _fq(pod: str, headless: str, ns: str) -> str:
    return f"{pod}.{headless}.{ns}.svc.cluster.local"


def _service(topo: Topology, store: StoreBase, name: str, selector: dict[str, str],
             ports: list[tuple[str, int]], headless: bool = False) -> dict[str, Any]:
    obj = header("v1", "Service", name, store.namespace, labels=store_labels(topo, store.name, store.namespace))
    spec: dict[str, Any] = {
        "selector": selector,
        "ports": [{"name": n, "port": p, "targetPort": p, "protocol": "TCP"} for n, p in ports],
    }
    if headless:
        spec["clusterIP"] = "None"
        spec["publishNotReadyAddresses"] = True
    obj["spec"] = spec
    return obj


def _statefulset(topo: Topology, store: StoreBase, name: str, app: str, replicas: int,
                 service_name: str, containers: list[dict[str, Any]],
                 volumes: list[dict[str, Any]], persistence: Persistence | None,
                 init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    labels = store_labels(topo, app, store.namespace)
    obj = header("apps/v1", "StatefulSet", name, store.namespace, labels=labels)
    pod_spec: dict[str, Any] = {"containers": containers, **pod_placement(store.placement, app)}
    if init:
        pod_spec["initContainers"] = init
    if volumes:
        pod_spec["volumes"] = volumes
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": service_name,
        "selector": {"matchLabels": {"app": app}},
        "template": {"metadata": {"labels": labels}, "spec": pod_spec},
    }
    if persistence is not None and persistence.enabled:
        spec["volumeClaimTemplates"] = [{
            "metadata": {"name": "data"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": persistence.storage_class or "gp3",
                "resources": {"requests": {"storage": format_memory(persistence.size)}},
            },
        }]
    obj["spec"] = spec
    return obj


def _data_volume(persistence: Persistence) -> list[dict[str, Any]]:
    return [] if persistence.enabled else [{"name": "data", "emptyDir": {}}]


# ---------------------------------------------------------------------- Redis

_REDIS_SH = """\
set -e
ORD="${{HOSTNAME##*-}}"
SELF="$(hostname).{headless}.{ns}.svc.cluster.local"
PRIO=$(echo "{priorities}" | cut -d, -f$((ORD + 1)))
ARGS="--port {port} --protected-mode no --replica-announce-ip $SELF --replica-priority ${{PRIO:-100}}"
ARGS="$ARGS --min-replicas-to-write {min_replicas} --min-replicas-max-lag {max_lag}"
MASTER="{master}"
if [ -n "{sentinel}" ]; then
  FOUND=$(timeout 3 redis-cli -h {sentinel} -p {sentinel_port} sentinel get-master-addr-by-name {master_name} 2>/dev/null | head -1 || true)
  [ -n "$FOUND" ] && MASTER="$FOUND"
fi
if [ "$MASTER" != "$SELF" ] && {{ [ -n "$FOUND" ] || [ "$ORD" != "0" ]; }}; then
  ARGS="$ARGS --replicaof $MASTER {port}"
fi
exec redis-server $ARGS
"""

_SENTINEL_SH = """\
set -e
SELF="$(hostname).{headless}.{ns}.svc.cluster.local"
cat > /data/sentinel.conf <<SENTINEL_CONF_END
port {port}
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $SELF
sentinel monitor {master_name} {master} {redis_port} {quorum}
sentinel down-after-milliseconds {master_name} {down_after}
sentinel failover-timeout {master_name} {failover_timeout}
sentinel parallel-syncs {master_name} {parallel_syncs}
SENTINEL_CONF_END
exec redis-sentinel /data/sentinel.conf
"""


def redis(topo: Topology, store: Redis) -> list[dict[str, Any]]:
    ns, app = store.namespace, store.name
    headless = f"{app}-headless"
    image = store.image or IMAGES["redis"]
    sentinel = store.sentinel if store.mode == "sentinel" else None
    master = _fq(f"{app}-0", headless, ns)
    sentinel_host = f"{app}-sentinel.{ns}.svc.cluster.local" if sentinel else ""
    script = _REDIS_SH.format(
        headless=headless, ns=ns, port=store.port, master=master,
        priorities=",".join(str(store.priority(i)) for i in range(store.servers)),
        min_replicas=store.min_replicas_to_write, max_lag=int(store.min_replicas_max_lag),
        sentinel=sentinel_host, sentinel_port=sentinel.port if sentinel else 0,
        master_name=sentinel.master_name if sentinel else "",
    )
    container = {
        "name": "redis", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", script],
        "ports": [{"name": "redis", "containerPort": store.port, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": ["redis-cli", "-p", str(store.port), "ping"]},
                           "periodSeconds": 5},
        "resources": resources(store.resources),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    selector_all = {"app": app}
    redis_port = [(port_name("tcp", "redis"), store.port)]
    out = [
        _service(topo, store, headless, selector_all, redis_port, headless=True),
        _statefulset(topo, store, app, app, store.servers if sentinel else 1, headless, [container],
                     _data_volume(store.persistence), store.persistence),
    ]
    if sentinel is None:
        out.append(_service(topo, store, store.service, selector_all, redis_port))
        return out
    out.append(_service(topo, store, store.service, {**selector_all, POD_NAME: f"{app}-0"}, redis_port))
    out.append(_service(topo, store, f"{app}-all", selector_all, redis_port))
    s_app = f"{app}-sentinel"
    s_headless = f"{s_app}-headless"
    s_script = _SENTINEL_SH.format(
        headless=s_headless, ns=ns, port=sentinel.port, master_name=sentinel.master_name,
        master=master, redis_port=store.port, quorum=sentinel.quorum,
        down_after=round(sentinel.down_after * 1000),
        failover_timeout=round(sentinel.failover_timeout * 1000),
        parallel_syncs=sentinel.parallel_syncs,
    )
    s_container = {
        "name": "sentinel", "image": image, "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", s_script],
        "ports": [{"name": "sentinel", "containerPort": sentinel.port, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": ["redis-cli", "-p", str(sentinel.port), "ping"]},
                           "periodSeconds": 5},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    s_ports = [(port_name("tcp", "sentinel"), sentinel.port)]
    out += [
        _service(topo, store, s_headless, {"app": s_app}, s_ports, headless=True),
        _service(topo, store, s_app, {"app": s_app}, s_ports),
        _statefulset(topo, store, s_app, s_app, sentinel.sentinels, s_headless, [s_container],
                     [{"name": "data", "emptyDir": {}}], None),
    ]
    return out


# ------------------------------------------------------------------ PostgreSQL

_PG_STANDBY_SH = """\
set -e
ORD="${{HOSTNAME##*-}}"
if [ "$ORD" != "0" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h {primary} -p {port}; do sleep 2; done
  pg_basebackup -h {primary} -p {port} -U postgres -D "$PGDATA" -R -X stream
fi
"""

_PG_HBA_SH = "echo 'host replication all all trust' >> \"$PGDATA/pg_hba.conf\"\n"


def postgres(topo: Topology, store: Postgres) -> list[dict[str, Any]]:
    ns, app = store.namespace, store.name
    headless = f"{app}-headless"
    image = store.image or IMAGES["postgres"]
    ha = store.mode == "ha"
    env = [
        # the replica only: no password, trust on the pod network (no credentials in the repo)
        {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"},
        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
    ]
    mounts = [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]
    volumes = _data_volume(store.persistence)
    init = None
    if ha:
        mounts.append({"name": "initdb", "mountPath": "/docker-entrypoint-initdb.d"})
        volumes.append({"name": "initdb", "configMap": {"name": f"{app}-initdb"}})
        primary = _fq(f"{app}-0", headless, ns)
        init = [{
            "name": "clone-primary", "image": image, "imagePullPolicy": "IfNotPresent",
            "command": ["sh", "-c", _PG_STANDBY_SH.format(primary=primary, port=store.port)],
            "env": env, "volumeMounts": mounts[:1],
        }]
    container = {
        "name": "postgres", "image": image, "imagePullPolicy": "IfNotPresent",
        "args": ["-c", f"max_connections={store.max_connections}"],
        "env": env,
        "ports": [{"name": "postgres", "containerPort": store.port, "protocol": "TCP"}],
        "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres"]}, "periodSeconds": 5},
        "resources": resources(store.resources),
        "volumeMounts": mounts,
    }
    ports = [(port_name("tcp", "postgres"), store.port)]
    out: list[dict[str, Any]] = []
    if ha:
        cm = header("v1", "ConfigMap", f"{app}-initdb", ns, labels=store_labels(topo, app, ns))
        cm["data"] = {"10-replication.sh": _PG_HBA_SH}
        out.append(cm)
    primary_selector = {"app": app, POD_NAME: f"{app}-0"} if ha else {"app": app}
    out += [
        _service(topo, store, headless, {"app": app}, ports, headless=True),
        _service(topo, store, store.service, primary_selector, ports),
        _statefulset(topo, store, app, app, store.replicas if ha else 1, headless, [container],
                     volumes, store.persistence, init),
    ]
    if ha:
        out.append(_service(topo, store, f"{app}-replicas", {"app": app}, ports))
    return out


# -------------------------------------------------------------------- RabbitMQ


def rabbitmq(topo: Topology, store: RabbitMQ) -> list[dict[str, Any]]:
    ns, app = store.namespace, store.name
    headless = f"{app}-headless"
    conf = "\n".join([
        f"vm_memory_high_watermark.relative = {store.memory_high_watermark:g}",
        f"total_memory_available_override_value = {int(store.memory_limit)}",
        f"consumer_timeout = {round(store.consumer_timeout * 1000)}",
        f"heartbeat = {int(store.heartbeat)}",
        "loopback_users = none",
        "",
    ])
    queues = [q.model_dump(exclude_none=True) for q in store.queues]
    cm = header("v1", "ConfigMap", f"{app}-config", ns, labels=store_labels(topo, app, ns),
                annotations={"twin.eco2/queues": json.dumps(queues, sort_keys=True)})
    cm["data"] = {"20-twin.conf": conf}
    container = {
        "name": "rabbitmq", "image": store.image or IMAGES["rabbitmq"],
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "amqp", "containerPort": store.port, "protocol": "TCP"},
                  {"name": "management", "containerPort": store.management_port, "protocol": "TCP"}],
        "readinessProbe": {"tcpSocket": {"port": store.port}, "periodSeconds": 5},
        "resources": resources(store.resources),
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/rabbitmq"},
                         {"name": "config", "mountPath": "/etc/rabbitmq/conf.d/20-twin.conf",
                          "subPath": "20-twin.conf"}],
    }
    ports = [(port_name("tcp", "amqp"), store.port),
             (port_name("http", "management"), store.management_port)]
    volumes = [*_data_volume(store.persistence), {"name": "config", "configMap": {"name": f"{app}-config"}}]
    return [
        cm,
        _service(topo, store, headless, {"app": app}, ports, headless=True),
        _service(topo, store, store.service, {"app": app}, ports),
        _statefulset(topo, store, app, app, 1, headless, [container], volumes, store.persistence),
    ]


def render(topo: Topology) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for store in topo.stores:
        if isinstance(store, Redis):
            out += redis(topo, store)
        elif isinstance(store, Postgres):
            out += postgres(topo, store)
        else:
            out += rabbitmq(topo, store)
    return out
