"""`--out` on a file or an unwritable place: exit 2 before any work, nothing written."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from twin.cli.app import main
from twin.cli.out_dir import problems

ROOT = Path(__file__).resolve().parents[2]
PROD = str(ROOT / "topologies" / "eco2-prod.yaml")
SCENARIO = str(ROOT / "scenarios" / "redis-master-crash.yaml")
COMMANDS = {  # each would run for minutes if it did not stop first
    "sim": ["sim", "-t", PROD, "--duration", "10h"],
    "run": ["run", SCENARIO, "--set", "scenario.duration=10h"],
    "render": ["render", "-t", PROD],
}


def twin(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["twin", *args])
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code or 0, capsys.readouterr().err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"" for p in folder.rglob("*")}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(("place", "words"), [
    ("a-file", "--out: exists and is not a directory"),
    ("a-file/sub/dir", "a-file is a file, not a folder"),
])
def test_out_on_a_file_is_bad_input_before_any_work(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        command: str, place: str, words: str) -> None:
    (tmp_path / "a-file").write_text("keep me\n")
    before = tree(tmp_path)
    started = time.perf_counter()
    code, err = twin([*COMMANDS[command], "--out", str(tmp_path / place)], monkeypatch, capsys)
    assert code == 2, err
    assert f"{tmp_path / place}: " in err and words in err and "Traceback" not in err
    assert time.perf_counter() - started < 60  # the ten simulated hours never started
    assert tree(tmp_path) == before  # nothing written, nothing half-written


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_out_in_a_place_that_takes_no_files_is_bad_input(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, command: str) -> None:
    code, err = twin([*COMMANDS[command], "--out", "/proc/twin-out"], monkeypatch, capsys)
    assert code == 2, err
    assert "/proc/twin-out: --out: cannot write in /proc" in err


def test_out_is_named_with_the_other_problems(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
                                              tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    code, err = twin(["sim", "-t", PROD, "--duration", "soon", "--out", str(tmp_path / "f")],
                     monkeypatch, capsys)
    assert code == 2
    assert "--out: exists and is not a directory" in err and "'soon' is not a duration" in err


def test_junit_on_a_folder_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    code, err = twin([*COMMANDS["run"], "--junit", str(tmp_path)], monkeypatch, capsys)
    assert code == 2
    assert f"{tmp_path}: --junit: is a directory; name a file" in err


def test_writable_places_pass(tmp_path: Path) -> None:
    (tmp_path / "existing").mkdir()
    (tmp_path / "report.xml").write_text("<old/>")
    assert problems("--out", tmp_path / "existing") == []
    assert problems("--out", tmp_path / "new" / "deeper") == []
    assert problems("--out", Path("out/sim")) == [] or not os.access(".", os.W_OK)
    assert problems("--junit", tmp_path / "report.xml", directory=False) == []  # CI writes it each run
    assert problems("--out", None) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a folder of mode 0555")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    assert problems("--out", folder)[0].message == f"cannot write in {folder}"
