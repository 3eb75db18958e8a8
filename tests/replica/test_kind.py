"""kind by subprocess, against fake `docker`, `kind` and `kubectl` on PATH:
the exact commands run, and a clear message (exit 3) for each missing piece."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fakebin import commands, environ, install
from typer.testing import CliRunner

from twin.cli import common
from twin.cli.app import app
from twin.replica import kind

IMAGE = "kindest/node:v1.33.1"
ROOT = Path(__file__).resolve().parents[2]
DOCKER_INFO = ["docker", "info", "--format", "{{.ServerVersion}}"]
KIND_VERSION = ["kind", "version"]
KUBECTL_VERSION = ["kubectl", "version", "--client", "-o", "json"]
IMAGE_INSPECT = ["docker", "image", "inspect", "--format", "{{.Id}}", IMAGE]
PREFLIGHT = [DOCKER_INFO, KIND_VERSION, KUBECTL_VERSION, IMAGE_INSPECT]


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    install(bin_dir)
    for key, value in environ(tmp_path, bin_dir).items():
        monkeypatch.setenv(key, value)
    return tmp_path


def _proc(tmp: Path, watches: int = 524288, instances: int = 512, free_gib: float = 16) -> Path:
    base = tmp / "proc"
    (base / "sys/fs/inotify").mkdir(parents=True)
    (base / "sys/fs/inotify/max_user_watches").write_text(f"{watches}\n")
    (base / "sys/fs/inotify/max_user_instances").write_text(f"{instances}\n")
    (base / "meminfo").write_text(f"MemTotal: 33554432 kB\nMemAvailable: {int(free_gib * 2**20)} kB\n")
    return base


def test_preflight_passes_and_says_what_it_found(tools: Path) -> None:
    found = kind.preflight(IMAGE, need=4 * 2**30, proc=_proc(tools)).found
    assert commands(tools / "commands.log") == PREFLIGHT
    assert found[:4] == ["Docker engine 27.3.1", "kind v0.29.0 go1.24.2 linux/amd64",
                         "kubectl v1.33.1", f"node image {IMAGE} present"]
    assert "16.0 GiB available, about 4.0 GiB needed" in found[-1]


def test_docker_down(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    with pytest.raises(kind.CannotRun) as err:
        kind.preflight(IMAGE, need=0, proc=_proc(tools))
    assert err.value.what == ("Docker engine not reachable (Cannot connect to the Docker daemon at "
                              "unix:///var/run/docker.sock. Is the docker daemon running?)")
    assert "start the Docker engine" in err.value.how
    assert f"not checked: node image {IMAGE} (needs Docker)" in err.value.how
    # kind and kubectl are still checked; the node image, which needs Docker, is not
    assert commands(tools / "commands.log") == [DOCKER_INFO, KIND_VERSION, KUBECTL_VERSION]


def test_kind_missing(tools: Path) -> None:
    (tools / "bin" / "kind").unlink()
    with pytest.raises(kind.CannotRun) as err:
        kind.preflight(IMAGE, need=0, proc=_proc(tools))
    assert err.value.what == "kind not found on PATH"
    assert "go install sigs.k8s.io/kind@" in err.value.how
    assert commands(tools / "commands.log") == [DOCKER_INFO, KUBECTL_VERSION, IMAGE_INSPECT]


def test_node_image_missing(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_IMAGE_MISSING", "1")
    with pytest.raises(kind.CannotRun) as err:
        kind.preflight(IMAGE, need=0, proc=_proc(tools))
    assert err.value.what == f"kind node image {IMAGE} is neither present nor pullable"
    assert f"docker pull {IMAGE}" in err.value.how
    assert commands(tools / "commands.log") == [*PREFLIGHT, ["docker", "manifest", "inspect", IMAGE]]


def test_inotify_and_memory_limits(tools: Path) -> None:
    with pytest.raises(kind.CannotRun, match="max_user_watches 8192") as err:
        kind.preflight(IMAGE, need=0, proc=_proc(tools, watches=8192))
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in err.value.how
    with pytest.raises(kind.CannotRun, match=r"needs about 12\.0 GiB, 2\.0 GiB is available"):
        kind.preflight(IMAGE, need=12 * 2**30, proc=_proc(tools / "b", free_gib=2))


def test_cluster_exists_not_ours_is_never_touched(tools: Path) -> None:
    (tools / "clusters").write_text("twin-eco2-dev\n")
    with pytest.raises(kind.CannotRun) as err:
        kind.create("twin-eco2-dev", tools / "kind-config.yaml")
    assert err.value.what == "a kind cluster named twin-eco2-dev already exists and was not created by the twin"
    assert commands(tools / "commands.log") == [["kind", "get", "clusters"]]
    assert kind.delete("twin-eco2-dev") is False  # twin down leaves it alone too
    assert ["kind", "delete", "cluster"] not in [c[:3] for c in commands(tools / "commands.log")]


def test_kind_create_error_line_is_reported(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_CREATE_FAILS", 'ERROR: failed to create cluster: node(s) already exist '
                                            'for a cluster with the name "twin-eco2-dev"')
    with pytest.raises(kind.CannotRun) as err:
        kind.create("twin-eco2-dev", tools / "kind-config.yaml")
    assert err.value.what == ('kind could not create cluster twin-eco2-dev: ERROR: failed to create cluster: '
                              'node(s) already exist for a cluster with the name "twin-eco2-dev"')


def _invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, args)
    if isinstance(result.exception, common.Exit):
        return result.exception.code, result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_twin_up_exits_3_when_docker_is_down(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fast_preflight(monkeypatch)
    monkeypatch.setenv("FAKE_DOCKER_DOWN", "1")
    code, out = _invoke(["up", "-t", str(ROOT / "topologies/eco2-dev.yaml")])
    assert code == common.CANNOT_RUN
    assert commands(tools / "commands.log") == [DOCKER_INFO, KIND_VERSION, KUBECTL_VERSION]
    assert "ok  kubectl v1.33.1" in out                   # what is there is still said
    assert "cannot run: Docker engine not reachable" in out
    assert "kind get clusters" not in out and ["kind", "create", "cluster"] not in [
        c[:3] for c in commands(tools / "commands.log")]


KIND_NODES = ("twin-eco2-dev-control-plane", "twin-eco2-dev-worker", "twin-eco2-dev-worker2")


def _with_nodes(api, not_ready: tuple[str, ...] = ()):  # noqa: ANN001, ANN202 - FakeAPI
    """The nodes kind registers for eco2-dev; those in `not_ready` stay NotReady."""
    for name in KIND_NODES:
        api.add({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                 "status": {"conditions": [{"type": "Ready",
                                            "status": "False" if name in not_ready else "True"}]}})
    return api


def _fast_preflight(monkeypatch: pytest.MonkeyPatch) -> None:
    import twin.replica.kind as kind_mod

    monkeypatch.setattr(kind_mod, "INOTIFY_WATCHES", 0)       # this machine's limits are not the test's
    monkeypatch.setattr(kind_mod, "INOTIFY_INSTANCES", 0)
    monkeypatch.setattr(kind_mod, "memory_available", lambda meminfo=None: 64 * 2**30)


def test_twin_up_waits_for_every_node_and_names_the_not_ready_one(
        tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kind's --wait exits 0 with workers still NotReady: twin up checks them itself."""
    from fakeapi import FakeAPI, Server

    import twin.replica.rollout as rollout_mod

    _fast_preflight(monkeypatch)
    real_wait_nodes = rollout_mod.wait_nodes
    monkeypatch.setattr(rollout_mod, "wait_nodes",
                        lambda api, n, timeout, progress: real_wait_nodes(api, n, timeout, 0.05, progress))
    with Server(_with_nodes(FakeAPI(), not_ready=("twin-eco2-dev-worker2",))) as server:
        monkeypatch.setenv("FAKE_SERVER", server.url)
        code, out = _invoke(["up", "-t", str(ROOT / "topologies/eco2-dev.yaml"), "--node-timeout", "0.5"])
        assert code == common.CHECK_FAILED, out
        assert "nodes Ready: 2 of 3 (NotReady: twin-eco2-dev-worker2)" in out
        assert "nodes not Ready after 0.5s: NotReady: twin-eco2-dev-worker2" in out
        assert not server.api.applies()                  # nothing applied onto a half-ready cluster
        node_lists = [r for r in server.api.requests if r.method == "GET" and r.path == "/api/v1/nodes"]
        assert len(node_lists) >= 3                      # polled, not asked once


