"""Where a new pod goes: kube-scheduler's filters and a least-allocated score.

Filters: nodeSelector, node affinity, taints and tolerations (from
twin.graph.placement), CPU and memory requests against allocatable, required
pod affinity and anti-affinity, topology spread with DoNotSchedule. Score:
fewest pods of the same workload on the node (the default spreading), then
most free room, then the topology's node order, so that placement is
deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from twin.graph.placement import eligible, why_not
from twin.model.topology import Placement

if TYPE_CHECKING:
    from twin.sim.pod import Pod, SimNode


def _domain(node: SimNode, key: str) -> str | None:
    return node.spec.labels.get(key)


def _affinity_ok(pod: Pod, node: SimNode, placed: Iterable[Pod]) -> str:
    placement: Placement = pod.placement
    placed = list(placed)
    for term in placement.pod_anti_affinity:
        if not term.required:
            continue
        others = set(term.workloads) or {pod.workload}
        dom = _domain(node, term.topology_key)
        if dom is not None and any(p.workload in others and _domain(p.node, term.topology_key) == dom
                                   for p in placed):
            return f"node {node.name} already runs {', '.join(sorted(others))} (anti-affinity)"
    for term in placement.pod_affinity:
        if not term.required:
            continue
        others = set(term.workloads) or {pod.workload}
        dom = _domain(node, term.topology_key)
        if not any(p.workload in others and _domain(p.node, term.topology_key) == dom for p in placed):
            return f"node {node.name} runs no {', '.join(sorted(others))} (affinity)"
    return ""


def _spread_ok(pod: Pod, node: SimNode, candidates: list[SimNode], placed: list[Pod]) -> str:
    for c in pod.placement.topology_spread:
        if c.when_unsatisfiable != "DoNotSchedule":
            continue
        counts: Counter[str] = Counter()
        for n in candidates:
            d = _domain(n, c.topology_key)
            if d is not None:
                counts.setdefault(d, 0)
        for p in placed:
            if p.workload == pod.workload:
                d = _domain(p.node, c.topology_key)
                if d in counts:
                    counts[d] += 1
        d = _domain(node, c.topology_key)
        if d is None or not counts:
            continue
        if counts[d] + 1 - min(counts.values()) > c.max_skew:
            return f"node {node.name} would break topology spread (max skew {c.max_skew})"
    return ""


def place(pod: Pod, nodes: list[SimNode], placed: list[Pod]) -> tuple[SimNode | None, str]:
    """The node for the pod, or None and why no node fits (as `kubectl describe` says)."""
    reasons: list[str] = []
    statically_ok = [n for n in nodes if n.ready and eligible(pod.placement, n.spec)]
    fits: list[SimNode] = []
    for node in nodes:
        if not node.ready:
            reasons.append(f"node {node.name} is not ready")
            continue
        if node not in statically_ok:
            reasons.append(why_not(pod.placement, node.spec))
            continue
        if node.cpu_requested + pod.cpu > node.spec.cpu + 1e-9:
            reasons.append(f"node {node.name} has too little CPU "
                           f"({node.spec.cpu - node.cpu_requested:.2f} free, {pod.cpu:.2f} asked)")
            continue
        if node.memory_requested + pod.memory > node.spec.memory + 0.5:
            reasons.append(f"node {node.name} has too little memory")
            continue
        why = _affinity_ok(pod, node, placed) or _spread_ok(pod, node, statically_ok, placed)
        if why:
            reasons.append(why)
            continue
        fits.append(node)
    if not fits:
        return None, f"0/{len(nodes)} nodes are available: " + "; ".join(reasons)
    same = Counter(p.node.name for p in placed if p.workload == pod.workload)

    def score(n: SimNode) -> tuple:
        free = ((n.spec.cpu - n.cpu_requested - pod.cpu) / n.spec.cpu
                + (n.spec.memory - n.memory_requested - pod.memory) / n.spec.memory) / 2
        return (same[n.name], -round(free, 9), n.order)

    return min(fits, key=score), ""
