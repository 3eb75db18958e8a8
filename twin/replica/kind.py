"""kind by subprocess: preflight, create, delete, image loading.

Every call passes the twin's own kubeconfig file (under the state directory),
so the user's ~/.kube/config and current context never change. A cluster is
the twin's own when its name starts with `twin-` AND the state directory holds
the marker written when the twin created it; `twin down` deletes nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.result.backend import CannotRun

INOTIFY_WATCHES = 524288
INOTIFY_INSTANCES = 512
"""kind's known-issues page: fs.inotify limits that multi-node clusters need."""
MARKER = "cluster.json"


@dataclass
class Preflight:
    found: list[str] = field(default_factory=list)
    """What was checked and found, one line each (tool versions, image, limits)."""
    missing: list[CannotRun] = field(default_factory=list)
    """Every missing piece, in the order a user fixes them."""
    unchecked: list[str] = field(default_factory=list)
    """Checks not made because an earlier piece is missing: `node image X (needs Docker)`."""

    def error(self) -> CannotRun | None:
        """One CannotRun naming every missing piece with how to get it (None: all there).

        A single piece keeps its own message; several are listed, numbered, so a
        user fixes them all in one go rather than one per `twin up`."""
        if not self.missing:
            return None
        skipped = [f"not checked: {u}" for u in self.unchecked]
        if len(self.missing) == 1:
            one = self.missing[0]
            return CannotRun(one.what, "\n".join(x for x in (one.how, *skipped) if x))
        names = ", ".join(m.piece or m.what for m in self.missing)
        steps = []
        for i, m in enumerate(self.missing, 1):
            steps.append(f"{i}. {m.what}")
            if m.how:
                steps.append(f"   -> {m.how}")
        return CannotRun(f"{len(self.missing)} prerequisites missing: {names}", "\n".join([*steps, *skipped]))


