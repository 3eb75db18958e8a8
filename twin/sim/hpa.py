"""HorizontalPodAutoscaler: the controller loop of kube-controller-manager, step for step.

Every `sync_period` it reads the metric, computes desired = ceil(current x metric /
target) (the replica calculator, with its tolerance and its treatment of unready,
pending and metric-less pods), stabilises scale-down over a window (the highest
recommendation in it wins), limits scale-up to max(100 %, 4 pods) per period, bounds
by min/max and writes the scale. It never creates pods itself: `scale_to` hands the
new replica count to whoever owns the pods (the core's ReplicaSet), so pods that
stay Pending because the pool is full count as desired but not ready, as in the
real cluster.

The controller touches nothing but the callables it is given (read the metric,
count the replicas, scale to n) and a control-plane view, which is why
tests/sim/test_hpa.py can hold each rule against a small stand-in workload; only
`CpuWindow`, `attach` and `install` read the core's pods and Deployments.

Sources: kubernetes `pkg/controller/podautoscaler/horizontal.go` and
`replica_calculator.go`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import simpy

from twin.model.topology import HPA

Emit = Callable[[float, str, str, str], None]
"""emit(time, source, event, detail): how every controller records what it did."""


@dataclass(frozen=True)
class PodSample:
    """What the metrics pipeline and the API server say about one pod of the workload.

    utilisation: CPU used in percent of the pod's request, averaged over the metric
    window; None when metrics-server has no sample for the pod yet.
    """

    name: str
    phase: Literal["Pending", "Running", "Terminating"] = "Running"
    ready: bool = True
    ready_since: float = 0.0
    utilisation: float | None = None


Reading = float | Sequence[PodSample]
"""cpu: the pods' samples (or, simply, the mean utilisation of ready pods);
queue_length: the number of messages in the queue (the HPA divides by the pods)."""


class ControlPlaneView(Protocol):
    """The HPA runs inside kube-controller-manager: no control plane, no scaling."""

    @property
    def available(self) -> bool: ...


@dataclass(frozen=True)
class Recommendation:
    time: float
    replicas: int


@dataclass(frozen=True)
class ScaleEvent:
    time: float
    change: int


class HPAController:
    """One HorizontalPodAutoscaler object and its share of the controller's loop."""

    def __init__(
        self,
        env: simpy.Environment,
        hpa: HPA,
        workload_name: str,
        read_metric: Callable[[], Reading],
        current_replicas: Callable[[], int],
        scale_to: Callable[[int], None],
        emit: Emit,
        *,
        control_plane: ControlPlaneView | None = None,
        first_sync: float = 0.0,
    ):
        self.env = env
        self.hpa = hpa
        self.name = workload_name
        self.read_metric = read_metric
        self.current_replicas = current_replicas
        self.scale_to = scale_to
        self.emit = emit
        self.control_plane = control_plane
        self.recommendations: list[Recommendation] = []
        self.scale_up_events: list[ScaleEvent] = []
        self.scale_down_events: list[ScaleEvent] = []
        self.desired: int | None = None
        """The last replica count the controller computed (None before the first sync)."""
        self.history: list[tuple[float, int, int]] = []
        """(time, current, desired) at every sync: what `kubectl get hpa -w` would show."""
        self.process = env.process(self._loop(first_sync))

    @property
    def source(self) -> str:
        return f"hpa/{self.name}"

    def _loop(self, first_sync: float):  # noqa: ANN202 - a SimPy process
        if first_sync > 0:
            yield self.env.timeout(first_sync)
        while True:
            if self.control_plane is None or self.control_plane.available:
                self.sync()
            yield self.env.timeout(self.hpa.sync_period)

    # ---------------------------------------------------------------- one sync

    def sync(self) -> int | None:
        """One reconcile of the HPA; returns the replica count it set, if it changed it."""
        now = self.env.now
        current = self.current_replicas()
        hpa = self.hpa
        if current == 0 and hpa.min > 0:
            return None  # scaling is disabled for a workload scaled to zero by hand
        if current > hpa.max:
            desired = hpa.max
        elif current < hpa.min:
            desired = hpa.min
        else:
            proposal = self.proposal(current)
            if proposal is None:
                self.history.append((now, current, current))
                return None
            desired = self.normalise(current, proposal)
        self.desired = desired
        self.history.append((now, current, desired))
        if desired == current:
            return None
        change = desired - current
        (self.scale_up_events if change > 0 else self.scale_down_events).append(ScaleEvent(now, change))
        self.scale_to(desired)
        reason = "above target" if change > 0 else "below target"
        if current > hpa.max or current < hpa.min:
            reason = "outside the min/max bounds"
        self.emit(now, self.source, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        return desired

    def proposal(self, current: int) -> int | None:
        """The replica calculator: the metric's recommendation, or None if it has none."""
        reading = self.read_metric()
        if self.hpa.metric == "queue_length":
            return self._queue_proposal(current, float(reading))  # type: ignore[arg-type]
        if isinstance(reading, int | float):
            ratio = reading / self.hpa.target
            if abs(1.0 - ratio) <= self.hpa.tolerance:
                return current
            return math.ceil(ratio * current)
        return self._cpu_proposal(current, reading)

    def _queue_proposal(self, current: int, messages: float) -> int:
        """External metric with an AverageValue target: messages per pod of the scale."""
        ratio = messages / (self.hpa.target * current)
        if abs(1.0 - ratio) <= self.hpa.tolerance:
            return current
        return math.ceil(messages / self.hpa.target)

    def _cpu_proposal(self, current: int, pods: Sequence[PodSample]) -> int | None:
        """GetResourceReplicas: ready pods' utilisation, then a second look at the rest.

        Pending pods and pods ready for less than the initial readiness delay are
        unready: they count as 0 % on a scale-up (damping it) and are left out
        otherwise. Pods without a sample count 0 % on a scale-up and 100 % of the
        target (at least of the request) on a scale-down.
        """
        now = self.env.now
        target = self.hpa.target
        tolerance = self.hpa.tolerance
        ready: list[float] = []
        unready: list[str] = []
        missing: list[str] = []
        for pod in pods:
            if pod.phase == "Terminating":
                continue
            if pod.phase == "Pending":
                unready.append(pod.name)
            elif pod.utilisation is None:
                missing.append(pod.name)
            elif not pod.ready or now - pod.ready_since < self.hpa.initial_readiness_delay:
                unready.append(pod.name)
            else:
                ready.append(pod.utilisation)
        if not ready:
            self.emit(now, self.source, "FailedGetResourceMetric",
                      "no ready pod has a CPU sample yet")
            return None
        ratio = sum(ready) / len(ready) / target
        scale_up_with_unready = bool(unready) and ratio > 1.0
        if not scale_up_with_unready and not missing:
            if abs(1.0 - ratio) <= tolerance:
                return current
            return math.ceil(ratio * len(ready))
        values = list(ready)
        if missing:
            if ratio < 1.0:
                values += [max(100.0, target)] * len(missing)
            elif ratio > 1.0:
                values += [0.0] * len(missing)
        if scale_up_with_unready:
            values += [0.0] * len(unready)
        new_ratio = sum(values) / len(values) / target
        if (
            abs(1.0 - new_ratio) <= tolerance
            or (ratio < 1.0 < new_ratio)
            or (ratio > 1.0 > new_ratio)
        ):
            return current
        proposed = math.ceil(new_ratio * len(values))
        if (new_ratio < 1.0 and proposed > current) or (new_ratio > 1.0 and proposed < current):
            return current
        return proposed

    # ---------------------------------------------------------- normalisation

    def normalise(self, current: int, proposal: int) -> int:
        """Stabilisation window, then the scaling policies' rate limits, then min/max."""
        now = self.env.now
        hpa = self.hpa
        if not self.recommendations and hpa.scale_down_stabilization > 0:
            # maybeInitScaleDownStabilizationWindow: a new HPA does not scale down at once
            self.recommendations.append(Recommendation(now, current))
        down_cutoff = now - hpa.scale_down_stabilization
        up = proposal  # scale-up stabilisation window is 0 by default: the proposal itself
        down = max([r.replicas for r in self.recommendations if r.time > down_cutoff] + [proposal])
        self.recommendations = [r for r in self.recommendations if r.time > down_cutoff]
        self.recommendations.append(Recommendation(now, proposal))
        stabilised = min(max(current, up), down)

        if stabilised > current:
            limit = max(self.scale_up_limit(current), current)
            return min(stabilised, hpa.max, limit)
        if stabilised < current:
            return max(stabilised, hpa.min, self.scale_down_limit(current))
        return min(max(stabilised, hpa.min), hpa.max)

    def _changed_within_period(self, events: list[ScaleEvent]) -> int:
        cutoff = self.env.now - self.hpa.sync_period
        return sum(e.change for e in events if e.time > cutoff)

    def scale_up_limit(self, current: int) -> int:
        """Policies Pods=scale_up_pods and Percent=scale_up_percent per period; the larger wins."""
        added = self._changed_within_period(self.scale_up_events)
        removed = -self._changed_within_period(self.scale_down_events)
        start = current - added + removed
        by_pods = start + self.hpa.scale_up_pods
        by_percent = math.ceil(start * (1.0 + self.hpa.scale_up_percent / 100.0))
        return max(by_pods, by_percent)

    def scale_down_limit(self, current: int) -> int:
        """Default scale-down policy: Percent=100 per period, so only the window holds it back."""
        added = self._changed_within_period(self.scale_up_events)
        removed = -self._changed_within_period(self.scale_down_events)
        start = current - added + removed
        return int(start * (1.0 - 100.0 / 100.0))


# ------------------------------------------------------------ the core's pods


class CpuWindow:
    """metrics-server for one Deployment of the core: each pod's CPU over the last window.

    Reads the pods' `cpu_seconds` meter at every sync and reports the growth since
    the previous sync as a share of the pod's request, as metrics-server's
    rate over its window would.
    """

    def __init__(self, env: simpy.Environment, pods: Callable[[], Sequence]):
        self.env = env
        self.pods = pods
        self.seen: dict[str, tuple[float, float]] = {}

    def __call__(self) -> list[PodSample]:
        now = self.env.now
        out: list[PodSample] = []
        seen: dict[str, tuple[float, float]] = {}
        for pod in self.pods():
            phase = pod.phase
            if phase in ("Deleted", "Killed", "Evicted"):
                continue
            if phase == "Pending":
                out.append(PodSample(pod.name, phase="Pending", ready=False))
                continue
            if phase == "Terminating":
                out.append(PodSample(pod.name, phase="Terminating", ready=False))
                continue
            before = self.seen.get(pod.name)
            seen[pod.name] = (now, pod.meters.cpu_seconds)
            utilisation = None
            if before is not None and now > before[0] and pod.cpu > 0:
                used = max(0.0, pod.meters.cpu_seconds - before[1])  # meters reset after warm-up
                utilisation = used / (now - before[0]) / pod.cpu * 100.0
            ready = phase == "Ready" and pod.reachable
            out.append(PodSample(pod.name, ready=ready, utilisation=utilisation,
                                 ready_since=pod.ready_at if pod.ready_at is not None else now))
        self.seen = seen
        return out


def attach(
    env: simpy.Environment,
    hpa: HPA,
    deployment,  # twin.sim.cluster.Deployment  # noqa: ANN001 - no import of the core here
    emit: Emit,
    *,
    queue_length: Callable[[], float] | None = None,
    control_plane: ControlPlaneView | None = None,
) -> HPAController:
    """An HPA on one of the core's Deployments: its pods, its desired count, its scale()."""
    if hpa.metric == "queue_length":
        if queue_length is None:
            raise ValueError(f"HPA of {deployment.name} scales on a queue: give queue_length")
        read: Callable[[], Reading] = queue_length
    else:
        read = CpuWindow(env, lambda: deployment.pods)
    return HPAController(
        env, hpa, deployment.name, read,
        lambda: deployment.desired,
        lambda n: deployment.scale(n, "hpa"),
        emit, control_plane=control_plane,
    )


def install(sim, control_plane: ControlPlaneView | None = None) -> list[HPAController]:  # noqa: ANN001
    """An HPA on every Deployment of every workload whose model has one (a twin.sim Simulation).

    queue_length reads the messages ready in the worker's queue; CPU reads the pods'
    meters. A versioned workload (a canary) has one HPA, whose scaleTargetRef is the
    primary (first) version's Deployment: the usual canary setup, where the canary
    keeps the replicas its version sets and the mesh's weights decide its share. An
    HPA with the workload's min on every version would scale a 1-pod canary to the
    primary's min at t = 0.
    """
    controllers = []
    for workload in sim.topology.workloads:
        hpa = workload.hpa
        if hpa is None:
            continue
        queue = sim.queues.get(hpa.queue) if hpa.queue else None
        primary = f"{workload.name}-{workload.versions[0].name}" if workload.versions else None
        for dep in sim.cluster.deployments.values():
            if dep.workload != workload.name or (primary is not None and dep.name != primary):
                continue
            length = (lambda q=queue: float(len(q.ready))) if queue is not None else None
            controllers.append(attach(sim.env, hpa, dep, sim.emit, queue_length=length,
                                      control_plane=control_plane))
    return controllers
