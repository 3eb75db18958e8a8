"""One mistake gives one error: nothing that only follows from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model.errors import ModelError

TINY = """\
apiVersion: twin.eco2/v1
kind: Topology
cluster: {name: tiny}
pools:
  - {name: control-plane, role: control-plane, cpu: 2, memory: 4Gi, nodes: [{name: cp}]}
  - {name: app, cpu: 4, memory: 8Gi, nodes: [{name: w1}]}
namespaces: [{name: web, tier: business-logic}]
services:
  - name: api
    namespace: web
    service_time: {dist: DIST, mean: 20ms}
routes:
  - {name: browse, entry: api, rate: 5/s, steps: [{call: api}, {call: nowhere}]}
"""


def test_an_invalid_service_is_not_also_reported_as_missing(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(TINY.replace("DIST", "expo"))
    with pytest.raises(ModelError) as e:
        load_topology(f)
    messages = [p.message for p in e.value.problems]
    assert len(messages) == 2, messages
    assert any("'exponential'" in m for m in messages)
    assert any("'nowhere'" in m for m in messages), "a real broken reference must still show"
    assert not any("'api'" in m for m in messages)
