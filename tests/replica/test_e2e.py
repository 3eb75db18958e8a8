"""End to end on a real kind cluster: twin up, status --live, a pod-kill
scenario on the kind backend, twin down. Runs wherever a Docker engine, kind
and its node image are present; skips elsewhere, naming what is missing."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from twin.render.kind_config import node_image

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "topologies" / "eco2-dev.yaml"


def missing() -> list[str]:
    gone = []
    docker_up = False
    if shutil.which("docker") is None:
        gone.append("docker CLI")
    else:
        docker_up = subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
        if not docker_up:
            gone.append("a reachable Docker engine")
    if shutil.which("kind") is None:
        gone.append("the kind binary")
    image = node_image("1.33")
    if docker_up and subprocess.run(["docker", "image", "inspect", image],
                                    capture_output=True, timeout=30).returncode != 0:
        gone.append(f"the kind node image {image}")
    elif not docker_up:
        gone.append(f"the kind node image {image} (cannot check without Docker)")
    return gone


pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_live_status_pod_kill_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = missing()
    if gone:
        pytest.skip("needs " + ", ".join(gone))
    from twin.replica import faults
    from twin.replica.apply import api_client
    from twin.replica.live import live_domain, live_status
    from twin.replica.up import down, up
    from twin.validate import load_topology

    monkeypatch.setenv("TWIN_STATE_DIR", str(tmp_path / "state"))
    topo = load_topology(DEV)
    report = up(topo, say=print, timeout=900)
    try:
        status = live_status(topo)
        assert len(status["nodes"]) == 3 and all(n["ready"] for n in status["nodes"])
        assert status["pods_by_tier"]["business-logic"] >= 6
        chat = live_domain(topo, "chat")
        assert {p["version"] for p in chat["api_pods"]} == {"v1", "v2"}
        api = api_client(report.kubeconfig, report.context)
        (killed,) = faults.kill_pods(api, topo, "auth-api")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pods = faults.pods_of(api, "auth", "auth-api")
            ready = [p for p in pods if p.metadata.name != killed.target.split("/")[1]
                     and all(c.ready for c in p.status.container_statuses or [])]
            if ready:
                break
            time.sleep(2)
        else:
            pytest.fail("auth-api was not replaced within 120 s of the pod kill")
    finally:
        assert down(topo)
