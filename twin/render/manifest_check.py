"""Offline checks of everything rendered: Kubernetes objects against the
OpenAPI schemas kubernetes-validate ships (strict: unknown fields rejected) for
the topology's Kubernetes version, Istio objects against istio/api's field
definitions, and the kind config against kind's v1alpha4 types.

A built-in kind without a schema is a failure, never a silent pass. When the
topology's version is newer than any schema shipped, the newest is used and
the report says so.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from twin.render import istio_fields

KIND_FIELDS: dict[str, set[str]] = {
    # kubernetes-sigs/kind pkg/apis/config/v1alpha4/types.go
    "Cluster": {"kind", "apiVersion", "name", "featureGates", "runtimeConfig", "nodes", "networking",
                "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches",
                "containerdConfigPatchesJSON6902"},
    "Node": {"role", "image", "labels", "extraMounts", "extraPortMappings", "kubeadmConfigPatches",
             "kubeadmConfigPatchesJSON6902"},
    "Networking": {"ipFamily", "apiServerPort", "apiServerAddress", "podSubnet", "serviceSubnet",
                   "disableDefaultCNI", "kubeProxyMode", "dnsSearch"},
    "PortMapping": {"containerPort", "hostPort", "listenAddress", "protocol"},
}


@dataclass
class SchemaReport:
    requested: str
    used: str | None = None
    note: str = ""
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def schema_version(kubernetes_version: str) -> tuple[str, str]:
    """(version to validate against, note) for kubernetes-validate."""
    from kubernetes_validate import utils

    minor = int(kubernetes_version.split(".")[1])
    available = sorted({utils.major_minor(v) for v in utils.all_versions()},
                       key=lambda v: int(v.split(".")[1]))
    if kubernetes_version in available:
        return kubernetes_version, ""
    newest = available[-1]
    if minor > int(newest.split(".")[1]):
        return newest, (f"kubernetes-validate has no schema for Kubernetes {kubernetes_version}; "
                        f"validated against {newest}, the newest it ships")
    oldest = available[0]
    return oldest, (f"kubernetes-validate has no schema for Kubernetes {kubernetes_version}; "
                    f"validated against {oldest}, the oldest it ships")


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


@functools.lru_cache(maxsize=256)
def _validator(version: str, kind: str, api_version: str) -> Any:
    """A strict Draft 2020-12 validator for one kind, built as kubernetes-validate
    builds it, but once (its own `validate` re-reads the definitions per object)."""
    import json

    import importlib_resources
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    full = next(v for v in utils.all_versions() if utils.major_minor(v) == version)
    folder = importlib_resources.files("kubernetes_validate").joinpath(
        f"kubernetes-json-schema/v{full}-local-strict")
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder.joinpath(f"{kind.lower()}-{group_version}.json")
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ Registry()
    registry = _definitions(str(folder)) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.lru_cache(maxsize=8)
def _definitions(folder: str) -> Any:
    import json
    from pathlib import Path

    from referencing import Resource

    return Resource.from_contents(json.loads((Path(folder) / "_definitions.json").read_text()))


def check_objects(objects: list[dict[str, Any]], kubernetes_version: str) -> SchemaReport:
    version, note = schema_version(kubernetes_version)
    report = SchemaReport(requested=kubernetes_version, used=version, note=note)
    for obj in objects:
        report.checked += 1
        if istio_fields.is_istio(obj):
            report.problems += [f"{_name(obj)}: {p}" for p in istio_fields.check(obj)]
            continue
        validator = _validator(version, str(obj.get("kind")), str(obj.get("apiVersion")))
        if validator is None:
            report.problems.append(
                f"{_name(obj)}: no schema for kind {obj.get('kind')} with api version "
                f"{obj.get('apiVersion')} in Kubernetes {version}")
            continue
        for e in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
            path = ".".join(str(p) for p in e.path)
            report.problems.append(f"{_name(obj)}: {path}: {e.message}")
    return report


def check_kind_config(config: dict[str, Any]) -> list[str]:
    problems = []
    if config.get("apiVersion") != "kind.x-k8s.io/v1alpha4" or config.get("kind") != "Cluster":
        problems.append("kind config: apiVersion kind.x-k8s.io/v1alpha4, kind Cluster expected")
    problems += [f"kind config: {k}: unknown field" for k in config if k not in KIND_FIELDS["Cluster"]]
    problems += [f"kind config: networking.{k}: unknown field"
                 for k in config.get("networking", {}) if k not in KIND_FIELDS["Networking"]]
    for i, node in enumerate(config.get("nodes", [])):
        problems += [f"kind config: nodes[{i}].{k}: unknown field"
                     for k in node if k not in KIND_FIELDS["Node"]]
        if node.get("role") not in ("control-plane", "worker"):
            problems.append(f"kind config: nodes[{i}].role: {node.get('role')!r}")
        for j, pm in enumerate(node.get("extraPortMappings", [])):
            problems += [f"kind config: nodes[{i}].extraPortMappings[{j}].{k}: unknown field"
                         for k in pm if k not in KIND_FIELDS["PortMapping"]]
    if not config.get("nodes") or config["nodes"][0].get("role") != "control-plane":
        problems.append("kind config: the first node must be a control-plane node")
    return problems
