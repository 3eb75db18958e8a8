"""`twin tui`: what it opens on, bad input (2), a replica that is not up (3), --live."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable
from tui_helpers import plain, sync
from typer.testing import CliRunner

from twin.cli import common
from twin.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "replica"))

from fakeapi import FakeAPI, Server  # noqa: E402


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What `twin tui` would open the UI on (the screen itself is not started)."""
    import tui.app

    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tui.app, "run", lambda *args: seen.append(args))
    monkeypatch.chdir(ROOT)
    return seen


def _run(*args: str):  # noqa: ANN202
    return CliRunner().invoke(app, ["tui", *args], catch_exceptions=False)


def test_opens_on_eco2_prod_and_the_shipped_scenarios(opened: list) -> None:
    r = _run()
    assert r.exit_code == 0, r.output
    ((view, scenarios, replica, sets),) = opened
    assert sets == ()
    assert view.topo.cluster.environment == "prod" and view.source.endswith("eco2-prod.yaml")
    assert scenarios.resolve() == ROOT / "scenarios" and replica is None


def test_opens_on_the_topology_named_with_its_overrides(opened: list) -> None:
    r = _run("-t", str(ROOT / "topologies" / "eco2-dev.yaml"), "--set",
             "services.scan-api.replicas=5")
    assert r.exit_code == 0, r.output
    view, sets = opened[0][0], opened[0][3]
    assert view.topo.cluster.environment == "dev"
    assert sets == ("services.scan-api.replicas=5",)  # for the scenario runs and what-if edits
    assert len(view.placed.of("service/scan-api")) == 5


def test_a_bad_topology_is_exit_2_before_any_screen(opened: list, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "topologies" / "eco2-base.yaml").read_text().replace(
        "    concurrency: 16\n", "    concurrency: sixteen\n", 1))
    r = _run("-t", str(bad))
    assert r.exit_code == common.BAD_INPUT
    assert "bad.yaml:" in r.stderr and "concurrency" in r.stderr
    assert not opened


def test_kubeconfig_without_live_is_bad_input(opened: list, tmp_path: Path) -> None:
    r = _run("--kubeconfig", str(tmp_path / "k.yaml"))
    assert r.exit_code == common.BAD_INPUT and "only apply with --live" in r.stderr
    assert not opened


def test_live_without_a_replica_is_exit_3(opened: list, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path / "state"))  # no kubeconfig of a replica
    r = _run("--live")
    assert r.exit_code == common.CANNOT_RUN
    err = " ".join(r.stderr.split())
    assert "no replica of" in err and "twin up" in err
    assert not opened


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake API server with one node, as a dedicated cluster named by a kubeconfig."""
    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path / "state"))
    api = FakeAPI()
    api.add({"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "twin-worker", "labels": {"node-pool": "app"}},
        "spec": {"taints": [{"key": "workload-type", "value": "api", "effect": "NoSchedule"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    with Server(api) as s:
        s.kubeconfig(tmp_path / "dedicated.yaml", context="twin")
        yield tmp_path / "dedicated.yaml"


def test_live_opens_with_the_replica_s_nodes(opened: list, cluster: Path) -> None:
    r = _run("--live", "--kubeconfig", str(cluster), "--context", "twin")
    assert r.exit_code == 0, r.output
    view, _, replica, _ = opened[0]
    assert view.topo.cluster.environment == "dev"  # --live: the replica's topology
    rows, summary = replica.ask()
    assert rows == [["twin-worker", "app", "Ready", "yes", "workload-type=api:NoSchedule"]]
    assert "ecoeco-backend namespaces" in summary


@sync
async def test_the_replica_tab_shows_the_live_nodes(make_app: Any, prod_view: Any,
                                                   cluster: Path) -> None:
    from tui.live import Replica

    app = make_app(replica=Replica(prod_view.topo, cluster, "twin"))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.screen.workers.wait_for_complete()  # the replica asked in a thread
        await pilot.pause()
        app.screen.action_tab("replica")
        await pilot.pause()
        table = app.screen.query_one("#replica-nodes", DataTable)
        assert table.get_row_at(0) == ["twin-worker", "app", "Ready", "yes",
                                       "workload-type=api:NoSchedule"]
        assert "Kubernetes" in plain(app.screen.query_one("#replica-summary").content)
