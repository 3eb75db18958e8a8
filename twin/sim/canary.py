"""A canary release in the simulator: Flagger's controller reading the mesh's meters.

Every interval it reads what Prometheus would hold of the canary's version (its tries,
failures and p99, from twin.sim.pod.Served, as Istio's sidecars count them), asks the
judge (twin.canary.judge) and lets the analysis (twin.canary.analysis) move the
VirtualService's weights. Weights split new HTTP requests only: a queue's consumers take
what their replicas take, and an open SSE stream stays on the pod that holds it. The
canary's regression (how its version differs, phase by phase) is applied to that
version's pods, and to the primary's once it is promoted (the primary then runs it).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from twin.canary import judge
from twin.canary.analysis import Analysis
from twin.canary.spec import Canary, Phase
from twin.sim.stats import Histogram

if TYPE_CHECKING:
    from twin.result.model import CanaryOutcome
    from twin.sim.engine import Simulation
    from twin.sim.mesh import MeshRoute
    from twin.sim.pod import Pod, Served


class Meter:
    """One version's tries since the last read: deltas of its cumulative Served."""

    def __init__(self, served: Served):
        self.served = served
        self.tries, self.failed, self.latency = served.tries, served.failed, served.latency.copy()

    def read(self) -> tuple[int, int, Histogram]:
        s = self.served
        out = (s.tries - self.tries, s.failed - self.failed, s.latency.since(self.latency))
        self.tries, self.failed, self.latency = s.tries, s.failed, s.latency.copy()
        return out


def _window(tries: int, failed: int, h: Histogram) -> judge.Window:
    return judge.Window(tries, failed, h.quantile(0.99) if h.count else 0.0)


class CanaryController:
    def __init__(self, sim: Simulation, spec: Canary):
        self.sim = sim
        self.spec = spec
        svc = sim.topology.workload(spec.service)
        self.component = f"canary/{spec.service}"
        self.analysis = Analysis(spec, f"{spec.service}.{svc.namespace if svc else ''}")
        self.routes: list[MeshRoute] = [
            r for r in sim.mesh.routes.values() if r.name == f"vs/{spec.virtual_service}"
            and any(b.service == spec.service and b.subset == spec.canary
                    for b, _ in r.destinations)]
        self.canary = sim.served[(spec.service, spec.canary)]
        self.primary = sim.served[(spec.service, spec.primary)]
        self.impact = Meter(self.canary)  # read once, at the decision (or the end)
        self.base: dict[str, tuple[Callable[[], float], float]] = {}  # pod -> its own sample, rate
        self.applied: dict[str, int] = {}  # pod -> the phase it runs (its index; -1: none)
        self.samples: dict[str, tuple[list[float], list[float]]] = {"error_rate": ([], []),
                                                                    "p99": ([], [])}
        self.outcome_at_decision: tuple[int, int, int] | None = None

    @property
    def weight(self) -> int:
        return self.analysis.weight

    def start(self) -> None:
        env = self.sim.env
        env.process(self._analysis())
        if self.spec.judge == "statistical":
            env.process(self._sampling())
        for p in self.spec.regression:
            self.sim.schedule(p.at, lambda _s: self._regress())
        self._regress()

    # ------------------------------------------------------------ the release

    def _regress(self) -> None:
        """The phase in force on the pods that run the canary's version."""
        phase = self.spec.phase_at(self.sim.env.now)
        key = next((i for i, p in enumerate(self.spec.regression) if p is phase), -1)
        promoted = self.analysis.decision == "promoted"
        for pod in self.sim.cluster.pods:
            if pod.workload != self.spec.service:
                continue
            if pod.version == self.spec.canary or (promoted and pod.version == self.spec.primary):
                self._apply(pod, phase, key)

    def _apply(self, pod: Pod, phase: Phase, key: int) -> None:
        if self.applied.get(pod.name) == key:
            return
        base = self.base.setdefault(pod.name, (pod.sample, pod.error_rate))
        sample, rate = base
        factor = phase.latency_factor
        pod.sample = sample if factor == 1.0 else (lambda s=sample, f=factor: s() * f)
        pod.error_rate = rate if phase.error_rate is None else phase.error_rate
        self.applied[pod.name] = key

    def _weights(self) -> None:
        w = self.analysis.weight
        for r in self.routes:
            r.set_weights({self.spec.canary: w, self.spec.primary: 100 - w})

    def _say(self, step: Any) -> None:
        if step is not None:
            self.sim.emit(step.t, self.component, step.event, step.message)

    def _analysis(self) -> Generator[Any, Any, None]:
        env, spec, a = self.sim.env, self.spec, self.analysis
        self._say(a.start(env.now))
        self._weights()
        meter = Meter(self.canary)
        while a.decision is None:
            yield env.timeout(spec.interval)
            self._regress()  # pods started since (a restart, a new replica) run it too
            tries, failed, h = meter.read()
            step = a.tick(env.now, self._judge(_window(tries, failed, h)))
            self._say(step)
            self._weights()
            if a.decision is not None:
                self._decided()
                return

    def _judge(self, canary: judge.Window) -> judge.Verdict:
        spec = self.spec
        if spec.judge == "statistical":
            st = spec.statistical
            return judge.statistical(self.samples, st.confidence, st.pass_score, st.marginal_score)
        m = spec.metrics
        return judge.threshold(canary, m.request_success_rate, m.request_duration,
                               self.analysis.name)

    def _sampling(self) -> Generator[Any, Any, None]:
        """Kayenta's samples: each version's error rate and p99 per sample window."""
        env = self.sim.env
        meters = (Meter(self.canary), Meter(self.primary))
        while self.analysis.decision is None:
            yield env.timeout(self.spec.statistical.sample)
            for side, meter in enumerate(meters):
                tries, failed, h = meter.read()
                if tries:
                    self.samples["error_rate"][side].append(failed / tries)
                    self.samples["p99"][side].append(h.quantile(0.99))

    def _decided(self) -> None:
        self.outcome_at_decision = self._impact()
        self._regress()  # a promoted version now runs in the primary's pods too

    def _impact(self) -> tuple[int, int, int]:
        tries, failed, h = self.impact.read()
        bound = self.spec.metrics.request_duration
        slow = round(h.fraction_above(bound) * h.count) if bound is not None else 0
        return tries, failed, slow

    # ------------------------------------------------------------- the record

    def outcome(self) -> CanaryOutcome:
        from twin.result.model import CanaryOutcome, CanaryStep

        a, spec = self.analysis, self.spec
        tries, failed, slow = self.outcome_at_decision or self._impact()
        return CanaryOutcome(
            service=spec.service, canary=spec.canary, strategy=spec.strategy, judge=spec.judge,
            decision=a.decision, decided_at=a.decided_at, detected_at=a.detected_at,
            first_failure=a.first_failure, canary_tries=tries, failed_tries=failed,
            slow_tries=slow,
            steps=[CanaryStep(t=s.t, event=s.event, message=s.message, weight=s.weight)
                   for s in a.steps])


__all__ = ["CanaryController"]
