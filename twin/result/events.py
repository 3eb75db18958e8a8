"""Every event name a backend can put in a run's timeline: what a check's `event:` may name.

The vocabulary every backend shares (the simulator, real processes, the kind
replica), so it lives beneath them all. A check on an event no backend emits
can never hold, so `twin validate` rejects it with a "did you mean" instead of
letting `twin run` fail with "never". tests/scenario/test_ux.py scans the
emitters' `emit(...)` calls (twin.sim.*, twin.scenario.sim_faults, twin.replica.*)
and fails when one emits a name missing here: add new names to the set of
their emitter.
"""

from __future__ import annotations

import difflib

SENTINEL = frozenset({
    # Redis Sentinel's Pub/Sub channels (redis.io "Sentinel API": Pub/Sub messages), which
    # twin.sim.sentinel reproduces and the local backend records from real sentinels
    "+reset-master", "+slave", "+failover-state-reconf-slaves", "+failover-detected",
    "+slave-reconf-sent", "+slave-reconf-inprog", "+slave-reconf-done", "-dup-sentinel",
    "+sentinel", "+sdown", "-sdown", "+odown", "-odown", "+new-epoch", "+try-failover",
    "+elected-leader", "+failover-state-select-slave", "+tilt", "-tilt", "+monitor",
    "-monitor", "+set", "+role-change", "-role-change", "+reboot",
    "+selected-slave", "+failover-state-send-slaveof-noone", "+failover-state-wait-promotion",
    "+failover-end", "+failover-end-for-timeout", "+switch-master", "+promoted-slave",
    "+convert-to-slave", "+fix-slave-config", "+config-update-from", "+vote-for-leader",
    "-failover-abort-not-elected", "-failover-abort-no-good-slave",
    "-failover-abort-slave-timeout", "-slave-reconf-sent-timeout",
})



def sentinel_message(event: str, d: dict, port: int = 6379, sentinel_port: int = 26379) -> str:
    """A Sentinel event's text as redis-sentinel publishes it (sentinel.c's `%@`:
    `<type> <name> <host> <port> [@ <master-name> <host> <port>]`), from the fields
    both backends record: `type`, `name` (`redis-1`, `sentinel/2`), `master` (the
    master name, `mymaster`), `server` (the master's server, `redis-0`), and `quorum`,
    `role`, `epoch`, `leader`, `from`, `to` where the event has them. A server's host
    is its name (a StatefulSet pod's DNS name, as `announce-hostnames` shows it), a
    sentinel's `sentinel-<i>`, and a sentinel instance is named, as the real one is
    by its run id, by the name it has here (`sentinel/2`)."""
    master = d.get("master", "mymaster")
    if event == "+switch-master":
        return f"{master} {d.get('from')} {port} {d.get('to')} {port}"
    if event == "+new-epoch":
        return str(d.get("epoch", ""))
    if event == "+vote-for-leader":
        return f"{d.get('leader')} {d.get('epoch')}"
    kind, name, server = d.get("type", "master"), d.get("name", ""), d.get("server", "")
    at = f"@ {master} {server} {port}"
    if kind == "master":
        text = f"master {master} {server or name} {port}"
    elif kind == "slave":
        text = f"slave {name}:{port} {name} {port} {at}"
    else:
        text = f"sentinel {name} {name.replace('/', '-')} {sentinel_port} {at}"
    if "quorum" in d:
        text += f" #quorum {d['quorum']}"
    if "role" in d and event.endswith("role-change"):
        text += f" new reported role is {d['role']}"
    return text


KUBERNETES = frozenset({
    # pod phases the cluster records (twin.sim.cluster) and the events of the kubelet,
    # scheduler, controllers, HPA, node lifecycle and `kubectl drain`
    "Pending", "Starting", "Ready", "Terminating", "Deleted", "Killed", "Evicted",
    "ScalingReplicaSet", "FailedScheduling", "Scheduled", "NodeDown", "NodeNotReady",
    "NodeReady", "NodeNotSchedulable", "NodeSchedulable", "TaintManagerEviction",
    "SuccessfulRescale", "FailedGetResourceMetric", "DrainTimeout", "Drained",
    "EvictionBlocked", "RollingUpdate", "RolloutComplete", "Killing", "ControlPlaneDown",
    "ControlPlaneUp", "Scaled", "BackOff", "Started",
})

STORES = frozenset({
    # PostgreSQL/Patroni and plain stores (twin.sim.patroni, twin.sim.stores)
    "ServerDown", "ServerUp", "LeaderKeyExpired", "Promoted", "StoreDown", "StoreUp",
    "Primary", "TooManyConnections",
})

BROKER = frozenset({
    # RabbitMQ and Celery workers (twin.sim.broker, twin.scenario.sim_faults)
    "PrefetchHeld", "ChannelClosed", "ConsumerTimeout", "MemoryAlarm", "MemoryAlarmCleared",
    "WorkerCrash", "PoisonMessage", "PoisonPublished",
})

MESH = frozenset({"OutlierEjected", "OutlierUnejected", "FaultInjected", "FaultRemoved",
                  "ServiceSlow", "ServiceRecovered"})

BACKENDS = frozenset({"NotApplied", "FaultFailed"})
"""What a replica backend records about a fault it could not apply."""

SCENARIO_PREFIX = "scenario:"
"""`scenario:ACTION`: the timeline's own faults, as the backends record them."""

WARNINGS = frozenset({
    "FailedScheduling", "BackOff", "Evicted", "EvictionBlocked", "TooManyConnections",
    "StoreDown", "ServerDown", "NodeNotReady", "OutlierEjected", "ChannelClosed",
    "ConsumerTimeout", "MemoryAlarm",
})
"""Kubernetes' `type: Warning` and their like: a run whose steady state already has
them (pods Pending, a pool over max_connections) is not the steady state it seems."""

CANARY = frozenset({
    # a canary's analysis (twin.canary.analysis), each with Flagger's own message
    "CanaryStarted", "CanaryAdvance", "CanaryHalt", "CanaryRollback", "CanaryPromoted",
    "CanaryDetected",
})

KNOWN: frozenset[str] = SENTINEL | KUBERNETES | STORES | BROKER | MESH | BACKENDS | CANARY


def known(name: str) -> bool:
    return name in KNOWN or name.startswith(SCENARIO_PREFIX)


def suggest(name: str, n: int = 3) -> list[str]:
    """The known names closest to a typo (`+switch-mastr` -> `+switch-master`)."""
    return difflib.get_close_matches(name, sorted(KNOWN), n=n, cutoff=0.6)


SOURCES = ("sentinel", "pod", "node", "service", "worker", "store", "queue", "external", "route",
           "deployment", "hpa", "canary", "gateway", "controlplane", "scenario")
"""The kinds of thing an event comes from (`sentinel/0`, `pod/chat-api-v1-2`): a check's
`source:` names one kind, or one thing of a kind."""


def problem(name: str) -> str | None:
    """Why a check cannot name this event, or None when some backend emits it."""
    if known(name):
        return None
    close = suggest(name)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else (
        " (Sentinel events start with + or -, e.g. +switch-master; Kubernetes events are "
        "CamelCase, e.g. NodeNotReady)")
    return f"no backend emits an event named {name!r}{hint}"
