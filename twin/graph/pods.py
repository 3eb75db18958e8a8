"""The pods a topology asks for, and where a simple scheduler would put them.

Not kube-scheduler: a deterministic fit that filters nodes as the real one does
(nodeSelector, node affinity, taints, requests against allocatable, required
pod anti-affinity, hostname topology spread) and scores them by spreading a
workload's pods first, then by the least requested CPU. Good enough to say what
is on a node when it is lost and how full each node is; the simulator's own
scheduler decides the details.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.graph.placement import Node, eligible, nodes
from twin.model.topology import (
    Placement,
    Postgres,
    RabbitMQ,
    Redis,
    Resources,
    Service,
    Topology,
    Worker,
)


@dataclass(frozen=True)
class Pod:
    """One pod: the component it belongs to (`service/chat-api`) and what it requests."""

    name: str
    component: str
    namespace: str
    controller: str  # Deployment, StatefulSet or DaemonSet
    tier: str
    cpu: float
    memory: float
    placement: Placement = field(compare=False, hash=False, repr=False)
    version: str | None = None

    @property
    def workload(self) -> str:
        return self.component.split("/", 1)[1]


@dataclass
class Schedule:
    """Where each pod went (None: Pending) and what each node has requested."""

    nodes: list[Node]
    where: dict[str, str | None]
    pods: dict[str, Pod]
    requested: dict[str, tuple[float, float]]

    def on(self, node: str) -> list[Pod]:
        return [self.pods[p] for p, n in self.where.items() if n == node]

    def of(self, component: str) -> list[Pod]:
        return [p for p in self.pods.values() if p.component == component]

    @property
    def pending(self) -> list[Pod]:
        return [self.pods[p] for p, n in self.where.items() if n is None]


def _sidecar(topo: Topology, namespace: str) -> tuple[float, float]:
    ns = topo.namespace(namespace)
    if topo.mesh is None or ns is None or not ns.sidecar_injection:
        return 0.0, 0.0
    req = topo.mesh.sidecar.resources.requests
    return req.cpu, req.memory


def _pod(topo: Topology, name: str, component: str, namespace: str, controller: str, tier: str,
         resources: Resources, placement: Placement, version: str | None = None) -> Pod:
    cpu, mem = _sidecar(topo, namespace)
    return Pod(name, component, namespace, controller, tier, resources.requests.cpu + cpu,
               resources.requests.memory + mem, placement, version)


def _ns_tier(topo: Topology, namespace: str, default: str) -> str:
    ns = topo.namespace(namespace)
    return ns.tier if ns is not None else default


def store_pods(store: Postgres | Redis | RabbitMQ) -> int:
    """Servers of a store, one pod each (Redis: its sentinels run beside the servers)."""
    if isinstance(store, Postgres):
        return store.replicas
    if isinstance(store, Redis):
        return store.servers
    return 1


def pods(topo: Topology) -> list[Pod]:
    """Every pod but DaemonSets', in the order the fit places them: data, platform, apps."""
    out: list[Pod] = []
    for s in topo.stores:
        tier = _ns_tier(topo, s.namespace, "data")
        out += [_pod(topo, f"{s.name}-{i}", f"store/{s.name}", s.namespace, "StatefulSet", tier,
                     s.resources, s.placement) for i in range(store_pods(s))]
    for p in topo.platform:
        tier = _ns_tier(topo, p.namespace, "platform")
        out += [_pod(topo, f"{p.name}-{i}", f"platform/{p.name}", p.namespace, p.kind, tier,
                     p.resources, p.placement) for i in range(p.replicas)]
    for w in [*topo.services, *topo.workers]:
        kind = "service" if isinstance(w, Service) else "worker"
        tier = w.tier if isinstance(w, Service | Worker) else "business-logic"
        groups = [(v.name, v.replicas if v.replicas is not None else w.replicas)
                  for v in w.versions] or [(None, w.replicas)]
        for version, count in groups:
            base = f"{w.name}-{version}" if version else w.name
            out += [_pod(topo, f"{base}-{i}", f"{kind}/{w.name}", w.namespace, w.kind, tier,
                         w.resources, w.placement, version) for i in range(count)]
    return out


def daemon_pods(topo: Topology, node: Node) -> list[Pod]:
    out = []
    for d in topo.daemonsets:
        if eligible(d.placement, node):
            out.append(_pod(topo, f"{d.name}-{node.name}", f"daemonset/{d.name}", d.namespace,
                            "DaemonSet", _ns_tier(topo, d.namespace, "infrastructure"),
                            d.resources, d.placement))
    return out


def schedule(topo: Topology, lost: frozenset[str] = frozenset(),
             fixed: Schedule | None = None) -> Schedule:
    """Place every pod on the nodes not in `lost`.

    With `fixed`, pods that `fixed` put on surviving nodes stay there and only
    the others are placed again: what happens when the `lost` nodes go away.
    """
    live = [n for n in nodes(topo) if n.name not in lost]
    where: dict[str, str | None] = {}
    all_pods: dict[str, Pod] = {}
    used = {n.name: [0.0, 0.0] for n in live}
    count: dict[tuple[str, str], int] = {}

    def put(pod: Pod, node: str | None) -> None:
        all_pods[pod.name] = pod
        where[pod.name] = node
        if node is not None:
            used[node][0] += pod.cpu
            used[node][1] += pod.memory
            count[(pod.component, node)] = count.get((pod.component, node), 0) + 1

    for n in live:
        for pod in daemon_pods(topo, n):
            put(pod, n.name)
    todo = pods(topo)
    if fixed is not None:
        for pod in todo:
            node = fixed.where.get(pod.name)
            if node is not None and node not in lost:
                put(pod, node)
        todo = [p for p in todo if p.name not in where]
    for pod in todo:
        put(pod, _choose(pod, live, used, count))
    requested = {n: (c, m) for n, (c, m) in used.items()}
    return Schedule(live, where, all_pods, requested)


def _choose(pod: Pod, live: list[Node], used: dict[str, list[float]],
            count: dict[tuple[str, str], int]) -> str | None:
    fits = [n for n in live if eligible(pod.placement, n)
            and used[n.name][0] + pod.cpu <= n.cpu + 1e-9
            and used[n.name][1] + pod.memory <= n.memory + 1e-9
            and not _anti_affine(pod, n, count)]
    spread = [t for t in pod.placement.topology_spread
              if t.when_unsatisfiable == "DoNotSchedule" and t.topology_key == "kubernetes.io/hostname"]
    if spread and fits:
        eligible_nodes = [n for n in live if eligible(pod.placement, n)]
        low = min(count.get((pod.component, n.name), 0) for n in eligible_nodes)
        skew = min(t.max_skew for t in spread)
        fits = [n for n in fits if count.get((pod.component, n.name), 0) + 1 - low <= skew]
    if not fits:
        return None
    best = min(fits, key=lambda n: (count.get((pod.component, n.name), 0),
                                    used[n.name][0] / n.cpu if n.cpu else 1.0))
    return best.name


def _anti_affine(pod: Pod, node: Node, count: dict[tuple[str, str], int]) -> bool:
    """A required pod anti-affinity term (per hostname) forbids this node."""
    for term in pod.placement.pod_anti_affinity:
        if not term.required or term.topology_key != "kubernetes.io/hostname":
            continue
        names = term.workloads or [pod.workload]
        if any(count.get((key, node.name), 0) for key in
               (f"{k}/{w}" for w in names for k in ("service", "worker"))):
            return True
    return False
