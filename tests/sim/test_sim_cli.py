"""`twin sim`: files written, schema-valid result.json, exit 2 with file/line/field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

from twin.result.io import read_result
from twin.result.result_schema import result_schema

ROOT = Path(__file__).resolve().parents[2]


def twin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_twin_sim_writes_result_run_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "run"
    p = twin("sim", "-t", "topologies/examples/chain-with-branch.yaml", "--duration", "2m",
             "--load", "order=5/s", "--seed", "3", "--replications", "2", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert "order" in p.stdout
    names = sorted(f.name for f in out.iterdir())
    assert names == ["errors.png", "latency.png", "result.json", "run.json", "throughput.png"]
    data = json.loads((out / "result.json").read_text())
    jsonschema.validate(data, result_schema())
    result = read_result(out / "result.json")
    assert result.replications == 2 and result.loads == {"order": "5/s"}
    assert result.runs[0].routes["order"].completed > 400
    run = json.loads((out / "run.json").read_text())
    assert run["wall_seconds"] > 0 and "simpy" in run["versions"]
    assert "wall" not in (out / "result.json").read_text()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no temporary left


def test_twin_sim_bad_input_exits_2_with_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "topologies/examples/one-service.yaml").read_text()
    bad.write_text(text.replace("concurrency: 1 ", "concurrency: -3 "))
    p = twin("sim", "-t", str(bad), "--duration", "10s", "--out", str(tmp_path / "o"))
    assert p.returncode == 2
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "concurrency: 1 " in t)
    assert f"bad.yaml:{line}:" in p.stderr and "services.api.concurrency" in p.stderr
    assert not (tmp_path / "o").exists()
    p = twin("sim", "-t", "topologies/examples/one-service.yaml", "--load", "nope=3")
    assert p.returncode == 2 and "no route named 'nope'" in p.stderr
