"""Preflight names every missing piece at once (exit 3), in the order a user fixes
them, and `twin down` says clearly what it needs; fake tools on PATH (fakebin)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fakebin import commands, environ, install
from test_kind import _invoke

from twin.cli import common
from twin.replica import kind

IMAGE = "kindest/node:v1.33.1"
DEV = str(Path(__file__).resolve().parents[2] / "topologies" / "eco2-dev.yaml")
CLUSTER = "twin-eco2-dev"


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    install(tmp_path / "bin")
    for key, value in environ(tmp_path, tmp_path / "bin").items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _proc(tmp: Path, watches: int = 524288, free_gib: float = 16) -> Path:
    base = tmp / "proc"
    (base / "sys/fs/inotify").mkdir(parents=True)
    (base / "sys/fs/inotify/max_user_watches").write_text(f"{watches}\n")
    (base / "sys/fs/inotify/max_user_instances").write_text("512\n")
    (base / "meminfo").write_text(f"MemAvailable: {int(free_gib * 2**20)} kB\n")
    return base




def _up_on_this_proc(monkeypatch: pytest.MonkeyPatch, proc: Path) -> None:
    """`twin up` reads /proc; point it at the test's own (this machine's limits are not the test's)."""
    import twin.replica.up as up_mod

    real = up_mod.kind.check
    monkeypatch.setattr(up_mod.kind, "check", lambda image, need, _proc=None: real(image, need, proc))


def test_docker_down_and_kind_missing_are_named_in_one_message(
        tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tools / "bin" / "kind").unlink()
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    with pytest.raises(kind.CannotRun) as err:
        kind.preflight(IMAGE, need=0, proc=_proc(tools))
    e = err.value
    assert e.what == "2 prerequisites missing: Docker engine, kind"
    how = e.how.splitlines()
    # numbered in the order a user fixes them, each with how to get it
    assert how[0].startswith("1. Docker engine not reachable (Cannot connect to the Docker daemon")
    assert how[1].startswith("   -> start the Docker engine")
    assert how[2] == "2. kind not found on PATH"
    assert how[3].startswith("   -> install kind: `go install sigs.k8s.io/kind@")
    assert how[4] == f"not checked: node image {IMAGE} (needs Docker)"
    assert len(how) == 5
    # kubectl is checked even so; the image is not asked of a Docker that is down
    assert [c[:2] for c in commands(tools / "commands.log")] == [["docker", "info"], ["kubectl", "version"]]


def test_twin_up_with_two_pieces_missing_exits_3_naming_both(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tools / "bin" / "kind").unlink()
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    _up_on_this_proc(monkeypatch, _proc(tools))
    code, out = _invoke(["up", "-t", DEV])
    assert code == common.CANNOT_RUN == 3
    text = " ".join(out.split())  # Rich folds long lines
    assert "cannot run: 2 prerequisites missing: Docker engine, kind" in text
    assert text.index("Docker engine not reachable") < text.index("kind not found on PATH")
    assert "sudo systemctl start docker" in text and "go install sigs.k8s.io/kind@" in text
    assert f"not checked: node image {IMAGE} (needs Docker)" in text
    assert "ok  kubectl v1.33.1" in out and "ok  memory:" in out
    assert not (tools / "state" / CLUSTER / kind.MARKER).exists()  # nothing created