def state_dir(cluster: str) -> Path:
    base = os.environ.get("TWIN_STATE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
        root = Path(xdg) / "eco2-twin"
    return root / cluster


def kubeconfig_path(cluster: str) -> Path:
    return state_dir(cluster) / "kubeconfig"


def run(cmd: list[str], timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run a command found on PATH; a missing executable is a CannotRun."""
    exe = shutil.which(cmd[0])
    if exe is None:
        raise CannotRun(f"{cmd[0]} not found on PATH", _HOW.get(cmd[0], ""), cmd[0])
    try:
        proc = subprocess.run([exe, *cmd[1:]], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CannotRun(f"`{' '.join(cmd)}` gave no answer within {timeout:g}s", piece=cmd[0]) from None
    if check and proc.returncode != 0:
        raise CannotRun(f"`{' '.join(cmd)}` failed: {_error_line(proc.stderr or proc.stdout)}")
    return proc


def _error_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors or lines or ["(no output)"])[0]


_HOW = {
    "docker": "install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop",
    "kind": "install kind: `go install sigs.k8s.io/kind@v0.29.0`, or download the binary from "
            "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "istioctl": "install istioctl: https://istio.io/latest/docs/setup/getting-started/#download",
}


# ------------------------------------------------------------------ preflight


_START_DOCKER = ("start the Docker engine (`sudo systemctl start docker`, or open Docker Desktop), "
                 "then check `docker info`")


def docker_engine() -> str:
    try:
        proc = run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=30)
    except CannotRun as e:
        if shutil.which("docker") is None:
            raise CannotRun(e.what, e.how, "Docker") from None
        raise CannotRun(f"Docker engine not reachable ({e.what})", _START_DOCKER, "Docker engine") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        raise CannotRun(f"Docker engine not reachable ({_error_line(proc.stderr or proc.stdout)})",
                        _START_DOCKER, "Docker engine")
    return proc.stdout.strip()


def kind_version() -> str:
    proc = run(["kind", "version"], timeout=30)
    if proc.returncode != 0:
        raise CannotRun(f"kind does not run: {_error_line(proc.stderr)}", _HOW["kind"], "kind")
    return proc.stdout.strip()


def kubectl_version() -> str:
    proc = run(["kubectl", "version", "--client", "-o", "json"], timeout=30)
    if proc.returncode != 0:
        raise CannotRun(f"kubectl does not run: {_error_line(proc.stderr)}", _HOW["kubectl"], "kubectl")
    try:
        return json.loads(proc.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        return proc.stdout.strip()


def node_image(image: str) -> str:
    """'present' or 'pullable'; neither is a CannotRun."""
    if run(["docker", "image", "inspect", "--format", "{{.Id}}", image], timeout=60).returncode == 0:
        return "present"
    if run(["docker", "manifest", "inspect", image], timeout=60).returncode == 0:
        return "pullable"
    raise CannotRun(
        f"kind node image {image} is neither present nor pullable",
        f"on a machine with registry access run `docker pull {image}` "
        f"(or `docker save` it there and `docker load -i` it here)",
        "node image",
    )


def inotify(proc: Path = Path("/proc")) -> tuple[int, int]:
    base = proc / "sys" / "fs" / "inotify"
    watches = int((base / "max_user_watches").read_text())
    instances = int((base / "max_user_instances").read_text())
    if watches < INOTIFY_WATCHES or instances < INOTIFY_INSTANCES:
        raise CannotRun(
            f"inotify limits too low for a multi-node kind cluster "
            f"(max_user_watches {watches}, max_user_instances {instances})",
            f"sudo sysctl fs.inotify.max_user_watches={INOTIFY_WATCHES} "
            f"fs.inotify.max_user_instances={INOTIFY_INSTANCES}",
            "inotify limits",
        )
    return watches, instances


def memory_available(meminfo: Path = Path("/proc/meminfo")) -> int:
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    raise CannotRun(f"cannot read MemAvailable from {meminfo}", piece="free memory")


NODE_OVERHEAD = {"control-plane": 1024 * 2**20, "worker": 300 * 2**20}
SIDECAR_MEMORY = 64 * 2**20
ISTIO_MEMORY = 1024 * 2**20
RESIDENT = {"eco2-twin/standin": 64 * 2**20, "redis": 32 * 2**20, "postgres": 128 * 2**20,
            "rabbitmq": 256 * 2**20, "registry.k8s.io/metrics-server/metrics-server": 64 * 2**20}
"""What a container of these images really holds, roughly: kind reserves nothing
for requests, so the need is resident memory, capped by the request."""


def memory_need(kind_config: dict[str, Any], objects: list[dict[str, Any]], istio: bool) -> int:
    """Bytes the replica needs: kind nodes themselves, Istio, and per pod (HPA
    minimum where one owns replicas) what its containers hold (at most their
    memory request), plus a sidecar in injected namespaces."""
    from twin.model.units import parse_memory

    injected = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"
                and o["metadata"]["labels"].get("istio-injection") == "enabled"}
    hpa_min = {(o["metadata"]["namespace"], o["spec"]["scaleTargetRef"]["name"]): o["spec"]["minReplicas"]
               for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    total = sum(NODE_OVERHEAD.get(n.get("role", "worker"), 0) for n in kind_config.get("nodes", []))
    total += ISTIO_MEMORY if istio else 0
    for o in objects:
        if o["kind"] not in ("Deployment", "StatefulSet"):
            continue
        ns = o["metadata"].get("namespace", "")
        replicas = o["spec"].get("replicas", hpa_min.get((ns, o["metadata"]["name"]), 1))
        pod = 0.0
        for c in o["spec"]["template"]["spec"]["containers"]:
            request = parse_memory(c.get("resources", {}).get("requests", {}).get("memory", 0))
            resident = RESIDENT.get(c["image"].rsplit(":", 1)[0])
            pod += min(request, resident) if resident and request else (resident or request)
        if istio and ns in injected:
            pod += SIDECAR_MEMORY
        total += replicas * pod
    return int(total)


def check(image: str, need: int, proc: Path = Path("/proc")) -> Preflight:
    """Every prerequisite, in the order a user fixes them; one missing piece does
    not hide the next. A check that needs an earlier missing piece (the node image
    needs Docker) is listed as not checked rather than skipped silently."""
    pre = Preflight()

    def piece(fn: Callable[[], str]) -> bool:
        try:
            pre.found.append(fn())
        except CannotRun as e:
            pre.missing.append(e)
            return False
        return True

    docker = piece(lambda: f"Docker engine {docker_engine()}")
    piece(kind_version)
    piece(lambda: f"kubectl {kubectl_version()}")
    if docker:
        piece(lambda: f"node image {image} {node_image(image)}")
    else:
        pre.unchecked.append(f"node image {image} (needs Docker)")
    try:
        watches, instances = inotify(proc)
        pre.found.append(f"inotify max_user_watches {watches}, max_user_instances {instances}")
    except CannotRun as e:
        pre.missing.append(e)
    except (OSError, ValueError) as e:  # not Linux, or /proc not mounted: kind's VM has its own
        pre.unchecked.append(f"inotify limits (cannot read {proc}/sys/fs/inotify: {e})")
    try:
        free = memory_available(proc / "meminfo")
    except OSError as e:
        pre.unchecked.append(f"free memory (cannot read {proc}/meminfo: {e})")
        return pre
    except CannotRun as e:
        pre.missing.append(e)
        return pre
    if free < need:
        pre.missing.append(CannotRun(
            f"not enough free memory: the replica needs about {need / 2**30:.1f} GiB, "
            f"{free / 2**30:.1f} GiB is available",
            "close other workloads, give Docker more memory, or use eco2-dev.yaml "
            "(fewer nodes and replicas)",
            "free memory",
        ))
    else:
        pre.found.append(f"memory: {free / 2**30:.1f} GiB available, about {need / 2**30:.1f} GiB needed")
    return pre


def preflight(image: str, need: int, proc: Path = Path("/proc")) -> Preflight:
    """check(), raising one CannotRun that names every missing piece."""
    pre = check(image, need, proc)
    error = pre.error()
    if error is not None:
        raise error
    return pre


# -------------------------------------------------------------------- cluster


def clusters() -> list[str]:
    proc = run(["kind", "get", "clusters"], timeout=30)
    if proc.returncode != 0:
        # kind lists its clusters from Docker's containers: a stopped engine fails here
        raise CannotRun(f"`kind get clusters` failed: {_error_line(proc.stderr)}", _START_DOCKER, "Docker engine")
    return [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]


def is_ours(name: str) -> bool:
    marker = state_dir(name) / MARKER
    if not name.startswith("twin-") or not marker.exists():
        return False
    try:
        return json.loads(marker.read_text()).get("created_by") == "eco2-twin"
    except ValueError:
        return False


def create(name: str, config: Path, wait: str = "120s") -> Path:
    """`kind create cluster` into the twin's own kubeconfig; returns its path.

    An existing cluster of ours is reused (running `twin up` twice converges);
    one that is not ours is never touched."""
    kubeconfig = kubeconfig_path(name)
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    if name in clusters():
        if not is_ours(name):
            raise CannotRun(
                f"a kind cluster named {name} already exists and was not created by the twin",
                f"delete it yourself (`kind delete cluster --name {name}`) if it is disposable, "
                "or target another cluster with --kubeconfig/--context",
            )
        if not kubeconfig.exists():
            run(["kind", "export", "kubeconfig", "--name", name, "--kubeconfig", str(kubeconfig)],
                check=True)
        return kubeconfig
    proc = run(["kind", "create", "cluster", "--name", name, "--config", str(config),
                "--kubeconfig", str(kubeconfig), "--wait", wait], timeout=900)
    if proc.returncode != 0:
        raise CannotRun(f"kind could not create cluster {name}: {_error_line(proc.stderr)}",
                        "see `kind create cluster` output above; `twin down` removes a half-made cluster")
    (state_dir(name) / MARKER).write_text(json.dumps({"name": name, "created_by": "eco2-twin"}))
    return kubeconfig


def delete(name: str) -> bool:
    """Delete the twin's own cluster; False when there was none of ours.

    Without the twin's marker there is nothing of ours to delete, so kind is not
    even needed; with it, a missing kind says which cluster is left and how to
    remove it. A marker whose cluster is gone is dropped: a later cluster of that
    name, made by someone else, must not pass for ours."""
    if not is_ours(name):
        return False
    try:
        names = clusters()
    except CannotRun as e:
        how = f"{e.how}; then run `twin down` again"
        if shutil.which("kind") is None:
            how += ("\nor, without kind, remove its node containers yourself: `docker rm -f "
                    f"$(docker ps -aq --filter label=io.x-k8s.kind.cluster={name})`")
        raise CannotRun(f"cannot delete the twin's kind cluster {name}: {e.what}", how, e.piece) from None
    if name not in names:
        (state_dir(name) / MARKER).unlink(missing_ok=True)
        return False
    run(["kind", "delete", "cluster", "--name", name, "--kubeconfig", str(kubeconfig_path(name))],
        timeout=300, check=True)
    (state_dir(name) / MARKER).unlink(missing_ok=True)
    kubeconfig_path(name).unlink(missing_ok=True)
    return True


def build_image(image: str, context: Path) -> None:
    run(["docker", "build", "-t", image, str(context)], timeout=900, check=True)


def load_image(name: str, image: str) -> None:
    run(["kind", "load", "docker-image", image, "--name", name], timeout=900, check=True)
