"""A text field given a number (`kubernetes_version: 1.31`, which YAML reads as a float)
takes the number's text as written, from the file or the `--set`; where that text cannot
be found (an anchor's value), the problem says to quote it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")
QUOTED = 'kubernetes_version: "1.33"'


def _base(tmp_path: Path, written: str) -> Path:
    assert QUOTED in BASE
    path = tmp_path / "base.yaml"
    path.write_text(BASE.replace(QUOTED, f"kubernetes_version: {written}"), encoding="utf-8")
    return path


@pytest.mark.parametrize("text", ["1.31", "1.30", "1.3"])
def test_a_set_takes_the_text_as_written(text: str) -> None:
    topo = load_topology(ROOT / "topologies" / "eco2-prod.yaml", [f"cluster.kubernetes_version={text}"])
    assert topo.cluster.kubernetes_version == text  # 1.30 is not 1.3


@pytest.mark.parametrize("written", ["1.30", "1.31   # a comment", "1.29"])
def test_a_file_takes_the_text_as_written(tmp_path: Path, written: str) -> None:
    topo = load_topology(_base(tmp_path, written))
    assert topo.cluster.kubernetes_version == written.split()[0]


def test_a_number_whose_text_is_not_at_hand_says_to_quote_it(tmp_path: Path) -> None:
    path = _base(tmp_path, "&v 1.30")
    with pytest.raises(ModelError) as e:
        load_topology(path)
    (problem,) = e.value.problems
    assert (problem.file, problem.field) == (str(path), "cluster.kubernetes_version")
    assert problem.message == ("Input should be a valid string: YAML read a number (1.3); "
                               "write the text in quotes")


def test_a_number_for_a_number_field_is_unchanged() -> None:
    topo = load_topology(ROOT / "topologies" / "eco2-prod.yaml", ["services.chat-api.replicas=4"])
    assert topo.service("chat-api").replicas == 4


def test_the_command_runs_with_the_version_given(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "twin.cli", "status", "--set",
                          "cluster.kubernetes_version=1.31"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
