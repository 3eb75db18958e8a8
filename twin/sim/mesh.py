"""The Istio mesh as routing tables resolved once at build time.

A `MeshRoute` is what Envoy does for one call: pick a weighted destination
(VirtualService `route[].weight`), then try up to 1 + attempts times, each try
on an endpoint the DestinationRule's load balancer picks among ready,
non-ejected pods of the subset, under the connection-pool limit, the per-try
timeout and the route timeout. `Host` holds what a DestinationRule keeps per
host: the pool counter and outlier detection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import simpy

from twin.model.topology import (
    DestinationRule,
    HTTPRoute,
    Retries,
    Topology,
    VirtualService,
)
from twin.sim import causes
from twin.sim.cluster import Cluster
from twin.sim.pod import Pod
from twin.sim.sampling import uniform

CONNECT_TIMEOUT = 10.0  # Istio's default connectTimeout
FIVE_XX = frozenset({causes.SERVER_ERROR, causes.RESET, causes.TIMEOUT, causes.CONNECT_FAILURE})

Emit = Callable[[float, str, str, str], None]


class Host:
    """Per destination host: connection-pool limit and outlier detection (DestinationRule)."""

    def __init__(self, env: simpy.Environment, name: str, rule: DestinationRule | None, emit: Emit):
        self.env = env
        self.name = name
        self.emit = emit
        self.inflight = 0
        # tries that reached no pod (no endpoint, pool overflow, an injected abort): the
        # callers' sidecars count them for the service, with no version (Istio's `unknown`)
        self.unserved = 0
        self.limit = 0  # 0: unlimited
        self.outlier = None
        self.lb = "LEAST_REQUEST"
        self.backends: list[Backend] = []
        self.ejected: list[Pod] = []
        if rule is not None:
            self.lb = rule.load_balancer
            pool = rule.connection_pool
            if pool is not None:
                if pool.http2_max_requests:
                    self.limit = pool.http2_max_requests
                elif pool.max_connections or pool.http1_max_pending_requests:
                    self.limit = (pool.max_connections or 1024) + (pool.http1_max_pending_requests or 1024)
            od = rule.outlier_detection
            if od is not None and od.consecutive_5xx_errors > 0:
                self.outlier = od

    def observe(self, pod: Pod, cause: str | None) -> None:
        """Outlier detection: consecutive 5xx (locally originated included) eject the endpoint."""
        od = self.outlier
        state = pod.outlier
        if cause is None or cause not in FIVE_XX:
            state.consecutive_5xx = 0
            return
        state.consecutive_5xx += 1
        if state.consecutive_5xx < od.consecutive_5xx_errors or state.ejected:
            return
        total = max(len(b.members) for b in self.backends) if self.backends else 1
        total = sum(len(b.members) for b in self.backends) or total
        allowed = max(1, math.floor(od.max_ejection_percent * total / 100))
        if len(self.ejected) >= allowed:
            return
        state.ejected = True
        state.ejections += 1
        state.consecutive_5xx = 0
        self.ejected.append(pod)
        for b in self.backends:
            if pod in b.endpoints:
                b.endpoints.remove(pod)
        span = od.base_ejection_time * state.ejections
        until = math.ceil((self.env.now + span) / od.interval) * od.interval
        self.emit(self.env.now, pod.component, "OutlierEjected",
                  f"{od.consecutive_5xx_errors} consecutive 5xx; back at {until:g}s")
        self.env.timeout(until - self.env.now).callbacks.append(lambda _e: self._unject(pod))

    def _unject(self, pod: Pod) -> None:
        if not pod.outlier.ejected:
            return
        pod.outlier.ejected = False
        self.ejected.remove(pod)
        self.emit(self.env.now, pod.component, "OutlierUnejected", "ejection time over")
        if pod.phase == "Ready":
            for b in self.backends:
                if pod in b.members and pod not in b.endpoints:
                    b.endpoints.append(pod)


@dataclass
class InjectedFault:
    """Fault injection on a route, as Istio's HTTPFaultInjection does it: the topology's
    own, or a scenario's; `subset` narrows it to the tries bound for one subset (a route
    rule whose destination is that subset, e.g. the canary's v2)."""

    delay: float | None = None
    delay_percent: float = 100.0
    abort_status: int | None = None
    abort_percent: float = 100.0
    subset: str | None = None
    calls: int = 0  # calls that met it (its subset's share, when it has one)


