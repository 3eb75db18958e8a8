"""Every metric the vocabulary (and docs/scenarios.md) names is one the simulator records:
a check on it is measured, never "not applicable" on the simulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from twin.result.trace import COUNTERS, GAUGES, HISTOGRAMS
from twin.scenario import loader
from twin.scenario.runner import execute

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = [(kind, name) for table in (COUNTERS, GAUGES, HISTOGRAMS)
              for kind, names in table.items() for name in names]


@pytest.fixture(scope="module")
def trace():
    """prod with its canary release and a Redis master crash: every kind of component."""
    text = (ROOT / "scenarios" / "canary-good.yaml").read_text(encoding="utf-8")
    text = text.replace("../topologies/", f"{ROOT}/topologies/").replace(
        "duration: 7m", "duration: 2m").replace("replications: 2", "replications: 1")
    text += "timeline:\n  - {id: crash, at: 30s, action: redis-master-crash}\n"
    path = Path(__file__).parent / "__every_metric.yaml"
    try:
        path.write_text(text, encoding="utf-8")
        run = execute(loader.load(path))
    finally:
        path.unlink(missing_ok=True)
    return run.observations[0]


@pytest.mark.parametrize(("kind", "name"), DOCUMENTED, ids=[f"{k}.{n}" for k, n in DOCUMENTED])
def test_the_simulator_records_every_documented_metric(trace, kind: str, name: str) -> None:
    recorded = {*trace.counters, *trace.gauges, *trace.histograms}
    assert any(m.startswith(f"{kind}/") and m.endswith(f".{name}") for m in recorded), (
        f"{kind}/*.{name} is documented but the simulator records it for no {kind}")


def test_the_docs_table_names_the_vocabulary() -> None:
    """docs/scenarios.md's metric table and twin.result.trace's tables are one list."""
    doc = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    for kind, name in DOCUMENTED:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{kind}/")), "")
        assert re.search(rf"\b{re.escape(name)}\b", row), f"{kind}/*.{name} missing from the docs"
