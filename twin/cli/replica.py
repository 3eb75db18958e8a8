"""`twin render`, `twin up`, `twin down`: the local replica on kind.

Thin: load the topology, call twin.render / twin.replica, print. A missing
piece (Docker, kind, node image, memory...) exits 3 with what and how.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from twin.cli import common, out_dir
from twin.model.errors import ModelError

TopologyOpt = Annotated[Path, typer.Option("-t", "--topology", help="Topology file.")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="PATH=VALUE override (repeatable).")]


def _exit(e: common.Exit) -> NoReturn:
    raise e


def _load(path: Path, sets: list[str] | None):  # noqa: ANN202 - a Topology
    from twin.loading.files import load_topology
    from twin.model.errors import ModelError

    common.warn_sets(sets)
    try:
        return load_topology(path, sets or ())
    except ModelError as e:
        _exit(common.bad_input(e))


def _say(line: str) -> None:
    common.err.print(line, markup=False, soft_wrap=True, highlight=False)


def render_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory for kind-config.yaml and manifests.")],
    topology: TopologyOpt = common.DEFAULT_TOPOLOGY,
    set_: SetOpt = None,
    check: Annotated[bool, typer.Option(help="Validate offline against Kubernetes and Istio schemas.")] = True,
) -> None:
    """The kind cluster config and the manifests of the replica, written atomically."""
    from twin.render.manifests import render, write

    if bad := out_dir.problems("--out", out):
        raise common.bad_input(ModelError(bad))
    topo = _load(topology, set_)
    rendered = render(topo)
    try:
        import kubernetes_validate  # noqa: F401
    except ImportError:
        if check:
            _say("note: kubernetes-validate is not installed; schema check skipped "
                 "(pip install kubernetes-validate)")
        check = False
    if check:
        from twin.render.manifest_check import check_kind_config, check_objects

        report = check_objects(rendered.objects, topo.cluster.kubernetes_version)
        if report.note:
            _say(f"note: {report.note}")
        problems = report.problems + check_kind_config(rendered.kind_config)
        if problems:
            for p in problems:
                _say(p)
            _say(f"{len(problems)} rendered object problem(s); nothing written")
            raise common.Exit(common.CHECK_FAILED)
    for path in write(rendered, out):
        n = len(rendered.files.get(path.name, [rendered.kind_config]))
        common.out.print(f"{path}  ({n} object{'s' if n != 1 else ''})", markup=False)


def up(
    topology: TopologyOpt = common.DEV_TOPOLOGY,
    set_: SetOpt = None,
    kubeconfig: Annotated[Path | None, typer.Option(
        help="Target this dedicated cluster (or vcluster) instead of creating a kind cluster.")] = None,
    context: Annotated[str | None, typer.Option(help="Context in --kubeconfig.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for rollouts.")] = 900,
    node_timeout: Annotated[float, typer.Option(
        help="Seconds to wait for every new kind node to be Ready (kind's --wait covers the "
             "control plane only).")] = 300,
) -> None:
    """Create (or converge) the local replica: kind, stand-in image, Istio, manifests, rollouts."""
    from twin.replica.apply import ApplyError
    from twin.replica.kind import CannotRun
    from twin.replica.rollout import RolloutFailed
    from twin.replica.up import up as do_up

    topo = _load(topology, set_)
    try:
        report = do_up(topo, kubeconfig=kubeconfig, context=context, say=_say, timeout=timeout,
                         node_timeout=node_timeout)
    except CannotRun as e:
        _exit(common.cannot_run(e.what, e.how))
    except (ApplyError, RolloutFailed) as e:
        _say(str(e))
        raise common.Exit(common.CHECK_FAILED) from None
    common.out.print(f"replica up: {report.cluster or report.context}", markup=False)
    if report.kubeconfig:
        common.out.print(f"  export KUBECONFIG={report.kubeconfig}   # your own context is unchanged",
                         markup=False)
    for line in report.left_out:
        common.out.print(f"  left out: {line}", markup=False)


def down(topology: TopologyOpt = common.DEV_TOPOLOGY, set_: SetOpt = None) -> None:
    """Delete the twin's own kind cluster (and nothing else)."""
    from twin.render.kind_config import cluster_name
    from twin.replica.kind import CannotRun
    from twin.replica.up import down as do_down

    topo = _load(topology, set_)
    try:
        deleted = do_down(topo)
    except CannotRun as e:
        _exit(common.cannot_run(e.what, e.how))
    name = cluster_name(topo)
    common.out.print(f"deleted kind cluster {name}" if deleted else f"no replica {name} of the twin's is up",
                     markup=False)


def register(app: typer.Typer) -> None:
    """Add this group's commands to the app."""
    app.command("render")(render_cmd)
    app.command()(up)
    app.command()(down)
