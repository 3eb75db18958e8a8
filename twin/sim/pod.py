"""A pod and the node it runs on, as data: what the scheduler, the lifecycle and the flows read.

A `Pod` holds who it is and where (workload, labels, placement, requests), the
state its one lifecycle moves (twin.sim.cluster: phase, readiness, its
container's restarts), what serving a request costs there, and its parts, each
owned by one mechanism:

    slots    the pod's concurrency, with one line in front (twin.sim.slots)
    meters   what it measured since the warm-up (Little's law, CPU, errors)
    served   the tries its workload's version served, as the caller saw them
    pools    its connection pools, by store name (twin.sim.stores)
    channel  its RabbitMQ channel as a worker (twin.sim.broker)
    outlier  what Envoy's outlier detection counts of it (twin.sim.mesh)

Nothing here moves a pod through its lifecycle: only the cluster does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from twin.graph.placement import Node as NodeSpec
from twin.model.topology import Placement
from twin.sim.slots import Pool, Slots
from twin.sim.stats import Histogram, Level, Station

PENDING, STARTING, READY, TERMINATING = "Pending", "Starting", "Ready", "Terminating"
DELETED, KILLED, EVICTED = "Deleted", "Killed", "Evicted"
TERMINAL = frozenset({DELETED, KILLED, EVICTED})
BACK_OFF = "CrashLoopBackOff"
"""The pod lives on, its container waits for the kubelet to restart it."""
PROCESS_GONE = TERMINAL | {BACK_OFF}
"""The pod's process is gone: the kernel closed its sockets (peers notice at once)."""


class Owner(Protocol):
    """What keeps the pod alive (twin.sim.cluster.Deployment): replaces it when it ends."""

    name: str
    controller: str  # Deployment or StatefulSet
    startup: float
    termination_grace: float

    def reconcile(self, startup: float | None = None) -> None: ...


class SimNode:
    """A node as the scheduler and the lifecycle see it: readiness, requests placed, pods."""

    __slots__ = ("spec", "name", "order", "ready", "reachable", "cpu_requested", "memory_requested",
                 "pods", "down_since")

    def __init__(self, spec: NodeSpec, order: int):
        self.spec = spec
        self.name = spec.name
        self.order = order
        self.ready = True
        self.reachable = True
        self.cpu_requested = 0.0
        self.memory_requested = 0.0
        self.pods: list[Pod] = []
        self.down_since: float | None = None


class Meters(Station):
    """A pod's station meters, with its CPU seconds, its errors, and the slots held by
    open SSE streams (not requests: no visit, no sojourn)."""

    __slots__ = ("cpu_seconds", "errors", "held")

    def __init__(self) -> None:
        super().__init__()
        self.held = Level()
        self.cpu_seconds = 0.0
        self.errors = 0

    def reset(self, now: float) -> None:
        super().reset(now)
        self.held.reset(now)
        self.cpu_seconds = 0.0
        self.errors = 0


class Served:
    """What one version of a workload served: a service's tries as the caller's sidecar
    sees each (its duration, retries apart, and whether it failed), a worker's tasks
    and how long each waited in its queue. Shared by that version's pods, old and new,
    so a killed pod's still count. Never reset: traces take deltas."""

    __slots__ = ("tries", "failed", "latency", "wait")

    def __init__(self) -> None:
        self.tries = 0
        self.failed = 0
        self.latency = Histogram()
        self.wait = Histogram()  # a worker's tasks: publish to the start on a slot

    def record(self, seconds: float, failed: bool) -> None:
        self.tries += 1
        if failed:
            self.failed += 1
        self.latency.add(seconds)


class Channel:
    """A worker pod's channel to RabbitMQ: deliveries it holds unacked, up to
    `prefetch_limit` (basic.qos; 0: unlimited), and those of them waiting in its
    prefetch buffer for a slot."""

    __slots__ = ("prefetch_limit", "unacked", "buffer")

    def __init__(self) -> None:
        self.prefetch_limit = 0
        self.unacked = 0
        self.buffer: deque[list] = deque()


class Outlier:
    """Envoy's outlier detection of one endpoint: consecutive 5xx, whether it is ejected,
    and how often it was (each ejection lasts longer)."""

    __slots__ = ("consecutive_5xx", "ejected", "ejections")

    def __init__(self) -> None:
        self.consecutive_5xx = 0
        self.ejected = False
        self.ejections = 0


class Pod:
    """A pod: its place, its phase, what a request costs here, and its parts."""

    __slots__ = (
        # who and where
        "name", "workload", "component", "kind", "owner", "labels", "version", "placement", "cpu",
        "memory", "node",
        # its lifecycle (twin.sim.cluster)
        "phase", "alive", "reachable", "listening", "created", "ready_at", "incarnation",
        "restarts", "backoff", "started",
        # what serving a request costs here
        "sample", "draw", "error_rate", "error_cause", "cpu_share", "lag",
        # its parts
        "slots", "meters", "served", "pools", "channel", "outlier",
    )

    def __init__(self, name: str, workload: str, kind: str, labels: dict[str, str],
                 placement: Placement, cpu: float, memory: float, concurrency: int = 1,
                 owner: Owner | None = None, cpu_share: float = 0.0):
        self.name = name
        self.workload = workload
        self.kind = kind  # service, worker, store, platform, daemonset
        self.component = f"pod/{name}"
        self.owner = owner
        self.labels = labels
        self.version = labels.get("version", "")
        self.placement = placement
        self.cpu = cpu
        self.memory = memory
        self.node: SimNode | None = None
        self.phase = PENDING
        self.alive = False  # serving: Ready or finishing in Terminating
        self.reachable = True
        self.listening = True  # False: SIGTERM closed its listener, connects are refused (RST)
        self.created = 0.0
        self.ready_at: float | None = None
        self.incarnation = 0  # one more each time its process dies
        self.restarts = 0  # the container's restartCount
        self.backoff = 0.0  # the kubelet's wait before the next restart (0: at once)
        self.started: float | None = None  # when the container last started
        # set by the engine from the workload (or version); lag by a service-slow fault:
        # seconds every request here waits on top of its work
        self.sample: Callable[[], float] = lambda: 0.0
        self.draw: Callable[[], float] = lambda: 1.0
        self.error_rate = 0.0
        self.error_cause = "5xx"
        self.cpu_share = cpu_share
        self.lag = 0.0
        self.slots = Slots(concurrency)
        self.meters = Meters()
        self.served = Served()  # the engine gives each version's pods one Served
        self.pools: dict[str, Pool] = {}
        self.channel = Channel()
        self.outlier = Outlier()

    def __repr__(self) -> str:
        return f"<Pod {self.name} {self.phase} on {self.node.name if self.node else '-'}>"

    def new_process(self) -> None:
        """Its process died: the line for its slots is refused, and the next process starts
        with every slot free. Requests that held one give it back to the old slots."""
        self.slots.refuse()
        self.slots = Slots(self.slots.capacity)

    @property
    def busy(self) -> int:
        """Slots in use: requests served, tasks run, streams held."""
        return self.slots.busy

    @property
    def buffer(self) -> deque[Any]:
        """A worker's prefetched deliveries, waiting for a slot."""
        return self.channel.buffer
