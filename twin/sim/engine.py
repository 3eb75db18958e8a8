"""A simulated cluster built from a topology, ready to run one replication.

    sim = Simulation(topology, loads={"chat": 5}, duration=600, seed=1)
    sim.schedule(120, lambda sim: sim.kill("pod/chat-api-v1-0"))
    result = sim.run()

Components are addressable by their DESIGN.md names (`sim.component("store/redis")`),
faults and controllers act through the cluster's one pod lifecycle, and every
source of randomness draws from a stream keyed by its component's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import simpy

from twin.graph.placement import eligible
from twin.graph.placement import nodes as model_nodes
from twin.model.steps import (
    BranchStep,
    CallStep,
    EmitStep,
    ExternalStep,
    PublishStep,
    StepBase,
    StoreStep,
    StreamStep,
    route_walk,
)
from twin.model.topology import Postgres, RabbitMQ, Redis, Route, Topology
from twin.sim import causes, load
from twin.sim.broker import Queue
from twin.sim.cluster import Cluster, Deployment
from twin.sim.externals import External
from twin.sim.flows import (
    BranchPlan,
    CallPlan,
    EmitPlan,
    ExternalPlan,
    Flows,
    PublishPlan,
    Request,
    RouteRuntime,
    StorePlan,
    StreamPlan,
)
from twin.sim.mesh import Mesh, MeshRoute
from twin.sim.pod import Pod, Served
from twin.sim.rng import Streams
from twin.sim.sampling import exponential, sampler, uniform
from twin.sim.stores import Store, is_write

MAX_EVENTS = 20000


class Simulation:
    """One replication of a topology under a load."""

    def __init__(self, topology: Topology, loads: load.LoadInput | load.Loads = None,
                 duration: float = 600.0, seed: int = 0, replication: int = 0,
                 warmup: float = 0.0, interval: float | None = None):
        self.topology = topology
        self.loads = loads if isinstance(loads, load.Loads) else load.resolve(topology, loads)
        self.duration = float(duration)
        self.seed = seed
        self.replication = replication
        self.warmup = float(warmup)
        self.interval = interval or max(1.0, self.duration / 120)
        self.env = simpy.Environment()
        self.streams = Streams(seed, replication)
        self.events: list[tuple[float, str, str, str]] = []
        self.events_dropped = 0
        self.series: dict[str, list[float]] = {"t": []}
        self._build()

    # ------------------------------------------------------------------ API

    def emit(self, time: float, source: str, event: str, detail: str = "") -> None:
        """Record an event in the timeline (bounded: later ones are counted, not kept)."""
        if len(self.events) < MAX_EVENTS:
            self.events.append((time, source, event, detail))
        else:
            self.events_dropped += 1

    def schedule(self, t: float, fn: Callable[[Simulation], Any]) -> None:
        """Call fn(sim) at simulated time t (absolute seconds): the fault and action hook."""
        delay = max(0.0, t - self.env.now)
        self.env.timeout(delay).callbacks.append(lambda _e: fn(self))

    def component(self, name: str) -> Any:
        """A component by KIND/NAME (or a bare name when unique)."""
        kind, _, bare = name.rpartition("/")
        tables: dict[str, dict[str, Any]] = {
            "pod": {p.name: p for p in self.cluster.pods},
            "node": self.cluster.nodes,
            "store": self.stores,
            "queue": self.queues,
            "external": self.externals,
            "route": self.routes,
            "deployment": self.cluster.deployments,
            "service": self.workloads,
            "worker": self.workloads,
        }
        if kind:
            if kind not in tables or bare not in tables[kind]:
                raise KeyError(f"no component {name!r}")
            return tables[kind][bare]
        found = [t[bare] for t in tables.values() if bare in t]
        if len(found) != 1:
            raise KeyError(f"{name!r} names {len(found)} components; say KIND/NAME")
        return found[0]

    def pods(self, workload: str) -> list[Pod]:
        return [p for p in self.cluster.pods if p.workload == workload]

    # faults, through the one lifecycle
    def kill(self, pod: str, reason: str = "killed") -> None:
        self.cluster.kill(self.component(pod if "/" in pod else f"pod/{pod}"), reason)

    def crash(self, pod: str, reason: str = "container exited") -> None:
        """The pod's process exits (segfault, OOM kill): the kubelet restarts it in place."""
        self.cluster.crash(self.component(pod if "/" in pod else f"pod/{pod}"), reason)

    def node_down(self, node: str) -> None:
        """Through the node lifecycle controller: grace, taint, eviction."""
        self.node_lifecycle.node_down(node.rpartition("/")[2])

    def node_up(self, node: str) -> None:
        self.node_lifecycle.node_up(node.rpartition("/")[2])

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 50):
        """Run to the end; returns the ReplicationResult."""
        from twin.sim.report import replication_result

        if self.warmup > 0:
            self.env.timeout(self.warmup).callbacks.append(lambda _e: self._reset_meters())
        self.env.process(self._sample_series())
        if progress is None:
            self.env.run(until=self.duration)
        else:
            for i in range(1, steps + 1):
                self.env.run(until=self.duration * i / steps)
                progress(i / steps)
        return replication_result(self)

    # ---------------------------------------------------------------- build

    def _build(self) -> None:
        topo = self.topology
        env = self.env
        self.cluster = Cluster(env, model_nodes(topo), self.emit, topo.cluster.grace_period,
                               topo.cluster.default_toleration_seconds)
        self.flows = Flows(env, uniform(self.streams("flows/faults")))
        self.stores: dict[str, Store] = {s.name: Store(env, s, self.streams, self.emit)
                                         for s in topo.stores}
        self.queues: dict[str, Queue] = {}
        for s in topo.stores:
            if isinstance(s, RabbitMQ):
                for q in s.queues:
                    queue = Queue(env, q, topo.consumer(q.name), self.emit)
                    queue.task = self.flows.task(queue)
                    queue.on_drop = self.flows.lost
                    self.queues[q.name] = queue
        self.broker_of = {q.name: s.name for s in topo.stores if isinstance(s, RabbitMQ)
                          for q in s.queues}
        self.externals = {e.name: External(env, e, self.streams) for e in topo.externals}
        self.mesh = Mesh(env, topo, self.cluster, self.streams, self.emit)
        self.workloads = {w.name: w for w in topo.workloads}
        # what each workload version served (twin.sim.pod.Served), by (workload, version)
        self.served: dict[tuple[str, str], Served] = {}
        self.routes: dict[str, RouteRuntime] = {}
        for r in topo.routes:
            rt = RouteRuntime(r.name, r.asynchronous)
            entry = None
            if topo.mesh is not None and any(v.name == r.entry for v in topo.mesh.virtual_services):
                entry = self.mesh.entry(r.entry, r.match)
            rt.plans = self._compile(r, entry)
            self.routes[r.name] = rt
        self._watch()
        self._deploy()
        self._controllers()
        self._arrivals()

    def _controllers(self) -> None:
        """kube-controller-manager's node lifecycle and HPAs, and Patroni for PostgreSQL:
        all stop while the control-plane node is down (they run there)."""
        from twin.sim import hpa, node_lifecycle, patroni

        self.node_lifecycle = node_lifecycle.install(self)
        self.control_plane = self.node_lifecycle.control_plane
        self.cluster.control_plane = self.control_plane
        self.hpas = hpa.install(self, self.control_plane)
        self.postgres: dict[str, patroni.PostgresCluster] = {}
        for s in self.topology.stores:
            if isinstance(s, Postgres):
                pg = patroni.PostgresCluster(self.env, s, self.emit,
                                             self.streams(f"store/{s.name}/patroni"))
                self.stores[s.name].use(pg)
                pg.follow_nodes(self.node_lifecycle, self.cluster)
                self.postgres[s.name] = pg

    def _compile(self, route: Route, entry: MeshRoute | None) -> list:
        """The route's steps as plans, each plan's inner ones (a call's or a publish's
        steps, a branch's choices, its fallback) in its own lists. Only the route's own
        steps enter through `entry` (the gateway's route to its VirtualService)."""
        top: list = []
        plans: dict[tuple, Any] = {}
        for step, ctx in route_walk(self.topology, route):
            plan = self._plan(step, _stream_key(route.name, ctx.path),
                              entry if ctx.parent is None else None)
            plans[ctx.path] = plan
            if ctx.parent is None:
                top.append(plan)
                continue
            owner = plans[ctx.parent.path]
            if ctx.slot == "branch":
                owner.branches[ctx.choice].append(plan)
            else:  # a call's or a publish's `steps`, or the fallback
                getattr(owner, ctx.slot).append(plan)
        return top

    def _plan(self, step: StepBase, key: str, entry: MeshRoute | None):
        """One step's plan, its inner lists still empty (the walk fills them)."""
        f = self.flows
        if isinstance(step, CallStep | StoreStep | ExternalStep):
            cause = causes.from_error_kind(step.error_kind) if step.error_kind else None
            sample = sampler(step.service_time, self.streams(f"{key}/service_time")) \
                if step.service_time else None
        if isinstance(step, CallStep):
            p = CallPlan(f, step.on_failure)
            route = entry if entry is not None and any(
                b.service == step.call for b in entry.backends) else self.mesh.internal(step.call)
            p.route = route
            p.steps = []
            p.sample = sample
            p.error_rate = step.error_rate
            p.error_cause = cause
            timeouts = [t for t in (step.timeout, route.timeout) if t is not None]
            p.timeout = min(timeouts) if timeouts else None
            per_try = route.per_try_timeout
            if per_try is not None and p.timeout is not None:
                per_try = min(per_try, p.timeout)
            p.per_try = per_try if per_try is not None else p.timeout
            p.simple = (route.tries == 1 and p.timeout is None and p.per_try is None
                        and route.fault is None)
            return p
        if isinstance(step, StoreStep):
            p = StorePlan(f, step.on_failure)
            p.store = self.stores[step.store]
            p.write = is_write(step.op)
            p.sample = sample
            p.error_rate = step.error_rate
            p.error_cause = cause or causes.SERVER_ERROR
            return p
        if isinstance(step, PublishStep):
            p = PublishPlan(f, step.on_failure)
            p.queue = self.queues[step.publish]
            p.broker = self.stores[self.broker_of[step.publish]]
            p.steps = []
            return p
        if isinstance(step, ExternalStep):
            p = ExternalPlan(f, step.on_failure)
            p.external = self.externals[step.external]
            p.sample = sample
            p.error_rate = step.error_rate
            p.error_cause = cause
            p.timeout = step.timeout
            return p
        if isinstance(step, StreamStep):
            p = StreamPlan(f, step.on_failure)
            p.backend = self.mesh.backend(step.stream)
            dist = step.duration or step.service_time
            p.duration = sampler(dist, self.streams(f"{key}/duration")) if dist else (lambda: 30.0)
            return p
        if isinstance(step, EmitStep):
            p = EmitPlan(f, step.on_failure)
            p.count = step.count
            p.target = self.mesh.backend(step.emit)
            p.first = None
            p.hops = []
            for via in step.via:
                if via in self.stores:
                    if p.first is None and not p.hops:
                        p.first = self.stores[via]
                    else:
                        p.hops.append(("store", self.stores[via]))
                else:
                    p.hops.append(("service", self.mesh.backend(via)))
                    # after a service hop the event goes out again through the store (Pub/Sub)
                    if p.first is not None:
                        p.hops.append(("store", p.first))
            return p
        assert isinstance(step, BranchStep)
        p = BranchPlan(f, step.on_failure)
        p.draw = uniform(self.streams(f"{key}/branch"))
        total = 0.0
        p.cumulative, p.branches = [], []
        for b in step.branch:
            total += b.probability
            p.cumulative.append(total)
            p.branches.append([])
        return p

    def _watch(self) -> None:
        """Store clients open pools when their pods get ready; queues see their consumers."""
        for w in self.topology.workloads:
            clients = [(self.stores[c.store], c.pool) for c in w.clients if c.store in self.stores]
            if clients:
                def changed(pod: Pod, ready: bool, clients=clients) -> None:
                    for store, size in clients:
                        if ready:
                            store.connect(pod, size)
                        else:
                            store.disconnect(pod)
                self.cluster.watch(w.name, changed)
        for q in self.queues.values():
            if q.worker is not None:
                self.cluster.watch(q.worker.name, q.consumer_changed)
        for s in self.stores.values():
            self.cluster.watch(f"store-{s.name}", s.server_changed)

    def _deploy(self) -> None:
        topo = self.topology
        cl = self.cluster
        mesh = topo.mesh
        for ds in topo.daemonsets:
            for node in cl.node_list:
                if not eligible(ds.placement, node.spec):
                    continue
                placement = ds.placement.model_copy(update={"node_selector": {
                    **ds.placement.node_selector, "kubernetes.io/hostname": node.name}})
                pod = Pod(f"{ds.name}-{node.name}", ds.name, "daemonset", {}, placement,
                          ds.resources.requests.cpu, ds.resources.requests.memory)
                cl.add(pod, 0.0)
        for s in topo.stores:
            servers = s.replicas if isinstance(s, Postgres) else s.servers if isinstance(s, Redis) else 1

            def make(name: str, s=s) -> Pod:
                return Pod(name, f"store-{s.name}", "store", {"app": s.name}, s.placement,
                           s.resources.requests.cpu, s.resources.requests.memory)
            self._deployment(s.name, f"store-{s.name}", "store", "StatefulSet", servers, make, s.restart)
        for pc in topo.platform:
            def make(name: str, pc=pc) -> Pod:
                return Pod(name, pc.name, "platform", {}, pc.placement, pc.resources.requests.cpu,
                           pc.resources.requests.memory)
            self._deployment(pc.name, pc.name, "platform", pc.kind, pc.replicas, make, 5.0)
        for w in [*topo.services, *topo.workers]:
            kind = "worker" if w in topo.workers else "service"
            ns = topo.namespace(w.namespace)
            sidecar = mesh.sidecar.resources.requests if (
                mesh is not None and (ns is None or ns.sidecar_injection)) else None
            versions = w.versions or [None]
            for v in versions:
                vname = v.name if v is not None else "v1"
                dname = f"{w.name}-{vname}" if w.versions else w.name
                replicas = v.replicas if v is not None and v.replicas is not None else w.replicas
                labels = {"app": w.name, "version": vname, **w.labels, **(v.labels if v else {})}
                key = f"{kind}/{w.name}" + (f"/{vname}" if v is not None and (
                    v.service_time or v.error_rate is not None) else "")
                dist = v.service_time if v is not None and v.service_time else w.service_time
                sample = sampler(dist, self.streams(f"{key}/service_time"))
                draw = uniform(self.streams(f"{key}/errors"))
                rate = v.error_rate if v is not None and v.error_rate is not None else w.error_rate
                cpu = w.resources.requests.cpu + (sidecar.cpu if sidecar else 0.0)
                memory = w.resources.requests.memory + (sidecar.memory if sidecar else 0.0)

                served = self.served[(w.name, vname)] = Served()

                def make(name: str, w=w, kind=kind, labels=labels, sample=sample, draw=draw,
                         rate=rate, cpu=cpu, memory=memory, served=served) -> Pod:
                    pod = Pod(name, w.name, kind, labels, w.placement, cpu, memory,
                              w.concurrency, cpu_share=w.cpu_share)
                    pod.served = served
                    pod.sample = sample
                    pod.draw = draw
                    pod.error_rate = rate
                    pod.error_cause = causes.from_error_kind(w.error_kind)
                    if kind == "worker":
                        pod.channel.prefetch_limit = w.prefetch * w.concurrency
                    return pod
                self._deployment(dname, w.name, kind, w.kind, replicas, make, w.startup,
                                 w.termination_grace)

    def _deployment(self, name: str, workload: str, kind: str, controller: str, replicas: int,
                    make: Callable[[str], Pod], startup: float, grace: float = 30.0) -> None:
        d = Deployment(self.cluster, name, workload, kind, controller, replicas, make, startup, grace)
        self.cluster.deployments[name] = d
        d.reconcile(startup=0.0)  # the cluster is up at time 0

    def _arrivals(self) -> None:
        env = self.env
        flows = self.flows
        for name, spec in self.loads.open.items():
            rt = self.routes[name]
            if spec.peak <= 0:
                continue
            gap = exponential(self.streams(f"route/{name}/arrivals"), 1.0 / spec.peak)
            accept = load.thinning(spec, uniform(self.streams(f"route/{name}/thinning")))
            self._open(rt, gap, accept)
        for name, spec in self.loads.closed.items():
            rt = self.routes[name]
            think = exponential(self.streams(f"route/{name}/think"), spec.think)
            for _ in range(spec.users):
                env.process(self._user(rt, think))
        del flows

    def _open(self, rt: RouteRuntime, gap: Callable[[], float],
              accept: Callable[[float], bool] | None) -> None:
        env = self.env
        run_route = self.flows.run_route
        process = env.process
        timeout = env.timeout

        def arrive(_ev: Any) -> None:
            now = env._now
            if accept is None or accept(now):
                process(run_route(rt, Request(rt, now)))
            timeout(gap()).callbacks.append(arrive)

        timeout(gap()).callbacks.append(arrive)

    def _user(self, rt: RouteRuntime, think: Callable[[], float]):
        env = self.env
        while True:
            yield env.timeout(think())
            yield from self.flows.run_route(rt, Request(rt, env.now))

    # -------------------------------------------------------------- meters

    def _reset_meters(self) -> None:
        now = self.env.now
        for rt in self.routes.values():
            rt.reset_meters(now)
        for pod in self.cluster.pods:
            pod.meters.reset(now)
        for s in self.stores.values():
            s.reset_meters(now)
        for q in self.queues.values():
            q.reset_meters(now)
        for e in self.externals.values():
            e.reset_meters()
        for r in self.mesh.routes.values():
            r.retries = r.attempts = 0
        self.flows.streams_open.reset(now)

    def _sample_series(self):
        from twin.sim.report import sample_series

        env = self.env
        while True:
            yield env.timeout(self.interval)
            sample_series(self)


def _stream_key(route: str, path: tuple) -> str:
    """A step's name for its random streams, as it always was (`route/chat/0/steps/2`,
    `.../fallback/0`, `.../branch/1/0`): no `steps` at the top nor after a branch choice,
    so that the same seed still draws the same numbers."""
    parts = [str(p) for i, p in enumerate(path)
             if not (p == "steps" and (i == 0 or path[i - 2] == "branch"))]
    return "/".join([f"route/{route}", *parts])
