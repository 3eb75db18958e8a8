"""Replica counts in the model's terms and the analytical model's: per workload version.

An HPA scales its workload's first version (the canary keeps the replicas its
version sets, twin.sim.hpa.install); `with_replicas` writes such a count back
into a topology so that the placement can be asked about it, pinning the other
versions at what they run now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from twin.capacity.traffic import Network
from twin.graph.pods import Schedule
from twin.model.topology import Topology, Workload


def _scaled(w: Workload, n: int) -> Workload:
    if not w.versions:
        return w.model_copy(update={"replicas": n})
    versions = [v.model_copy(update={"replicas": n if i == 0 else
                                     (v.replicas if v.replicas is not None else w.replicas)})
                for i, v in enumerate(w.versions)]
    return w.model_copy(update={"versions": versions})


def with_replicas(topo: Topology, counts: Mapping[str, int]) -> Topology:
    """The topology with each named workload's first version at `counts[name]` pods."""
    if not counts:
        return topo
    services = [_scaled(w, counts[w.name]) if w.name in counts else w for w in topo.services]
    workers = [_scaled(w, counts[w.name]) if w.name in counts else w for w in topo.workers]
    return topo.model_copy(update={"services": services, "workers": workers})


def by_workload(net: Network, replicas: Mapping[str, int]) -> dict[str, int]:
    """Station counts as {workload: pods of its first version}, for with_replicas."""
    out = {}
    for name, keys in net.groups.items():
        if keys and keys[0] in replicas:
            out[name] = replicas[keys[0]]
    return out


def placed(net: Network, where: Schedule) -> dict[str, int]:
    """Pods per station that the placement put on a node (Pending ones serve nothing)."""
    count: Counter[str] = Counter()
    for name, node in where.where.items():
        if node is None:
            continue
        pod = where.pods[name]
        if pod.controller == "DaemonSet" or not pod.component.startswith(("service/", "worker/")):
            continue
        key = pod.component if pod.version is None else f"{pod.component}@{pod.version}"
        count[key] += 1
    return {k: count.get(k, 0) for k, s in net.stations.items() if s.kind in ("service", "worker")}
