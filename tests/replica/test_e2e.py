"""End to end on a real kind cluster, driven through the CLI as a user does:
`twin up`, `twin status --live`, `twin domain chat --live`, `twin run
examples/kind/pod-kill.yaml --backend kind`, `twin down`. Runs wherever a
Docker engine, kind and its node image are present; skips elsewhere, naming what
is missing. Without istioctl the replica has no gateway, so the scenario's load
is not driven: the kill is still applied and checked, its route checks are "not
applicable".

The fast test below keeps the example scenario honest where nothing of that
exists: it validates, passes on the simulator, and checks only what the kind
backend observes (route metrics and the kill itself)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twin.render.kind_config import node_image

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "topologies" / "eco2-dev.yaml"
POD_KILL = ROOT / "examples" / "kind" / "pod-kill.yaml"
TWIN = [sys.executable, "-m", "twin.cli"]


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


def twin(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """One `twin` command, as a user types it, from the repository root."""
    proc = subprocess.run([*TWIN, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"$ twin {' '.join(args)}  -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.e2e
@pytest.mark.slow
def test_up_live_status_pod_kill_down(tmp_path: Path) -> None:
    gone = missing()
    if gone:
        pytest.skip("needs " + ", ".join(gone))
    env = {**os.environ, "TWIN_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "240"}
    up = twin("up", "-t", str(DEV), "--timeout", "900", env=env)
    try:
        assert up.returncode == 0, up.stderr
        assert "nodes Ready: 3 of 3" in up.stderr and "replica up: twin-eco2-dev" in up.stdout
        status = twin("status", "--live", "-t", str(DEV), env=env, timeout=120)
        assert status.returncode == 0, status.stderr
        for node in ("twin-eco2-dev-control-plane", "twin-eco2-dev-worker", "twin-eco2-dev-worker2"):
            assert node in status.stdout
        assert "business-logic" in status.stdout
        chat = twin("domain", "chat", "--live", "-t", str(DEV), env=env, timeout=120)
        assert chat.returncode == 0, chat.stderr
        assert "chat-api-v1" in chat.stdout and "chat-api-v2" in chat.stdout
        out = tmp_path / "run"
        run = twin("run", str(POD_KILL), "--backend", "kind", "--out", str(out), env=env, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "PASSED pod-kill" in run.stdout
        if shutil.which("istioctl") is None:  # no gateway: no load, route checks not applicable
            assert "not applicable" in run.stdout
        result = json.loads((out / "result.json").read_text())
        assert result["backend"] == "kind"
        events = result["runs"][0]["events"]
        assert [e["event"] for e in events if e["source"].startswith("pod/auth-api")] == ["Killed"]
    finally:
        down = twin("down", "-t", str(DEV), env=env, timeout=600)
        assert down.returncode == 0 and "deleted kind cluster twin-eco2-dev" in down.stdout, down.stderr


def test_the_pod_kill_example_checks_only_what_the_kind_backend_observes() -> None:
    proc = subprocess.run([*TWIN, "run", str(POD_KILL), "--format", "json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr          # passes on the simulator too
    import yaml

    doc = yaml.safe_load(POD_KILL.read_text())
    assert [a["action"] for a in doc["timeline"]] == ["kill-pod"]
    for check in doc["checks"]:                                      # route metrics and the kill only
        assert check.get("metric", "route/").startswith("route/") and check.get("event", "Killed") == "Killed"
