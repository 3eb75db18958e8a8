"""The README's first commands work from any directory, and `twin demo` exits with
its verdict (a failing check is 1, not 0)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli import common, demo
from twin.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    code = result.exit_code
    if isinstance(result.exception, common.Exit):
        code = result.exception.code
    return code, result.output


def test_shipped_files_are_found_from_another_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert common.shipped("topologies/eco2-prod.yaml") == ROOT / "topologies" / "eco2-prod.yaml"
    (tmp_path / "topologies").mkdir()
    (tmp_path / "topologies" / "eco2-prod.yaml").write_text("mine")
    assert common.shipped("topologies/eco2-prod.yaml") == Path("topologies/eco2-prod.yaml")
    assert common.shipped("nowhere.yaml") == Path("nowhere.yaml")


def test_demo_exits_with_the_verdict(tmp_path: Path, monkeypatch) -> None:
    failing = ROOT / "examples" / "failing" / "redis-master-crash-tight-slo.yaml"
    monkeypatch.setattr(demo, "DEMO_SCENARIO", str(failing))
    monkeypatch.chdir(tmp_path)
    code, out = _invoke(["demo"])
    assert code == common.CHECK_FAILED, out
    assert "FAILED" in out


def test_demo_without_its_scenario_cannot_run(monkeypatch, capsys) -> None:
    monkeypatch.setattr(demo, "DEMO_SCENARIO", "scenarios/no-such-file.yaml")
    code, _ = _invoke(["demo"])
    assert code == common.CANNOT_RUN


@pytest.mark.parametrize("args", [["status"], ["domain", "chat"], ["graph", "--blast-radius", "redis"]])
def test_model_commands_run_from_another_directory(tmp_path: Path, args) -> None:
    """A new process in another directory: the defaults are decided at start-up."""
    proc = subprocess.run([sys.executable, "-m", "twin.cli", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "cannot read" not in proc.stderr


def test_status_and_domain_read_whole_at_80_columns(tmp_path: Path) -> None:
    """The first commands a new engineer runs: names never break mid-word at 80 columns."""
    env = {**__import__("os").environ, "COLUMNS": "80"}
    outs = []
    for args in (["status"], ["domain", "chat"]):
        proc = subprocess.run([sys.executable, "-m", "twin.cli", *args], capture_output=True,
                              text=True, timeout=120, env=env, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr
        assert max(len(x) for x in proc.stdout.splitlines() if x.startswith(" ")) <= 80
        outs.append(proc.stdout)
    status, chat = outs
    for word in ("k8s-worker-1", "business-logic", "ecoeco-backend", "3300m/3800m"):
        assert f" {word}" in status, word
    for word in ("chat-api-v1-0", "service/chat-api", "k8s-worker-3"):
        assert f" {word} " in chat, word
    assert "chat-api: replicas 4 (v1 3, v2 1)" in chat  # one Deployment per version


def test_output_into_a_pipe_is_120_columns_unless_columns_says() -> None:
    """A CI log is no terminal: Rich's 80 columns would fold check names there."""
    env = {k: v for k, v in __import__("os").environ.items() if k != "COLUMNS"}
    code = "from twin.cli import common; print(common.out.width, common.err.width)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)
    assert proc.stdout.split() == ["120", "120"], proc.stderr
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**env, "COLUMNS": "90"}, cwd=ROOT)
    assert proc.stdout.split() == ["90", "90"], proc.stderr


def test_twin_sim_names_every_bad_option_at_once(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "twin.cli", "sim", "--duration", "5min",
                           "--load", "chta=3/s", "--load", "chat=lots", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    err = " ".join(proc.stderr.split())
    for words in ("--duration 5min", "'lots' is not a rate", "no route named 'chta'", "3 problems found"):
        assert words in err, words
    assert not (tmp_path / "o").exists()


def test_the_console_script_names_the_apps_main() -> None:
    """pyproject's `twin` entry point must resolve to the function `python -m twin.cli` runs."""
    import pkgutil
    import tomllib

    from twin.cli.app import main

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert pkgutil.resolve_name(scripts["twin"]) is main
