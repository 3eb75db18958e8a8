"""Everything the replica needs, rendered: the kind cluster config and the
Kubernetes/Istio manifests, as plain dicts, one file per apply step.

`render(topo)` builds everything in memory; `write(rendered, out)` puts it on
disk atomically (a temp directory renamed into place), so a failure never
leaves half-written output. Files are numbered in apply order.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.model.topology import Topology
from twin.render import (
    callgraph,
    cluster,
    istio,
    kind_config,
    metrics_server,
    platform,
    policies,
    stores,
    workloads,
)

KIND_CONFIG = "kind-config.yaml"


@dataclass
class Rendered:
    kind_config: dict[str, Any]
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [o for objs in self.files.values() for o in objs]


def render(topo: Topology, node_image: str | None = None) -> Rendered:
    graph = callgraph.build(topo)
    rendered = Rendered(kind_config=kind_config.render(topo, node_image))
    rendered.files = {
        "00-cluster.yaml": cluster.storage_classes(topo) + cluster.namespaces(topo),
        "10-stores.yaml": stores.render(topo),
        "20-workloads.yaml": workloads.render(topo, graph),
        "30-istio.yaml": istio.render(topo),
        "40-network-policies.yaml": policies.render(topo, graph),
        "50-metrics-server.yaml": metrics_server.render(),
        "60-platform.yaml": platform.render(topo),
    }
    return rendered


def dump(objects: list[dict[str, Any]]) -> str:
    """YAML documents; multi-line strings (scripts, kubeadm patches) as literal blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


def write(rendered: Rendered, out: Path) -> list[Path]:
    """Write all files into `out` atomically; returns the paths.

    Each file is written into a temporary sibling folder, then moved into place;
    files in `out` that are not the renderer's own (anything but kind-config.yaml
    and NN-*.yaml) are left alone.
    """
    from twin.result.io import publish

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / KIND_CONFIG).write_text(dump([rendered.kind_config]))
        for name, objs in rendered.files.items():
            (tmp / name).write_text(dump(objs))
        publish(tmp, out, stale=("[0-9][0-9]-*.yaml",))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / KIND_CONFIG, *(out / n for n in rendered.files)]
