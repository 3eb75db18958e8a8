"""`twin sim` on a saturated load: red warning naming the component, exit 0, the errors
column counts asynchronous failures, and the plots include queue depth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from twin.cli.sim import failure_rate, saturation_warning
from twin.result.model import Result, RouteMetrics, Saturation, Summary

ROOT = Path(__file__).resolve().parents[2]


def twin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_errors_column_counts_end_to_end_failures() -> None:
    route = RouteMetrics(arrivals=3000, completed=3000, ok=3000, errors={}, error_rate=0.0,
                         throughput=5.0, latency=Summary(count=3000), in_flight=0.1,
                         end_to_end=Summary(count=2000), end_to_end_errors={"5xx": 19})
    assert abs(failure_rate(route) - 19 / 2000) < 1e-12
    sync = route.model_copy(update={"end_to_end": None, "errors": {"5xx": 30}})
    assert abs(failure_rate(sync) - 30 / 3000) < 1e-12


def test_warning_names_component_evidence_and_capacity() -> None:
    res = Result(topology="t", seed=1, replications=2, duration=600, warmup=60, interval=5,
                 saturated=[Saturation(component="queue/chat-tasks", evidence="depth 100 -> 900",
                                       replications=2),
                            Saturation(component="workload/chat-worker", evidence="busy 100%")])
    text = "\n".join(saturation_warning(res))
    assert "queue/chat-tasks: depth 100 -> 900 (in 2 of 2 replications)" in text
    assert "grow with run length" in text and "exceeds chat-worker's capacity" in text
    assert saturation_warning(res.model_copy(update={"saturated": []})) == []


def test_twin_sim_warns_on_tripled_chat_and_still_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    p = twin("sim", "--load", "chat=6/s", "--duration", "4m", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "saturated" in p.stdout and "queue/chat-tasks" in p.stdout
    assert "exceeds chat-worker's capacity" in p.stdout
    names = {f.name for f in out.iterdir()}
    assert {"latency.png", "errors.png", "queues.png", "result.json"} <= names
    p = twin("sim", "-t", "topologies/examples/one-service.yaml", "--duration", "2m",
             "--out", str(tmp_path / "one"))
    assert p.returncode == 0 and "saturated" not in p.stdout
    assert "queues.png" not in {f.name for f in (tmp_path / "one").iterdir()}