class Backend:
    """One subset of a service (all its pods when no subset): endpoints and the balancer."""

    def __init__(self, cluster: Cluster, host: Host, service: str, labels: dict[str, str],
                 uniform: Callable[[], float], hop: float, subset: str | None = None):
        self.host = host
        self.service = service
        self.subset = subset
        self.labels = labels
        self.u = uniform
        self.hop = hop  # Envoy latency added per try (client and server sidecars)
        self.members: list[Pod] = []  # ready pods of the subset, ejected or not
        self.endpoints: list[Pod] = []  # what the balancer sees
        self.rr = -1
        self.lb = host.lb
        host.backends.append(self)
        cluster.watch(service, self._changed)

    def _changed(self, pod: Pod, ready: bool) -> None:
        if any(pod.labels.get(k) != v for k, v in self.labels.items()):
            return
        if ready:
            if pod not in self.members:
                self.members.append(pod)
            if not pod.outlier.ejected and pod not in self.endpoints:
                self.endpoints.append(pod)
        else:
            if pod in self.members:
                self.members.remove(pod)
            if pod in self.endpoints:
                self.endpoints.remove(pod)

    def pick(self, avoid: Pod | None = None) -> Pod | None:
        eps = self.endpoints
        n = len(eps)
        if n <= 1:
            return eps[0] if n else None
        lb = self.lb
        for _ in range(2):  # a retry avoids the previous host when it can
            if lb == "ROUND_ROBIN":
                self.rr = (self.rr + 1) % n
                pod = eps[self.rr]
            elif lb == "RANDOM":
                pod = eps[int(self.u() * n)]
            else:  # LEAST_REQUEST: the less loaded of two random endpoints
                a = eps[int(self.u() * n)]
                b = eps[int(self.u() * n)]
                sa, sb = a.slots, b.slots  # Slots.load, inlined: every pick compares two
                pod = a if sa.busy + len(sa.waiting) <= sb.busy + len(sb.waiting) else b
            if pod is not avoid:
                return pod
        return pod


class MeshRoute:
    """One resolved HTTP route: weighted backends, timeout, retry policy, fault injection."""

    __slots__ = ("name", "destinations", "backends", "only", "cumulative", "total", "u",
                 "timeout", "tries", "per_try_timeout", "retry_on", "backoff", "fault", "retries",
                 "attempts")

    def __init__(self, name: str, backends: list[tuple[Backend, int]], u: Callable[[], float],
                 timeout: float | None, retries: Retries | None, fault=None):
        self.name = name
        self.destinations = list(backends)  # every route[] entry, weight 0 included
        self._weigh()
        self.u = u
        self.timeout = timeout
        self.tries = 1 + (retries.attempts if retries else 0)
        self.per_try_timeout = retries.per_try_timeout if retries else None
        if self.per_try_timeout is None:
            self.per_try_timeout = timeout
        self.retry_on = causes.retried(retries.retry_on) if retries else frozenset()
        self.backoff = retries.backoff if retries else 0.0
        self.fault = fault
        self.retries = 0  # meters: retries made, tries made
        self.attempts = 0

    def _weigh(self) -> None:
        weighted = [(b, w) for b, w in self.destinations if w > 0] or self.destinations[:1]
        self.backends = [b for b, _ in weighted]
        self.only = self.backends[0] if len(self.backends) == 1 else None  # no split to draw
        total = 0
        self.cumulative = []
        for _, w in weighted:
            total += w
            self.cumulative.append(total)
        self.total = total

    def set_weights(self, weights: dict[str | None, int]) -> None:
        """New weights by subset (a canary's step): new requests split by them from now
        on; tries already under way stay where they are."""
        self.destinations = [(b, weights.get(b.subset, w)) for b, w in self.destinations]
        self._weigh()

    def choose(self) -> Backend:
        if self.only is not None:
            return self.only
        x = self.u() * self.total
        for b, c in zip(self.backends, self.cumulative, strict=True):
            if x < c:
                return b
        return self.backends[-1]


