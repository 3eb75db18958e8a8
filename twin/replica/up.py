"""`twin up` and `twin down`: the replica from the model, end to end.

up: render; on kind, preflight, `kind create cluster` (or reuse the twin's own),
build the stand-in image and `kind load` it; install Istio with istioctl when
present (otherwise leave the Istio objects out and say so); refuse a cluster
that already runs Eco2 namespaces not managed by the twin (a shared or the real
one); server-side apply; wait for rollouts. Running it again converges.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3

from twin.model.topology import Topology
from twin.render.istio_fields import is_istio
from twin.render.kind_config import cluster_name
from twin.render.manifests import Rendered, dump, render
from twin.render.meta import STANDIN_IMAGE
from twin.replica import kind
from twin.replica.kind import CannotRun

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standin"
Say = Callable[[str], None]


@dataclass
class UpReport:
    cluster: str | None
    kubeconfig: Path | None
    context: str | None
    applied: str = ""
    left_out: list[str] = field(default_factory=list)


def uses_standin(rendered: Rendered) -> bool:
    return any(c.get("image") == STANDIN_IMAGE
               for o in rendered.objects if o["kind"] in ("Deployment", "StatefulSet")
               for c in o["spec"]["template"]["spec"]["containers"])


def guard_dedicated(api: Any) -> None:
    """The replica's namespaces, mesh-wide policy and StorageClass are cluster-wide:
    never apply them onto a cluster whose Eco2 namespaces someone else manages."""
    from kubernetes import client

    nss = client.CoreV1Api(api).list_namespace(label_selector="app.kubernetes.io/part-of=ecoeco-backend")
    foreign = [n.metadata.name for n in nss.items
               if (n.metadata.labels or {}).get("app.kubernetes.io/managed-by") != "eco2-twin"]
    if foreign:
        raise CannotRun(
            "the target cluster already has Eco2 namespaces the twin does not manage "
            f"({', '.join(sorted(foreign))}): it looks shared or real",
            "use a dedicated cluster or vcluster (`vcluster create twin`), or let `twin up` "
            "create a kind cluster (no --kubeconfig)",
        )


def install_istio(kubeconfig: Path | str, context: str | None, say: Say) -> None:
    cmd = ["istioctl", "install", "-y", "--set", "profile=default", "--kubeconfig", str(kubeconfig)]
    if context:
        cmd += ["--context", context]
    say("installing Istio: " + " ".join(cmd))
    kind.run(cmd, timeout=900, check=True)


def up(topo: Topology, kubeconfig: Path | None = None, context: str | None = None,
       say: Say = print, timeout: float = 900, proc: Path = Path("/proc"),
       node_timeout: float = 300) -> UpReport:
    from twin.replica.apply import api_client, apply
    from twin.replica.rollout import wait, wait_nodes

    rendered = render(topo)
    with_istio = shutil.which("istioctl") is not None
    name = None
    if kubeconfig is None:
        name = cluster_name(topo)
        image = rendered.kind_config["nodes"][0]["image"]
        need = kind.memory_need(rendered.kind_config, rendered.objects, with_istio)
        pre = kind.check(image, need, proc)
        for line in pre.found:
            say(f"ok  {line}")
        error = pre.error()
        if error is not None:  # every missing piece at once, after what is already there
            raise error
        state = kind.state_dir(name)
        state.mkdir(parents=True, exist_ok=True)
        config = state / "kind-config.yaml"
        config.write_text(dump([rendered.kind_config]))
        say(f"cluster {name} (kubeconfig {kind.kubeconfig_path(name)})")
        kubeconfig = kind.create(name, config)
        context = f"kind-{name}"
        if uses_standin(rendered):
            say(f"building the stand-in image {STANDIN_IMAGE}")
            kind.build_image(STANDIN_IMAGE, STANDIN_DIR)
            kind.load_image(name, STANDIN_IMAGE)
    report = UpReport(name, kubeconfig, context)
    try:
        api = api_client(kubeconfig, context)
    except Exception as e:  # kubernetes.config.ConfigException, a missing or unreadable file
        raise CannotRun(f"cannot use kubeconfig {kubeconfig}"
                        f"{f' context {context}' if context else ''}: {e}",
                        "check --kubeconfig/--context (`kubectl config get-contexts "
                        "--kubeconfig FILE`)") from None
    if name is not None:
        wait_nodes(api, len(rendered.kind_config["nodes"]), timeout=node_timeout, progress=say)
    try:
        guard_dedicated(api)
    except urllib3.exceptions.HTTPError as e:  # refused, timed out: after the client's retries
        raise CannotRun(f"cannot reach the cluster of {kubeconfig}"
                        f"{f' context {context}' if context else ''}: "
                        f"{getattr(e, 'reason', None) or e}",
                        "is the cluster up, and is this the right kubeconfig?") from None
    objects = rendered.objects
    if with_istio:
        install_istio(kubeconfig, context, say)
    else:
        left = [o for o in objects if is_istio(o)]
        objects = [o for o in objects if not is_istio(o)]
        report.left_out.append(
            f"Istio (istioctl not found): {len(left)} Gateway/VirtualService/DestinationRule/"
            "PeerAuthentication objects not applied, no sidecars, no canary split, no mTLS")
        say("left out: " + report.left_out[-1])
    result = apply(objects, api, progress=say)
    report.applied = result.summary()
    say(f"applied: {report.applied}")
    wait(objects, api, timeout=timeout, progress=say)
    return report


def down(topo: Topology) -> bool:
    """Delete the twin's own kind cluster for this topology; False when none was up."""
    return kind.delete(cluster_name(topo))
