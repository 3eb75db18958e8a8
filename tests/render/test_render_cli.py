"""`twin render`: files written, deterministic, bad input exits 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from twin.cli import common
from twin.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def _invoke(args: list[str]) -> int:
    result = CliRunner().invoke(app, args)
    if isinstance(result.exception, common.Exit):
        return result.exception.code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code


def test_render_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    topo = str(ROOT / "topologies/eco2-prod.yaml")
    assert _invoke(["render", "-t", topo, "--out", str(tmp_path / "a")]) == 0
    assert _invoke(["render", "-t", topo, "--out", str(tmp_path / "b")]) == 0
    a = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    b = {p.name: p.read_bytes() for p in (tmp_path / "b").iterdir()}
    assert a == b and "kind-config.yaml" in a and len(a) == 8


def test_render_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: twin.eco2/v1\nkind: Topology\ncluster: {name: x}\npools: []\n")
    assert _invoke(["render", "-t", str(bad), "--out", str(tmp_path / "out")]) == common.BAD_INPUT
    assert not (tmp_path / "out").exists()


def test_render_keeps_other_files_in_out_and_refuses_a_file(tmp_path: Path) -> None:
    """--out . must never wipe a user's folder; a stale manifest of ours is replaced."""
    from typer.testing import CliRunner

    from twin.cli.app import app

    out = tmp_path / "k8s"
    out.mkdir()
    (out / "notes.txt").write_text("important")
    (out / "99-old.yaml").write_text("stale: true")
    result = CliRunner().invoke(app, ["render", "-t", "topologies/eco2-dev.yaml", "--out", str(out),
                                      "--no-check"])
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "important"
    assert not (out / "99-old.yaml").exists()
    assert (out / "kind-config.yaml").exists()
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = CliRunner().invoke(app, ["render", "-t", "topologies/eco2-dev.yaml", "--out", str(afile)])
    assert getattr(result.exception, "code", None) == 2, result.output
    assert afile.read_text() == "x"