class Mesh:
    """Builds and caches hosts, backends and routes for a topology."""

    def __init__(self, env: simpy.Environment, topology: Topology, cluster: Cluster,
                 streams: Callable, emit: Emit):
        self.env = env
        self.topology = topology
        self.cluster = cluster
        self.streams = streams
        self.emit = emit
        self.model = topology.mesh
        self.hosts: dict[str, Host] = {}
        self.backends: dict[tuple[str, str | None], Backend] = {}
        self.routes: dict[str, MeshRoute] = {}
        rules = {r.host: r for r in self.model.destination_rules} if self.model else {}
        self.rules = rules

    def hop(self, service: str) -> float:
        if self.model is None:
            return 0.0
        svc = self.topology.workload(service)
        ns = self.topology.namespace(svc.namespace) if svc else None
        injected = ns.sidecar_injection if ns else True
        return 2 * self.model.sidecar.latency if injected else self.model.sidecar.latency

    def host(self, service: str) -> Host:
        h = self.hosts.get(service)
        if h is None:
            h = self.hosts[service] = Host(self.env, service, self.rules.get(service), self.emit)
        return h

    def backend(self, service: str, subset: str | None = None) -> Backend:
        key = (service, subset)
        b = self.backends.get(key)
        if b is None:
            labels: dict[str, str] = {}
            rule = self.rules.get(service)
            if subset is not None and rule is not None:
                labels = next((s.labels for s in rule.subsets if s.name == subset), {})
            b = self.backends[key] = Backend(
                self.cluster, self.host(service), service, labels,
                uniform(self.streams(f"service/{service}/lb")), self.hop(service), subset)
        return b

    def _http(self, vs: VirtualService, uri: str | None) -> HTTPRoute:
        for http in vs.http:
            if not http.match:
                return http
            for m in http.match:
                if m.uri_exact is not None and uri == m.uri_exact:
                    return http
                if m.uri_prefix is not None and uri is not None and uri.startswith(m.uri_prefix):
                    return http
                if uri is None and m.uri_prefix is not None:
                    continue
        return vs.http[0]

    def entry(self, vs_name: str, uri: str | None) -> MeshRoute:
        """The gateway's route for a user route entering at a VirtualService."""
        key = f"vs/{vs_name}/{uri}"
        r = self.routes.get(key)
        if r is None:
            vs = next(v for v in self.model.virtual_services if v.name == vs_name)
            http = self._http(vs, uri)
            r = self.routes[key] = self._resolve(f"vs/{vs_name}", http)
        return r

    def _resolve(self, name: str, http: HTTPRoute) -> MeshRoute:
        backends = [(self.backend(d.host, d.subset), d.weight) for d in http.route]
        retries = http.retries if http.retries is not None else self.model.default_retries
        fault = InjectedFault(**http.fault.model_dump()) if http.fault is not None else None
        return MeshRoute(name, backends, uniform(self.streams(f"{name}/split")), http.timeout, retries,
                         fault)

    def internal(self, service: str) -> MeshRoute:
        """A call from inside the mesh: a mesh-bound VirtualService for the host, or the
        host directly with the mesh's default retries (no timeout unless the step sets one)."""
        key = f"svc/{service}"
        r = self.routes.get(key)
        if r is None:
            if self.model is None:
                r = MeshRoute(key, [(self.backend(service), 100)], lambda: 0.0, None, None)
            else:
                vs = next((v for v in self.model.virtual_services
                           if service in v.hosts and ("mesh" in v.gateways or not v.gateways)), None)
                if vs is not None:
                    r = self._resolve(f"vs/{vs.name}", vs.http[0])
                else:
                    r = MeshRoute(key, [(self.backend(service), 100)], lambda: 0.0, None,
                                  self.model.default_retries)
            self.routes[key] = r
        return r
