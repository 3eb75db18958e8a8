"""Small topologies for the capacity tests, written out as the users write them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from twin.loading.files import load_topology

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "topologies" / "examples"

HEAD = """\
apiVersion: twin.eco2/v1
kind: Topology
cluster: {name: test}
"""
CONTROL_PLANE = """\
  - name: control-plane
    role: control-plane
    taints: [{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}]
    cpu: "2"
    memory: 4Gi
    nodes: [{name: master}]
"""
"""A pool item: bodies start `pools:` with it, so that every topology has its master."""


def write(tmp_path: Path, body: str, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    text = textwrap.dedent(body).replace("pools:\n", "pools:\n" + CONTROL_PLANE, 1)
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def topology(tmp_path: Path, body: str, *sets: str):
    return load_topology(write(tmp_path, body), sets=list(sets))


def example(name: str, *sets: str):
    return load_topology(EXAMPLES / name, sets=list(sets))


def close(simulated: float, expected: float, share: float = 0.05) -> bool:
    return abs(simulated - expected) <= share * abs(expected)
