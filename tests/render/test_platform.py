"""Room holders: the platform's pods take the room on the replica's nodes that they
take on the real ones, where their placement lets them run."""

from __future__ import annotations

from sample_topology import eco2

from twin.model.units import format_cpu, format_memory
from twin.render.manifests import render
from twin.render.meta import REPLICA_ONLY
from twin.render.platform import left_out


def test_every_platform_pod_is_held_or_left_to_its_installer() -> None:
    topo = eco2("prod")
    assert topo is not None
    held = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
            for o in render(topo).files["60-platform.yaml"]}
    skipped = set(left_out(topo))
    for item in [*topo.platform, *topo.daemonsets]:
        key = (item.namespace, item.name)
        assert (key in held) != (f"{item.namespace}/{item.name}" in skipped), key
        if key not in held:
            assert item.namespace in ("istio-system", "kube-system")
            continue
        obj = held[key]
        assert obj["metadata"]["labels"][REPLICA_ONLY] == "true"
        pod = obj["spec"]["template"]["spec"]
        req = pod["containers"][0]["resources"]["requests"]
        assert req == {"cpu": format_cpu(item.resources.requests.cpu),
                       "memory": format_memory(item.resources.requests.memory)}
        tolerated = {t.get("key") for t in pod.get("tolerations", [])}
        assert tolerated == {t.key for t in item.placement.tolerations}
    assert ("argocd", "argocd-application-controller") in held
    assert held[("argocd", "argocd-application-controller")]["kind"] == "StatefulSet"
    assert held[("prometheus", "node-exporter")]["kind"] == "DaemonSet"
    assert "istio-system/istiod" in skipped


def test_room_holders_tolerate_no_api_taint_the_model_does_not_give_them() -> None:
    topo = eco2("prod")
    for obj in render(topo).files["60-platform.yaml"]:
        pod = obj["spec"]["template"]["spec"]
        if obj["kind"] == "DaemonSet":
            assert {"operator": "Exists"} in pod["tolerations"]  # on every node
        else:
            assert all(t.get("key") != "workload-type" for t in pod.get("tolerations", []))
