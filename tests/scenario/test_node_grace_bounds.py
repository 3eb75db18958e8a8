"""The node-loss scenarios' bounds name the grace period and tolerationSeconds in
force: a `--set` of either moves them, and an unset grace period is the
Kubernetes-version default (40s before 1.32, 50s from 1.32)."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scenario import loader
from twin.scenario.runner import execute

ROOT = Path(__file__).resolve().parents[2]
GRACE = "cluster.node_monitor_grace_period"


def _checks(name: str, sets: list[str]) -> dict:
    scn = loader.load(ROOT / "scenarios" / f"{name}.yaml", sets).scenario
    return {c.name: c for c in scn.checks}


@pytest.mark.parametrize(("sets", "grace", "toleration"), [
    ([], 50.0, 300.0),  # prod is Kubernetes 1.33: the 1.32+ default
    (['cluster.kubernetes_version="1.31"'], 40.0, 300.0),
    ([f"{GRACE}=20s"], 20.0, 300.0),
    ([f"{GRACE}=20s", "cluster.default_toleration_seconds=60s"], 20.0, 60.0),
])
@pytest.mark.parametrize("name", ["api-node-loss", "storage-node-loss"])
def test_notready_and_eviction_bounds_follow_the_grace_period(name: str, sets: list[str], grace: float,
                                                              toleration: float) -> None:
    checks = _checks(name, sets)
    notready = checks["NotReady once the last status is older than the grace period"]
    assert notready.range == (grace - 10, grace + 5)
    evicted = next(c for n, c in checks.items() if "tolerationSeconds" in n and c.range)
    assert evicted.range == (toleration + grace - 10, toleration + grace + 5)


def test_the_windows_around_notready_follow_it_too() -> None:
    checks = _checks("api-node-loss", [f"{GRACE}=20s"])
    assert checks["no pod is evicted before tolerationSeconds run out"].window.to == "loss+305s"
    assert checks["dead pods still in the endpoints fail chat requests until NotReady"].window.to \
        == "loss+20s"
    assert checks["after NotReady the survivors carry chat"].window.from_ == "loss+30s"
    fresh = _checks("control-plane-down", [f"{GRACE}=20s"])
    assert fresh["a fresh grace period from the control plane's return, then NotReady"].range == (20, 26)


def test_a_shorter_grace_period_run_judges_itself() -> None:
    """At 20s the node is NotReady ~30s sooner than the file's own 50s, and every
    check still holds: the bounds moved with the setting, the simulator with it."""
    loaded = loader.load(ROOT / "scenarios" / "api-node-loss.yaml", [f"{GRACE}=20s"])
    run = execute(loaded, "sim", replications=1)
    by_name = {o.name: o for o in run.outcomes}
    notready = by_name["NotReady once the last status is older than the grace period"]
    assert 10 <= notready.shown <= 25
    assert all(o.status == "held" for o in run.outcomes), [o.sentence() for o in run.outcomes]
