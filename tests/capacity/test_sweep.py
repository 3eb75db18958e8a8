"""Sweeps: the same numbers, byte for byte, on the local pool, a LocalCluster and a Dask
cluster started as users start one; a worker killed mid-sweep loses no point; the
progress moves as points finish; bad Sweep files are exit 2 naming file and line."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from capacity_helpers import EXAMPLES, ROOT
from typer.testing import CliRunner

from twin.capacity import sweep as sweeps
from twin.capacity.sweep_output import csv_text, json_doc, largest_meeting_slo
from twin.cli.app import app

DASK = Path(sys.executable).with_name("dask")

SWEEP = f"""\
apiVersion: twin.eco2/v1
kind: Sweep
name: tiny
topology: {EXAMPLES / "one-service.yaml"}
axes:
  - {{path: load.req, values: [4/s, 8/s]}}
  - {{path: services.api.concurrency, values: [1, 2]}}
duration: {{duration}}
warmup: 5s
replications: 2
slo: {{metric: route/req/latency.p95, max: 500ms}}
"""


def write(tmp_path: Path, duration: str = "60s", text: str | None = None) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(text or SWEEP.replace("{duration}", duration), encoding="utf-8")
    return path


def run(path: Path, executor: str = "local", progress=None):
    spec, doc = sweeps.load(path)
    return sweeps.run(spec, sweeps.plan(spec, doc), executor, 2, progress)


def as_bytes(result) -> bytes:
    return (json.dumps(json_doc(result), sort_keys=True) + csv_text(result)).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_pool_progress_moves_and_slo(tmp_path) -> None:
    seen: list[tuple[int, int]] = []
    result = run(write(tmp_path), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(i, 8) for i in range(1, 9)]
    assert [p.point.values for p in result.points][0] == (("load.req", "4/s"),
                                                          ("services.api.concurrency", 1))
    # concurrency 2 holds the SLO at 8/s where a single slot (rho 0.8) misses it
    assert dict(largest_meeting_slo(result)) == {"services.api.concurrency=1": 4.0,
                                                 "services.api.concurrency=2": 8.0}


@pytest.mark.slow
def test_local_cluster_gives_the_same_bytes(tmp_path) -> None:
    from distributed import LocalCluster

    path = write(tmp_path)
    local = as_bytes(run(path))
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                      processes=True) as cluster:
        assert as_bytes(run(path, cluster.scheduler_address)) == local


def _start_cluster(port: int, workers: int) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    procs += [subprocess.Popen([str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1",
                                "--no-dashboard", "--no-nanny"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True) for _ in range(workers)]
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout="5s") as c:
                c.wait_for_workers(workers, timeout=60)
            return procs
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def test_dask_scheduler_and_workers_same_bytes_and_a_killed_worker_loses_nothing(tmp_path) -> None:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1; one worker is killed
    (SIGKILL) once the first point is done: the scheduler runs its tasks on the other."""
    path = write(tmp_path, duration="400s")
    local = as_bytes(run(path))
    port = free_port()
    procs = _start_cluster(port, 2)
    try:
        killed: list[int] = []
        seen: list[int] = []

        def progress(done: int, total: int) -> None:
            seen.append(done)
            if not killed:
                os.killpg(procs[1].pid, signal.SIGKILL)
                killed.append(procs[1].pid)

        result = run(path, f"tcp://127.0.0.1:{port}", progress)
        assert killed and procs[1].wait(timeout=10) == -signal.SIGKILL
        assert seen == list(range(1, 9))
        assert as_bytes(result) == local
    finally:
        _stop(procs)


def test_no_scheduler_is_exit_3(tmp_path) -> None:
    r = CliRunner().invoke(app, ["sweep", str(write(tmp_path)), "--executor",
                                 f"tcp://127.0.0.1:{free_port()}", "--out", str(tmp_path / "o")])
    assert r.exit_code == 3 and "no Dask scheduler answers" in r.output


def test_cli_writes_csv_json_and_plots(tmp_path) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["sweep", str(write(tmp_path)), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "largest load.req meeting the SLO with services.api.concurrency=2: 8" in r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["largest_meeting_slo.png", "points.csv", "route_req_latency.p95.png",
                     "sweep.json"]
    doc = json.loads((out / "sweep.json").read_text())
    assert len(doc["points"]) == 4 and doc["points"][3]["slo"] is True


def test_bad_sweep_files_name_file_and_line(tmp_path) -> None:
    bad = SWEEP.replace("{duration}", "60s").replace("load.req", "load.nosuch").replace(
        "services.api.concurrency, values: [1, 2]", "services.api.concurrency, values: [1, -2]")
    bad = bad.replace("replications: 2", "replications: 2\nx: nothing")
    path = write(tmp_path, text=bad)
    r = CliRunner().invoke(app, ["validate", str(path)])
    assert r.exit_code == 2
    text = r.output.replace("\n", " ")
    assert f"{path}:6:" in text and "no route named 'nosuch'" in text
    assert "no axis named 'nothing'" in text
    r = CliRunner().invoke(app, ["sweep", str(path)])
    assert r.exit_code == 2 and "concurrency" in r.output


def test_shipped_sweep_validates() -> None:
    r = CliRunner().invoke(app, ["validate", str(ROOT / "sweeps" / "chat-3x.yaml")])
    assert r.exit_code == 0, r.output
    spec, doc = sweeps.load(ROOT / "sweeps" / "chat-3x.yaml")
    assert len(spec.axes) == 3 and spec.x_axis.label == "chat"


@pytest.mark.slow
def test_shipped_sweep_runs_and_finds_what_3x_chat_needs(tmp_path) -> None:
    r = CliRunner().invoke(app, ["sweep", str(ROOT / "sweeps" / "chat-3x.yaml"), "--out",
                                 str(tmp_path), "--workers", "2"])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "sweep.json").read_text())
    best = {b["variant"]: b["x"] for b in doc["largest_meeting_slo"]}
    assert best["chat-worker=3, app nodes=4 nodes"] < best["chat-worker=7, app nodes=5 nodes"]


def test_docs_sweep_example_plans(tmp_path) -> None:
    import re

    text = (ROOT / "docs" / "capacity.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: Sweep" in b)
    (tmp_path / "topologies").symlink_to(ROOT / "topologies")
    (tmp_path / "sweeps").mkdir()
    path = tmp_path / "sweeps" / "example.yaml"
    path.write_text(block)
    spec, doc = sweeps.load(path)
    points = sweeps.plan(spec, doc)
    assert len(points) == 3 * 3 * 2 and spec.x_axis.label == "chat"
