"""Nodes and pods, and the one pod lifecycle every controller and fault uses.

    Pending -> Starting -> Ready -> Terminating -> Deleted
                  \\          \\-> Killed | Evicted (terminal, at once)
    Starting | Ready -> CrashLoopBackOff -> Starting (same pod: a container restart)

A crash (segfault, OOM kill) is not a pod ending: the kubelet restarts the
container in the same pod, on the same node, under the same name, after a
back-off (immediately the first time, then 10 s doubling to 300 s, reset once
the container has run 10 minutes); the pod is NotReady while it waits and starts.

A Deployment (one per version of a workload) keeps its desired number of live
pods: when a pod ends for any reason it creates a replacement, which waits in
Pending until the scheduler finds a node. Faults (kill, node down), the HPA
(`Deployment.scale`) and the scheduler all go through these methods; watchers
(mesh endpoints, queue consumers, stores) hear every readiness change. Keep it
the one lifecycle: a new controller or fault calls these methods rather than
setting a pod's phase, so that every consumer of readiness stays right.

When a pod's process dies (killed, evicted, deleted, crashed) its incarnation
goes up and its slots are renewed (`Pod.new_process`): requests still in flight
there end with a reset and give their slot back to the old slots.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from twin.graph.placement import Node as NodeSpec
from twin.sim import scheduler
from twin.sim.pod import (
    BACK_OFF,
    DELETED,
    EVICTED,
    KILLED,
    PENDING,
    READY,
    STARTING,
    TERMINAL,
    TERMINATING,
    Pod,
    SimNode,
)

# kubelet defaults (pkg/kubelet: initial container back-off, MaxContainerBackOff, and the
# reset once a container ran that long; "Kubernetes in Action" 2nd ed. 6.2.1)
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
BACKOFF_RESET = 600.0

Emit = Callable[[float, str, str, str], None]


class Deployment:
    """A Deployment or StatefulSet (per version): keeps `desired` pods alive."""

    def __init__(self, cluster: Cluster, name: str, workload: str, kind: str, controller: str,
                 desired: int, make_pod: Callable[[str], Pod], startup: float = 0.0,
                 termination_grace: float = 30.0):
        self.cluster = cluster
        self.name = name
        self.workload = workload
        self.kind = kind  # service, worker, store, platform, daemonset
        self.controller = controller  # Deployment or StatefulSet
        self.desired = desired
        self.make_pod = make_pod
        self.startup = startup
        self.termination_grace = termination_grace
        self.pods: list[Pod] = []
        self.ordinal = 0

    @property
    def live(self) -> list[Pod]:
        return [p for p in self.pods if p.phase not in TERMINAL and p.phase != TERMINATING]

    @property
    def ready(self) -> list[Pod]:
        return [p for p in self.pods if p.phase == READY]

    def scale(self, replicas: int, reason: str = "scaled") -> None:
        """What the HPA (or a scenario) calls: new pods start, extra pods terminate gracefully."""
        if replicas != self.desired:
            self.cluster.emit(self.cluster.env.now, f"deployment/{self.name}", "ScalingReplicaSet",
                              f"{self.desired} -> {replicas} ({reason})")
        self.desired = replicas
        self.reconcile()

    def reconcile(self, startup: float | None = None) -> None:
        if not self.cluster.controllers_running():
            return  # kube-controller-manager is down: killed pods are not replaced
        live = self.live
        for _ in range(self.desired - len(live)):
            name = f"{self.name}-{self.ordinal}"
            self.ordinal += 1
            pod = self.make_pod(name)
            pod.owner = self
            pod.created = self.cluster.env.now
            self.pods.append(pod)
            self.cluster.add(pod, self.startup if startup is None else startup)
        extra = len(live) - self.desired
        if extra > 0:
            for pod in sorted(live, key=lambda p: (p.phase == READY, -p.created))[:extra]:
                self.cluster.delete(pod, "scaled down")


class Cluster:
    """Nodes, pods and the lifecycle transitions; watchers hear readiness changes."""

    def __init__(self, env: simpy.Environment, nodes: list[NodeSpec], emit: Emit,
                 grace_period: float = 50.0, toleration_seconds: float = 300.0):
        self.env = env
        self.emit = emit
        self.nodes = {n.name: SimNode(n, i) for i, n in enumerate(nodes)}
        self.node_list = list(self.nodes.values())
        self.pods: list[Pod] = []
        self.by_name: dict[str, Pod] = {}
        self.deployments: dict[str, Deployment] = {}
        self.pending: list[Pod] = []
        self.watchers: dict[str, list[Callable[[Pod, bool], None]]] = {}
        self.grace_period = grace_period
        self.toleration_seconds = toleration_seconds
        self.control_plane: Any = None
        """Set by the engine (twin.sim.node_lifecycle.ControlPlane): while it is down
        nothing is created, scheduled or replaced."""

    # -------------------------------------------------------------- watchers

    def watch(self, workload: str, fn: Callable[[Pod, bool], None]) -> None:
        """fn(pod, ready) on every readiness change of the workload's pods."""
        self.watchers.setdefault(workload, []).append(fn)

    def _notify(self, pod: Pod, ready: bool) -> None:
        for fn in self.watchers.get(pod.workload, ()):
            fn(pod, ready)

    # ------------------------------------------------------------- lifecycle

    def add(self, pod: Pod, startup: float) -> None:
        self.pods.append(pod)
        self.by_name[pod.name] = pod
        if not self._schedule(pod):
            self.pending.append(pod)
            return
        self._start(pod, startup)

    def _schedule(self, pod: Pod) -> bool:
        placed = [p for p in self.pods if p.node is not None and p.phase not in TERMINAL]
        node, why = scheduler.place(pod, self.node_list, placed)
        if node is None:
            if pod.phase != PENDING or pod not in self.pending:
                self.emit(self.env.now, pod.component, "FailedScheduling", why)
            return False
        pod.node = node
        node.cpu_requested += pod.cpu
        node.memory_requested += pod.memory
        node.pods.append(pod)
        if self.env.now > 0:  # the initial placement is in the pods table, not the timeline
            self.emit(self.env.now, pod.component, "Scheduled", f"on {node.name}")
        return True

    def _start(self, pod: Pod, startup: float) -> None:
        pod.phase = STARTING
        pod.started = self.env.now
        if pod.node is not None and not pod.node.reachable:
            pod.reachable = False  # bound to a node whose kubelet is gone: it never starts
            return
        if startup <= 0:
            self._ready(pod)
            return
        incarnation = pod.incarnation
        self.env.timeout(startup).callbacks.append(
            lambda _ev: self._ready(pod) if pod.incarnation == incarnation
            and pod.phase == STARTING else None)

    def _ready(self, pod: Pod) -> None:
        pod.phase = READY
        pod.alive = True
        pod.ready_at = self.env.now
        if self.env.now > 0:
            self.emit(self.env.now, pod.component, "Ready", f"on {pod.node.name}")
        self._notify(pod, True)

    def _release(self, pod: Pod) -> None:
        node = pod.node
        if node is not None and pod in node.pods:
            node.pods.remove(pod)
            node.cpu_requested -= pod.cpu
            node.memory_requested -= pod.memory
        self._retry_pending()

    def controllers_running(self) -> bool:
        cp = self.control_plane
        return cp is None or cp.available

    def control_plane_restored(self) -> None:
        """The controllers catch up: missing pods are created, Pending ones scheduled."""
        for d in list(self.deployments.values()):
            d.reconcile()
        self._retry_pending()

    def _retry_pending(self) -> None:
        if not self.controllers_running():
            return  # no kube-scheduler
        for pod in list(self.pending):
            if pod.phase == PENDING and self._schedule(pod):
                self.pending.remove(pod)
                self._start(pod, pod.owner.startup if pod.owner else 0.0)

    def _end(self, pod: Pod, phase: str, reason: str) -> None:
        was_ready = pod.phase == READY
        pod.phase = phase
        pod.alive = False
        pod.incarnation += 1
        if pod in self.pending:
            self.pending.remove(pod)
        self.emit(self.env.now, pod.component, phase, reason)
        if was_ready:
            self._notify(pod, False)
        pod.new_process()  # queued requests are refused
        self._release(pod)
        if pod.owner is not None:
            pod.owner.reconcile()

    def kill(self, pod: Pod, reason: str = "killed") -> None:
        """SIGKILL: in-flight requests fail with a reset; the owner replaces the pod."""
        if pod.phase not in TERMINAL:
            self._end(pod, KILLED, reason)

    def crash(self, pod: Pod, reason: str = "container exited") -> None:
        """The container's process exited: in-flight requests fail with a reset and the
        kubelet restarts it in place after the CrashLoopBackOff delay (restartPolicy
        Always); the owner sees a live pod and creates nothing."""
        if pod.phase in TERMINAL or pod.phase in (PENDING, BACK_OFF):
            return
        if pod.phase == TERMINATING:  # exited while shutting down: the pod is gone
            self._end(pod, DELETED, reason)
            return
        now = self.env.now
        was_ready = pod.phase == READY
        if pod.started is not None and now - pod.started >= BACKOFF_RESET:
            pod.backoff = 0.0  # it ran 10 minutes without crashing: the back-off starts over
        delay = pod.backoff
        pod.backoff = min(BACKOFF_MAX, BACKOFF_INITIAL if delay == 0 else 2 * delay)
        pod.restarts += 1
        pod.phase = BACK_OFF
        pod.alive = False
        pod.incarnation += 1
        pod.new_process()  # what ran died with it; queued requests are refused
        if delay > 0:
            self.emit(now, pod.component, "BackOff",
                      f"back-off {delay:g}s restarting failed container ({reason}), "
                      f"restartCount {pod.restarts}")
        if was_ready:
            self._notify(pod, False)
        incarnation = pod.incarnation
        self.env.timeout(delay).callbacks.append(
            lambda _ev: self._restart(pod, incarnation, reason))

    def _restart(self, pod: Pod, incarnation: int, reason: str) -> None:
        if pod.incarnation != incarnation or pod.phase != BACK_OFF:
            return  # deleted or evicted meanwhile
        self.emit(self.env.now, pod.component, "Started",
                  f"container restarted after {reason}, restartCount {pod.restarts}")
        self._start(pod, pod.owner.startup if pod.owner else 0.0)

    def evict(self, pod: Pod, reason: str = "evicted") -> None:
        if pod.phase not in TERMINAL:
            self._end(pod, EVICTED, reason)

    def delete(self, pod: Pod, reason: str = "deleted") -> None:
        """Graceful: out of the endpoints at once, in-flight work finishes within the grace."""
        if pod.phase in TERMINAL or pod.phase == TERMINATING:
            return
        was_ready = pod.phase == READY
        pod.phase = TERMINATING
        self.emit(self.env.now, pod.component, TERMINATING, reason)
        if was_ready:
            self._notify(pod, False)
        grace = pod.owner.termination_grace if pod.owner else 30.0
        self.env.process(self._terminate(pod, grace))

    def _terminate(self, pod: Pod, grace: float):
        step = 0.1
        waited = 0.0
        while pod.slots.busy and waited < grace:
            yield self.env.timeout(step)
            waited += step
        if pod.phase == TERMINATING:
            pod.alive = False
            self._end(pod, DELETED, "terminated" if waited < grace else "grace period over")

    # ----------------------------------------------------------------- nodes

    def node_down(self, name: str, reason: str = "node down") -> None:
        """The node vanishes: its pods stop answering at once; Kubernetes notices after the
        grace period (pods NotReady, out of endpoints) and evicts Deployment pods after
        the toleration seconds; StatefulSet pods stay until the node returns."""
        node = self.nodes[name]
        if not node.ready and not node.reachable:
            return
        node.reachable = False
        node.down_since = self.env.now
        self.emit(self.env.now, f"node/{name}", "NodeDown", reason)
        for pod in list(node.pods):
            pod.reachable = False
        since = node.down_since
        self.env.timeout(self.grace_period).callbacks.append(lambda _e: self._not_ready(node, since))

    def _not_ready(self, node: SimNode, since: float) -> None:
        if node.reachable or node.down_since != since:
            return
        node.ready = False
        self.emit(self.env.now, f"node/{node.name}", "NodeNotReady",
                  f"no status for {self.grace_period:g}s")
        for pod in list(node.pods):
            self.not_ready(pod)
        self.env.timeout(self.toleration_seconds).callbacks.append(
            lambda _e: self._evict_node(node, since))

    def not_ready(self, pod: Pod) -> None:
        """Its Ready condition goes False: out of the endpoints, still bound to its node."""
        if pod.phase == READY:
            pod.phase = STARTING
            pod.alive = False
            self._notify(pod, False)

    def _evict_node(self, node: SimNode, since: float) -> None:
        if node.reachable or node.down_since != since:
            return
        for pod in list(node.pods):
            if pod.owner is not None and pod.owner.controller == "StatefulSet":
                continue
            if pod.kind == "daemonset":
                continue
            self.evict(pod, f"node {node.name} unreachable for {self.toleration_seconds:g}s")

    def node_up(self, name: str) -> None:
        node = self.nodes[name]
        if node.reachable:
            return
        node.reachable = True
        node.ready = True
        node.down_since = None
        self.emit(self.env.now, f"node/{name}", "NodeReady", "back")
        for pod in list(node.pods):
            pod.reachable = True
            if pod.phase == STARTING:
                self._ready(pod)
        self._retry_pending()

    # --------------------------------------------------------------- lookups

    def pods_of(self, workload: str) -> list[Pod]:
        return [p for p in self.pods if p.workload == workload]

    def pod(self, name: str) -> Pod | None:
        return self.by_name.get(name)

    def live_pods(self) -> list[Pod]:
        return [p for p in self.pods if p.phase not in TERMINAL]

    def describe(self) -> dict[str, Any]:
        return {p.name: (p.phase, p.node.name if p.node else None) for p in self.pods}
