"""A model Placement as pod spec fields: nodeSelector, tolerations, affinity, spread."""

from __future__ import annotations

from typing import Any

from twin.model.topology import Placement, PodAffinityTerm


def _affinity_terms(terms: list[PodAffinityTerm], own: str) -> dict[str, Any]:
    required, preferred = [], []
    for term in terms:
        apps = term.workloads or [own]
        body = {
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": apps}]},
            "topologyKey": term.topology_key,
            "namespaceSelector": {},
        }
        if term.required:
            required.append(body)
        else:
            preferred.append({"weight": 100, "podAffinityTerm": body})
    out: dict[str, Any] = {}
    if required:
        out["requiredDuringSchedulingIgnoredDuringExecution"] = required
    if preferred:
        out["preferredDuringSchedulingIgnoredDuringExecution"] = preferred
    return out


def pod_placement(placement: Placement, app: str) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if placement.node_selector:
        spec["nodeSelector"] = dict(placement.node_selector)
    if placement.tolerations:
        tols = []
        for t in placement.tolerations:
            tol: dict[str, Any] = {"operator": t.operator}
            if t.key is not None:
                tol["key"] = t.key
            if t.operator == "Equal":
                tol["value"] = t.value
            if t.effect is not None:
                tol["effect"] = t.effect
            if t.toleration_seconds is not None:
                tol["tolerationSeconds"] = int(t.toleration_seconds)
            tols.append(tol)
        spec["tolerations"] = tols
    affinity: dict[str, Any] = {}
    if placement.node_affinity:
        exprs = []
        for r in placement.node_affinity:
            expr: dict[str, Any] = {"key": r.key, "operator": r.operator}
            if r.operator in ("In", "NotIn"):
                expr["values"] = list(r.values)
            exprs.append(expr)
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": exprs}]
            }
        }
    if placement.pod_affinity:
        affinity["podAffinity"] = _affinity_terms(placement.pod_affinity, app)
    if placement.pod_anti_affinity:
        affinity["podAntiAffinity"] = _affinity_terms(placement.pod_anti_affinity, app)
    if affinity:
        spec["affinity"] = affinity
    if placement.topology_spread:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": s.max_skew,
                "topologyKey": s.topology_key,
                "whenUnsatisfiable": s.when_unsatisfiable,
                "labelSelector": {"matchLabels": {"app": app}},
            }
            for s in placement.topology_spread
        ]
    return spec