def test_node_wait_counts_nodes_that_have_not_registered_yet(fake, api) -> None:
    from twin.replica.rollout import RolloutFailed, wait_nodes

    _with_nodes(fake.api)
    with pytest.raises(RolloutFailed, match="1 node\\(s\\) never registered"):
        wait_nodes(api, 4, timeout=0.2, interval=0.05)
    assert wait_nodes(api, 3, timeout=1, interval=0.05) == sorted(KIND_NODES)


def test_twin_up_twice_then_down_with_fake_tools_and_api(tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakeapi import FakeAPI, Server

    import twin.replica.kind as kind_mod

    monkeypatch.setattr(kind_mod, "INOTIFY_WATCHES", 0)       # this machine's limits are not the test's
    monkeypatch.setattr(kind_mod, "INOTIFY_INSTANCES", 0)
    monkeypatch.setattr(kind_mod, "memory_available", lambda meminfo=None: 64 * 2**30)
    user_kubeconfig = tools / "home" / ".kube" / "config"
    user_kubeconfig.parent.mkdir(parents=True)
    user_kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: work\n")
    monkeypatch.setenv("KUBECONFIG", str(user_kubeconfig))
    with Server(_with_nodes(FakeAPI())) as server:
        monkeypatch.setenv("FAKE_SERVER", server.url)
        topo = str(ROOT / "topologies/eco2-dev.yaml")
        code, out = _invoke(["up", "-t", topo, "--timeout", "30"])
        assert code == 0, out
        assert "nodes Ready: 3 of 3" in out
        state = tools / "state" / "twin-eco2-dev"
        log = commands(tools / "commands.log")
        assert log == [
            *PREFLIGHT,
            ["kind", "get", "clusters"],
            ["kind", "create", "cluster", "--name", "twin-eco2-dev", "--config", str(state / "kind-config.yaml"),
             "--kubeconfig", str(state / "kubeconfig"), "--wait", "120s"],
            ["docker", "build", "-t", "eco2-twin/standin:0.1.0", str(ROOT / "standin")],
            ["kind", "load", "docker-image", "eco2-twin/standin:0.1.0", "--name", "twin-eco2-dev"],
        ]
        cfg = yaml.safe_load((state / "kind-config.yaml").read_text())
        assert cfg["name"] == "twin-eco2-dev" and len(cfg["nodes"]) == 3
        created = {k for k in server.api.objects}
        assert ("apps", "Deployment", "chat", "chat-api-v1") in created
        assert not [o for k, o in server.api.objects.items() if k[0].endswith("istio.io")]  # no istioctl
        applies = len(server.api.applies())
        # second run: the cluster is reused, nothing recreated
        code, out = _invoke(["up", "-t", topo, "--timeout", "30"])
        assert code == 0, out
        log2 = commands(tools / "commands.log")[len(log):]
        assert ["kind", "create", "cluster"] not in [c[:3] for c in log2]
        assert not [r for r in server.api.requests if r.method in ("POST", "DELETE", "PUT")]
        assert len(server.api.applies()) == 2 * applies
        code, out = _invoke(["down", "-t", topo])
        assert code == 0 and "deleted kind cluster twin-eco2-dev" in out
        assert commands(tools / "commands.log")[-1] == [
            "kind", "delete", "cluster", "--name", "twin-eco2-dev", "--kubeconfig", str(state / "kubeconfig")]
    assert user_kubeconfig.read_text() == "apiVersion: v1\nkind: Config\ncurrent-context: work\n"


def test_memory_need_counts_nodes_pods_hpa_minimum_and_sidecars() -> None:
    cfg = {"nodes": [{"role": "control-plane"}, {"role": "worker"}]}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"istio-injection": "enabled"}}}

    def deploy(name: str, image: str, memory: str, replicas: int | None) -> dict:
        spec = {"template": {"spec": {"containers": [
            {"name": "c", "image": image, "resources": {"requests": {"memory": memory}}}]}}}
        if replicas is not None:
            spec["replicas"] = replicas
        return {"kind": "Deployment", "metadata": {"name": name, "namespace": "a"}, "spec": spec}

    hpa = {"kind": "HorizontalPodAutoscaler", "metadata": {"name": "api", "namespace": "a"},
           "spec": {"scaleTargetRef": {"name": "api"}, "minReplicas": 3}}
    objects = [ns, hpa, deploy("api", "eco2-twin/standin:0.1.0", "256Mi", None),
               deploy("real", "example/app:1", "100Mi", 2)]
    mib = 2**20
    base = 1024 * mib + 300 * mib
    # stand-in: min(256Mi request, 64Mi resident) x HPA min 3; real image: its request x 2
    assert kind.memory_need(cfg, objects, istio=False) == base + 3 * 64 * mib + 2 * 100 * mib
    assert kind.memory_need(cfg, objects, istio=True) == (base + 1024 * mib + 3 * (64 + 64) * mib
                                                           + 2 * (100 + 64) * mib)