def test_every_missing_piece_in_fixing_order(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_IMAGE_MISSING", "1")
    (tools / "bin" / "kubectl").unlink()
    pre = kind.check(IMAGE, need=12 * 2**30, proc=_proc(tools, watches=8192, free_gib=2))
    assert [m.piece for m in pre.missing] == ["kubectl", "node image", "inotify limits", "free memory"]
    assert pre.found == ["Docker engine 27.3.1", "kind v0.29.0 go1.24.2 linux/amd64"]
    assert pre.unchecked == []
    e = pre.error()
    assert e is not None
    assert e.what == "4 prerequisites missing: kubectl, node image, inotify limits, free memory"
    assert [ln[:3] for ln in e.how.splitlines() if ln[:1].isdigit()] == ["1. ", "2. ", "3. ", "4. "]
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in e.how and f"docker pull {IMAGE}" in e.how


def test_unreadable_proc_is_not_checked_rather_than_a_traceback(tools: Path) -> None:
    pre = kind.check(IMAGE, need=0, proc=tools / "no-proc")
    assert pre.missing == [] and pre.error() is None
    assert [u.split(" (")[0] for u in pre.unchecked] == ["inotify limits", "free memory"]


def test_a_tool_that_hangs_is_a_cannot_run(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - subprocess.run's signature
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(kind.subprocess, "run", hang)
    with pytest.raises(kind.CannotRun) as err:
        kind.docker_engine()
    assert err.value.what == ("Docker engine not reachable (`docker info --format {{.ServerVersion}}` "
                              "gave no answer within 30s)")
    assert "start the Docker engine" in err.value.how


def test_down_without_kind_and_nothing_of_ours_says_so_and_needs_no_kind(tools: Path) -> None:
    (tools / "bin" / "kind").unlink()
    code, out = _invoke(["down", "-t", DEV])
    assert code == 0
    assert f"no replica {CLUSTER} of the twin's is up" in out
    assert commands(tools / "commands.log") == []


def _ours(tools: Path) -> Path:
    state = tools / "state" / CLUSTER
    state.mkdir(parents=True)
    (state / kind.MARKER).write_text(json.dumps({"name": CLUSTER, "created_by": "eco2-twin"}))
    (tools / "clusters").write_text(CLUSTER + "\n")
    return state


def test_down_without_kind_when_our_cluster_is_up_says_which_and_how(tools: Path) -> None:
    state = _ours(tools)
    (tools / "bin" / "kind").unlink()
    code, out = _invoke(["down", "-t", DEV])
    text = " ".join(out.split())
    assert code == common.CANNOT_RUN
    assert f"cannot run: cannot delete the twin's kind cluster {CLUSTER}: kind not found on PATH" in text
    assert "install kind" in text and "then run `twin down` again" in text
    assert f"docker ps -aq --filter label=io.x-k8s.kind.cluster={CLUSTER}" in text
    assert (state / kind.MARKER).exists()  # still ours: a later `twin down` can delete it


def test_down_with_docker_down_says_start_docker_not_install_kind(
        tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _ours(tools)
    script = (tools / "bin" / "kind").read_text()
    # real kind lists clusters from Docker's containers: with the engine down it fails
    (tools / "bin" / "kind").write_text(script.replace(
        'if args[:2] == ["get", "clusters"]:',
        'if args[:2] == ["get", "clusters"] and os.environ.get("FAKE_DOCKER_DOWN"):\n'
        '        sys.stderr.write("ERROR: failed to list clusters: command \\"docker ps\\" failed\\n")\n'
        '        sys.exit(1)\n'
        '    if args[:2] == ["get", "clusters"]:'))
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    with pytest.raises(kind.CannotRun) as err:
        kind.delete(CLUSTER)
    assert err.value.what == (f"cannot delete the twin's kind cluster {CLUSTER}: `kind get clusters` failed: "
                              "ERROR: failed to list clusters: command \"docker ps\" failed")
    assert err.value.how.startswith("start the Docker engine")
    assert "install kind" not in err.value.how and "docker rm" not in err.value.how


def test_marker_of_a_cluster_that_is_gone_is_dropped(tools: Path) -> None:
    state = _ours(tools)
    (tools / "clusters").write_text("")
    assert kind.delete(CLUSTER) is False
    assert not (state / kind.MARKER).exists()  # a later foreign twin-eco2-dev is not taken for ours
    assert ["kind", "delete", "cluster"] not in [c[:3] for c in commands(tools / "commands.log")]
