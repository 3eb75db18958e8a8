"""The node lifecycle controller, the taint manager, drains and rolling updates.

A node that stops posting status (kubelet every 10 s) is marked NotReady once its
last post is older than node-monitor-grace-period (checked every 5 s); its pods
leave the endpoints and it gets the `node.kubernetes.io/unreachable:NoExecute`
taint. Each pod is evicted when its tolerationSeconds for that taint run out
(300 s unless it says otherwise); a Deployment's ReplicaSet then replaces it where
the scheduler finds room; a StatefulSet pod is never replaced by itself (it stays
Terminating on the lost node until someone acts). All of this runs in
kube-controller-manager: with the single control-plane node down, nothing is
noticed, evicted, rescheduled or taken out of the endpoints, and dead pods keep
getting traffic.

The pods, the scheduler and the ReplicaSets are the core's (twin.sim.cluster):
this controller only decides when to call its lifecycle methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import simpy

from twin.model.topology import PDB, Taint
from twin.model.topology import Cluster as ClusterModel

if TYPE_CHECKING:
    from twin.sim.cluster import Cluster, Deployment
    from twin.sim.pod import Pod, SimNode

Emit = Callable[[float, str, str, str], None]

KUBELET_STATUS_PERIOD = 10.0  # --node-status-update-frequency
NODE_MONITOR_PERIOD = 5.0  # --node-monitor-period
DRAIN_RETRY = 5.0  # kubectl drain retries a 429 (PDB) eviction every 5 s
UNREACHABLE = Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")


class ControlPlane:
    """The single control-plane node's API server, scheduler and controller manager."""

    def __init__(self, env: simpy.Environment, emit: Emit):
        self.env = env
        self.emit = emit
        self.available = True
        self.listeners: list[Callable[[bool], None]] = []

    def down(self, reason: str = "control-plane node down") -> None:
        if self.available:
            self.available = False
            self.emit(self.env.now, "controlplane", "ControlPlaneDown", reason)
            for fn in self.listeners:
                fn(False)

    def up(self, reason: str = "control-plane node back") -> None:
        if not self.available:
            self.available = True
            self.emit(self.env.now, "controlplane", "ControlPlaneUp", reason)
            for fn in self.listeners:
                fn(True)


def toleration_seconds(pod: Pod, default: float) -> float:
    """How long the pod stays bound to an unreachable node (inf: tolerates it forever).

    The DefaultTolerationSeconds admission plugin adds `default` unless the pod
    already tolerates the taint; with several matching tolerations the shortest wins.
    """
    matching = [t for t in pod.placement.tolerations if t.tolerates(UNREACHABLE)]
    if not matching:
        return default
    return min(math.inf if t.toleration_seconds is None else t.toleration_seconds for t in matching)


@dataclass
class NodeHealth:
    """What the node lifecycle controller knows of one node."""

    heartbeat_phase: float
    down_at: float | None = None
    observed_from: float = 0.0  # a restarted controller counts grace from when it first looks
    tainted_at: float | None = None
    evicted: set[str] = field(default_factory=set)


