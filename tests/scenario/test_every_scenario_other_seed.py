"""Every shipped scenario's checks hold at another seed and more replications.

A bound fitted to one seed's numbers breaks at the next seed; this catches it
(`make test-slow`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scenario import loader
from twin.scenario.checks import FAILED
from twin.scenario.runner import execute

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_checks_hold_at_seed_plus_1000_with_6_replications(path: Path) -> None:
    item = loader.load(path, ())
    run = execute(item, "sim", item.scenario.seed + 1000, 6)
    failed = [o.sentence() for o in run.outcomes if o.status == FAILED]
    assert not failed, "\n".join(failed)
