"""The examples in README.md and docs/ are files a user copies: they must load and run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from twin.loading.files import load_topology

ROOT = Path(__file__).resolve().parents[1]


def _yaml_blocks(doc: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)


def test_readme_minimal_topology_loads(tmp_path: Path) -> None:
    block = next(b for b in _yaml_blocks(ROOT / "README.md") if "kind: Topology" in b)
    path = tmp_path / "tiny.yaml"
    path.write_text(block)
    topo = load_topology(path)
    assert [s.name for s in topo.services] == ["web-api"]
    assert [r.name for r in topo.routes] == ["browse"]


def test_scenario_example_runs_and_its_checks_hold(tmp_path: Path) -> None:
    from twin.scenario import loader
    from twin.scenario.checks import HELD
    from twin.scenario.runner import execute

    block = next(b for b in _yaml_blocks(ROOT / "docs" / "scenarios.md") if "kind: Scenario" in b)
    doc = yaml.safe_load(block)
    assert doc["topology"] == "../topologies/eco2-prod.yaml"
    path = tmp_path / "scenarios" / "example.yaml"
    path.parent.mkdir()
    (tmp_path / "topologies").symlink_to(ROOT / "topologies")
    path.write_text(block)
    run = execute(loader.load(path, ["scenario.replications=1", "scenario.duration=150s"]))
    assert len(run.outcomes) == len(doc["checks"])
    assert run.passed, [o.sentence() for o in run.outcomes if o.status != HELD]
    assert run.result.result.saturated == []  # an example that overloads chat-worker misleads


def test_every_action_is_documented() -> None:
    from typing import get_args

    from twin.scenario.actions import ActionName

    text = (ROOT / "docs" / "scenarios.md").read_text()
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, re.M))
    assert set(get_args(ActionName)) <= documented, set(get_args(ActionName)) - documented