class NodeLifecycleController:
    """Notices lost nodes, taints them, evicts their pods; drains and rolls deployments."""

    def __init__(
        self,
        env: simpy.Environment,
        cluster: Cluster,
        model: ClusterModel,
        emit: Emit,
        rng: np.random.Generator,
        *,
        control_plane: ControlPlane | None = None,
    ):
        self.env = env
        self.cluster = cluster
        self.grace = model.grace_period
        self.default_toleration = model.default_toleration_seconds
        self.emit = emit
        self.control_plane = control_plane or ControlPlane(env, emit)
        self.control_plane.listeners.append(self._control_plane_changed)
        self.health = {
            name: NodeHealth(float(rng.uniform(0.0, KUBELET_STATUS_PERIOD)))
            for name in cluster.nodes
        }
        self.monitor_phase = float(rng.uniform(0.0, NODE_MONITOR_PERIOD))
        self.node_listeners: list[Callable[[str, bool], None]] = []
        """fn(node, up) when a node is lost or back: stores whose servers live there."""
        self.retiring: set[str] = set()
        self.blocked: list[tuple[float, str, str]] = []
        """(time, pod, why): evictions a PodDisruptionBudget refused during drains."""
        env.process(self._monitor())

    # ----------------------------------------------------------- node faults

    def node_down(self, name: str, reason: str = "node down") -> None:
        """The node vanishes (power, kernel, network): its pods stop answering at once."""
        node = self.cluster.nodes[name]
        h = self.health[name]
        if h.down_at is not None:
            return
        h.down_at = self.env.now
        node.reachable = False
        node.down_since = self.env.now
        for pod in node.pods:
            pod.reachable = False
        self.emit(self.env.now, f"node/{name}", "NodeDown", reason)
        if node.spec.role == "control-plane":
            self.control_plane.down(f"{name} down")
        for fn in self.node_listeners:
            fn(name, False)

    def node_up(self, name: str) -> None:
        """The kubelet posts status again: taint off, StatefulSet pods there serve again."""
        h = self.health[name]
        if h.down_at is None:
            return
        h.down_at = None
        h.tainted_at = None
        h.evicted.clear()
        if self.cluster.nodes[name].spec.role == "control-plane":
            self.control_plane.up(f"{name} back")
        self.cluster.node_up(name)
        for fn in self.node_listeners:
            fn(name, True)

    def last_status(self, name: str) -> float:
        """When the node's kubelet last posted status (every 10 s, at the node's own phase)."""
        h = self.health[name]
        end = h.down_at if h.down_at is not None else self.env.now
        k = math.floor((end - h.heartbeat_phase) / KUBELET_STATUS_PERIOD)
        return max(h.heartbeat_phase + k * KUBELET_STATUS_PERIOD, h.observed_from)

    def _monitor(self):  # noqa: ANN202 - a SimPy process
        yield self.env.timeout(self.monitor_phase)
        while True:
            if self.control_plane.available:
                for name, h in self.health.items():
                    if h.down_at is None:
                        continue
                    if h.tainted_at is None and self.env.now - self.last_status(name) > self.grace:
                        self._not_ready(name)
                    if h.tainted_at is not None:
                        self._evict_due(name)
            yield self.env.timeout(NODE_MONITOR_PERIOD)

    def _not_ready(self, name: str) -> None:
        node = self.cluster.nodes[name]
        h = self.health[name]
        h.tainted_at = self.env.now
        node.ready = False
        self.emit(self.env.now, f"node/{name}", "NodeNotReady",
                  f"no status for {self.env.now - self.last_status(name):.0f}s "
                  f"(grace {self.grace:g}s); taint {UNREACHABLE.key}:NoExecute")
        for pod in list(node.pods):
            self.cluster.not_ready(pod)

    def _evict_due(self, name: str) -> None:
        """The taint manager: each pod goes when its own tolerationSeconds are up."""
        node: SimNode = self.cluster.nodes[name]
        h = self.health[name]
        for pod in list(node.pods):
            if pod.name in h.evicted or pod.kind == "daemonset":
                continue
            wait = toleration_seconds(pod, self.default_toleration)
            if self.env.now - h.tainted_at < wait:
                continue
            h.evicted.add(pod.name)
            why = f"node {name} unreachable; tolerationSeconds {wait:g} over"
            if pod.owner is not None and pod.owner.controller == "StatefulSet":
                # deleted, but the kubelet never confirms: Terminating until someone acts
                self.emit(self.env.now, pod.component, "TaintManagerEviction",
                          why + "; StatefulSet pod stays Terminating on the lost node")
                continue
            self.emit(self.env.now, pod.component, "TaintManagerEviction", why)
            self.cluster.evict(pod, why)

    def _control_plane_changed(self, available: bool) -> None:
        if not available:
            return
        # a restarted controller manager has no memory of probes: it gives every
        # node a fresh grace period from now, then carries on
        for h in self.health.values():
            if h.down_at is not None and h.tainted_at is None:
                h.observed_from = self.env.now
        retry = getattr(self.cluster, "control_plane_restored", None)
        if retry is not None:
            retry()

    # ----------------------------------------------------------------- drain

    def drain(self, name: str, pdbs: dict[str, PDB], timeout: float | None = None) -> simpy.Process:
        """`kubectl drain`: cordon, then evict every pod through the Eviction API.

        kubectl sends the evictions in parallel (one goroutine per pod), so one pod
        held by its budget does not hold the others back. An eviction that would
        take a workload below its PodDisruptionBudget is refused (429) and retried
        every 5 s; each refusal is recorded in `blocked`. The process's value is
        True once the node is empty, False when `timeout` ran out first.
        """
        return self.env.process(self._drain(name, pdbs, timeout))

    def _drain(self, name: str, pdbs: dict[str, PDB], timeout: float | None):  # noqa: ANN202
        node = self.cluster.nodes[name]
        node.ready = False  # cordoned: the scheduler places nothing new here
        start = self.env.now
        self.emit(start, f"node/{name}", "NodeNotSchedulable", "cordoned for drain")
        evictions = [self.env.process(self._evict(name, pod, pdbs.get(pod.workload), start, timeout))
                     for pod in node.pods if pod.kind != "daemonset"]
        if evictions:
            yield self.env.all_of(evictions)
        if not all(e.value for e in evictions):
            self.emit(self.env.now, f"node/{name}", "DrainTimeout",
                      f"gave up after {self.env.now - start:.0f}s")
            return False
        self.emit(self.env.now, f"node/{name}", "Drained", f"in {self.env.now - start:.0f}s")
        return True

    def _evict(self, name: str, pod: Pod, pdb: PDB | None, start: float,  # noqa: ANN202
               timeout: float | None):
        """One pod's eviction, retried while its budget refuses it or the API server is down."""
        while not self.control_plane.available or not self._eviction_allowed(pod, pdb):
            if self.control_plane.available:
                why = f"evicting {pod.name} would violate the PodDisruptionBudget of {pod.workload}"
                self.blocked.append((self.env.now, pod.name, why))
                self.emit(self.env.now, pod.component, "EvictionBlocked", why)
            if timeout is not None and self.env.now - start + DRAIN_RETRY > timeout:
                return False
            yield self.env.timeout(DRAIN_RETRY)
        self.emit(self.env.now, pod.component, "Evicted", f"drain of {name}")
        self.cluster.delete(pod, f"drain of {name}")
        if pod.owner is not None:
            pod.owner.reconcile()  # a Terminating pod no longer counts: replace it now
        return True

    def _eviction_allowed(self, pod: Pod, pdb: PDB | None) -> bool:
        """disruptionsAllowed = currentHealthy - desiredHealthy > 0 (unready pods always go)."""
        if pdb is None or pod.phase != "Ready":
            return True
        pods = [p for p in self.cluster.pods_of(pod.workload) if p.phase == "Ready"]
        expected = sum(d.desired for d in self.cluster.deployments.values()
                       if d.workload == pod.workload) or len(pods)
        if pdb.min_available is not None:
            desired_healthy = pdb.min_available
        else:
            desired_healthy = expected - (pdb.max_unavailable or 0)
        return len(pods) - desired_healthy > 0

    # --------------------------------------------------------- rolling update

    def rolling_update(
        self,
        deployment: Deployment,
        *,
        max_surge: float = 0.25,
        max_unavailable: float = 0.25,
        pre_stop: float | None = None,
        propagation: float = 1.0,
        poll: float = 0.5,
    ) -> simpy.Process:
        """Replace every pod of a Deployment, maxSurge / maxUnavailable at a time.

        Endpoint removal reaches the callers' Envoys `propagation` seconds after a
        pod is deleted; the container gets SIGTERM after its preStop hook (the
        workload's `pre_stop` unless given). With preStop shorter than the
        propagation, the pod refuses requests that still arrive: the difference
        is the window in which callers see connection failures.
        """
        return self.env.process(self._roll(deployment, max_surge, max_unavailable,
                                           pre_stop, propagation, poll))

    def _roll(self, dep: Deployment, max_surge: float, max_unavailable: float,  # noqa: ANN202
              pre_stop: float | None, propagation: float, poll: float):
        desired = dep.desired
        surge = math.ceil(max_surge * desired)
        unavailable = math.floor(max_unavailable * desired)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        old = set(p.name for p in dep.live)
        start = self.env.now
        self.emit(start, f"deployment/{dep.name}", "RollingUpdate",
                  f"{desired} pods, maxSurge {surge}, maxUnavailable {unavailable}")
        stop = 0.0 if pre_stop is None else pre_stop
        while True:
            live = [p for p in dep.live if p.name not in self.retiring]
            old_live = [p for p in live if p.name in old]
            new_live = [p for p in live if p.name not in old]
            if not old_live and len(new_live) >= desired and not self.retiring & old:
                break
            if not self.control_plane.available:
                yield self.env.timeout(poll)
                continue
            room = desired + surge - len(live)
            want = min(room, desired - len(new_live))
            if want > 0:
                dep.desired = len(dep.live) + want  # retiring pods still count until deleted
                dep.reconcile()
            ready = sum(1 for p in live if p.phase == "Ready")
            can_remove = ready - (desired - unavailable)
            for pod in sorted(old_live, key=lambda p: p.phase == "Ready")[:max(0, can_remove)]:
                self._retire(dep, pod, stop, propagation)
            yield self.env.timeout(poll)
        dep.desired = desired
        self.emit(self.env.now, f"deployment/{dep.name}", "RolloutComplete",
                  f"in {self.env.now - start:.1f}s")

    def _retire(self, dep: Deployment, pod: Pod, pre_stop: float, propagation: float) -> None:
        """Deleted now; out of the callers' endpoints after `propagation`; SIGTERM after preStop."""
        self.retiring.add(pod.name)
        exposed = max(0.0, propagation - pre_stop)
        self.emit(self.env.now, pod.component, "Killing",
                  f"preStop {pre_stop:g}s, endpoints updated in {propagation:g}s"
                  + (f": refuses requests for {exposed:g}s" if exposed > 0 else ""))
        if exposed > 0:
            self.env.timeout(pre_stop).callbacks.append(lambda _e: _refuse(pod))
        def deleted(_e: simpy.Event) -> None:
            self.retiring.discard(pod.name)
            dep.desired -= 1
            self.cluster.delete(pod, "rolling update")

        self.env.timeout(propagation).callbacks.append(deleted)


def _refuse(pod: Pod) -> None:
    """SIGTERM reached a server that closes its listener: new connections are refused
    at once (RST, Envoy's connect-failure, retried on another endpoint by the default
    retryOn); requests already inside finish."""
    if pod.phase == "Ready":
        pod.listening = False


def install(sim) -> NodeLifecycleController:  # noqa: ANN001 - a twin.sim Simulation
    """The controller for a Simulation: call its node_down / node_up instead of the cluster's.

    The engine builds it once the queues exist, so the broker's channels learn here
    when a node vanishes (they close a heartbeat later, with or without a control plane).
    """
    from twin.sim import broker

    controller = NodeLifecycleController(sim.env, sim.cluster, sim.topology.cluster, sim.emit,
                                         sim.streams("controller/node-lifecycle"))
    broker.follow(sim, controller)
    return controller
