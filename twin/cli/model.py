"""`twin validate`, `status`, `domain`, `graph`, `schema`: the model group.

`status` and `domain` are the architecture document's cluster-status.sh and
domain-check.sh, shown on the model (or, with --live, on the kind replica).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.table import Table

from twin.cli import common
from twin.model.errors import ModelError, Problem
from twin.views.rows import Column, cells, text

TopologyOpt = Annotated[Path | None, typer.Option(
    "--topology", "-t", help="Topology file (default: topologies/eco2-prod.yaml; with --live, "
    "eco2-dev.yaml, the replica's).")]
GraphTopologyOpt = Annotated[Path | None, typer.Option(
    "--topology", "-t", help="Topology file (default: topologies/eco2-prod.yaml).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help=common.SET_HELP)]
LiveOpt = Annotated[bool, typer.Option("--live", help="Ask the running kind replica instead.")]
KubeconfigOpt = Annotated[Path | None, typer.Option(
    help="With --live: ask this dedicated cluster (or vcluster) instead of the twin's kind replica, "
    "as `twin up --kubeconfig` targets it.")]
ContextOpt = Annotated[str | None, typer.Option(help="With --live: the context in --kubeconfig.")]
ProbeOpt = Annotated[bool, typer.Option(
    "--probe-network-policy", help="With --live: start a probe pod that checks strict NetworkPolicies "
    "are enforced (a connection they forbid is refused): that depends on the CNI.")]

def _exit(e: common.Exit) -> NoReturn:
    raise typer.Exit(e.code)


def _load(path: Path, sets: list[str] | None) -> Any:
    from twin.loading.files import load_topology

    common.warn_sets(sets)
    try:
        return load_topology(path, sets or ())
    except ModelError as e:
        _exit(common.bad_input(e))


def _say(line: str = "", style: str | None = None) -> None:
    """A line of a view, wrapped onto indented continuation lines at the terminal's width."""
    from twin.cli.fit import wrap

    for part in wrap(line, common.out.width):
        common.out.print(part, markup=False, soft_wrap=True, style=style)


def _live(function: str, *args: Any, **kwargs: Any) -> None:
    """Ask the running replica (twin.replica.live) for a view and print it as the
    plain data it is."""
    try:
        from twin.replica import live
        from twin.replica.kind import CannotRun
    except ImportError:
        _exit(common.cannot_run(
            "the live view of the replica (twin.replica.live) is not available in this build",
            "Drop --live to see the model, or update the twin; the replica itself starts with "
            "`twin up`."))
    try:
        view = getattr(live, function)(*args, **kwargs)
    except CannotRun as e:
        _exit(common.cannot_run(e.what, e.how))
    _print_data(view.to_dict())
    probe = getattr(view, "network_policy", None)
    if isinstance(probe, dict) and probe.get("warning"):
        common.err.print(f"warning: {probe['warning']}", markup=False, soft_wrap=True, style="bold yellow")
    elif isinstance(probe, dict) and probe.get("enforced"):
        _say(f"NetworkPolicies enforced: {probe['from']} -> {probe['to']} refused")


def _live_only(live: bool, kubeconfig: Path | None, context: str | None, probe: bool) -> None:
    """--kubeconfig, --context and --probe-network-policy ask a cluster: without --live they
    would be silently ignored, so they are an error."""
    given = [flag for flag, value in (("--kubeconfig", kubeconfig), ("--context", context),
                                      ("--probe-network-policy", probe)) if value]
    if given and not live:
        _exit(common.bad_input(ModelError([Problem(
            given[0], 0, 0, "", f"{', '.join(given)} only apply with --live")])))


def _print_data(data: dict[str, Any]) -> None:
    """Plain data as sections: lists of records as tables, mappings as key/value rows."""
    for section, value in data.items():
        _say()
        _say(f"=== {section.replace('_', ' ').title()} ===", "bold")
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            table = _table(*value[0].keys())
            for row in value:
                table.add_row(*(text(row.get(k)) for k in value[0]))
            common.out.print(table)
        elif isinstance(value, dict):
            for k, v in value.items():
                _say(f"{k}: {text(v)}")
        elif isinstance(value, list) and not value:
            _say("No resources found.")
        else:
            _say(text(value) if value is not None else "not available")


def _rows(columns: Sequence[Column], rows: Iterable[Any], whole: int = 1) -> Table:
    table = _table(*(header for header, _ in columns), whole=whole)
    for row in rows:
        table.add_row(*cells(columns, row))
    return table


def _table(*columns: str, whole: int = 1) -> Table:
    """The first `whole` columns (names) never break inside a word; the rest fold."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for i, col in enumerate(columns):
        table.add_column(col, overflow="fold", no_wrap=i < whole)
    return table


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command()(status)
    app.command()(domain)
    app.command()(graph)
    app.command()(schema)


# ------------------------------------------------------------------- validate


def validate(files: Annotated[list[Path], typer.Argument(help="Topology or scenario files.")],
             backend: Annotated[str | None, typer.Option(
                 "--backend", help="Also refuse what this backend (sim, local, kind) cannot see: "
                 "the checks twin run --backend would call not applicable.")] = None,
             ) -> None:
    """Check files of any kind; print every problem as FILE:LINE:COL: field: message."""
    from twin.loading.files import load
    from twin.scenario.model import Scenario

    problems: list[Problem] = []
    if backend is not None:
        from twin.scenario.runner import UnknownBackend, observes_of

        try:
            observes_of(backend)
        except UnknownBackend as e:
            _exit(common.bad_input(ModelError([Problem("--backend", 0, 0, "", str(e))])))
    for f in files:
        try:
            obj = load(f)
            if backend is not None and isinstance(obj, Scenario):
                from twin.scenario import loader
                from twin.scenario.runner import unobservable

                if found := unobservable(loader.load(f), backend):
                    raise ModelError(found)
        except ModelError as e:
            problems += e.problems
            continue
        _say(f"ok {f} ({type(obj).__name__})" + (f" for --backend {backend}" if backend else ""))
    if problems:
        _exit(common.bad_input(ModelError(problems)))


# --------------------------------------------------------------------- status


def status(topology: TopologyOpt = None, set_: SetOpt = None, live: LiveOpt = False,
           kubeconfig: KubeconfigOpt = None, context: ContextOpt = None,
           probe_network_policy: ProbeOpt = False) -> None:
    """The document's cluster-status.sh: cluster, nodes, namespaces by tier, pods by tier."""
    _live_only(live, kubeconfig, context, probe_network_policy)
    topology = topology or (common.DEV_TOPOLOGY if live else common.DEFAULT_TOPOLOGY)
    topo = _load(topology, set_)
    if live:
        kw: dict[str, Any] = {"kubeconfig": kubeconfig, "context": context}
        if probe_network_policy:
            kw["probe"] = True
        _live("status_view", topo, **kw)
        return
    from twin.views.status import NAMESPACE_COLUMNS, NODE_COLUMNS, TIERS, ClusterStatus, node_groups

    view = ClusterStatus.from_model(topo, str(topology))
    _say("=== Cluster Info ===", "bold")
    info = Table(show_header=False, box=None)
    for k, v in view.cluster.items():
        info.add_row(k, v)
    common.out.print(info)

    _say()
    _say("=== Node Status ===", "bold")
    common.out.print(_rows(NODE_COLUMNS, view.nodes, whole=5))
    for title, value, names in node_groups(view.nodes):
        _say(f"{title} {value}: {', '.join(names)}")
    _say(view.placement or "", "dim")
    if view.pending:
        _say(f"Pending (no node with room): {', '.join(view.pending)}", "bold red")

    _say()
    _say("=== Namespace Summary ===", "bold")
    common.out.print(_rows(NAMESPACE_COLUMNS, view.namespaces, whole=5))
    if view.environments:  # the same on every namespace that has one: the cluster's environment
        _say(f"environment label: {', '.join(view.environments)} (on every namespace that has one)",
             "dim")

    _say()
    _say("=== Pod Summary by Tier ===", "bold")
    for tier in TIERS:
        _say(f"{tier}: {view.pods_by_tier[tier]} pods")
    _say(f"(platform, observability and DaemonSet pods: {view.other_pods})", "dim")

    _say()
    _say("=== Resource Usage ===", "bold")
    _say("Metrics not available on the model: requests per node are shown above "
         "(`twin status --live` asks the replica).")


# --------------------------------------------------------------------- domain


def domain(name: Annotated[str, typer.Argument(help="Domain label, e.g. chat.")] = "chat",
           topology: TopologyOpt = None, set_: SetOpt = None, live: LiveOpt = False,
           kubeconfig: KubeconfigOpt = None, context: ContextOpt = None) -> None:
    """The document's domain-check.sh: a domain's API and worker pods, services and config."""
    _live_only(live, kubeconfig, context, False)
    topology = topology or (common.DEV_TOPOLOGY if live else common.DEFAULT_TOPOLOGY)
    topo = _load(topology, set_)
    from twin.views.domain import POD_GROUPS, SERVICE_COLUMNS, DomainView, domains
    from twin.views.workloads import REQUESTS_NOTE, pod_columns

    known = domains(topo)
    if name not in known:
        _exit(common.bad_input(ModelError([Problem(
            "DOMAIN", 0, 0, "", f"no namespace has domain={name}; domains: {', '.join(known)}")])))
    if live:
        _live("domain_view", topo, name, kubeconfig=kubeconfig, context=context)
        return
    view = DomainView.from_model(topo, name)
    _say(f"=== {name} Domain Status ===", "bold")
    _say(f"namespaces: {', '.join(view.namespaces)}")
    columns = pod_columns(namespace=len(view.namespaces) > 1)  # else the namespace is the line above
    for group in POD_GROUPS:
        pods = view.pods(group)
        if not pods and group.optional:
            continue
        _say()
        _say(f"## {group.title}", "bold")
        if not pods:
            _say("No resources found.")
            continue
        common.out.print(_rows(columns, pods, whole=5))
        _say(REQUESTS_NOTE, "dim")

    _say()
    _say("## Services", "bold")
    if view.services:
        common.out.print(_rows(SERVICE_COLUMNS, view.services))
    else:
        _say("No resources found.")

    _say()
    _say("## Config", "bold")
    for line in view.config():
        _say(line)


# ---------------------------------------------------------------------- graph


def graph(
    topology: GraphTopologyOpt = None,
    set_: SetOpt = None,
    blast_radius: Annotated[str | None, typer.Option(
        "--blast-radius", help="KIND/NAME or a unique NAME: what its loss takes down.")] = None,
    route: Annotated[str | None, typer.Option("--route", help="A route's call path.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or dot.")] = "text",
) -> None:
    """Dependency views: what needs what, a route's call path, a component's blast radius."""
    from twin.graph.blast import blast_radius as blast
    from twin.graph.dependencies import dependency_graph
    from twin.graph.naming import UnknownComponent
    from twin.graph.paths import call_path
    from twin.views.graph import path_dot, render_blast, render_graph, render_path, to_dot, to_json

    if fmt not in ("text", "json", "dot"):
        _exit(common.bad_input(ModelError([Problem("--format", 0, 0, "", "use text, json or dot")])))
    topo = _load(topology or common.DEFAULT_TOPOLOGY, set_)
    try:
        if blast_radius is not None:
            br = blast(topo, blast_radius)
            if fmt == "json":
                typer.echo(json.dumps(br.to_dict(), indent=2))
            elif fmt == "dot":
                typer.echo(to_dot(dependency_graph(topo), br), nl=False)
            else:
                for line in render_blast(br, topo):
                    _say(line)
            return
        if route is not None:
            name = route.removeprefix("route/")
            hop = call_path(topo, name)
            if fmt == "json":
                typer.echo(json.dumps(hop.to_dict(), indent=2))
            elif fmt == "dot":
                typer.echo(path_dot(hop), nl=False)
            else:
                for line in render_path(hop):
                    _say(line)
            return
    except UnknownComponent as e:
        _exit(common.bad_input(ModelError([Problem(
            "--blast-radius" if blast_radius is not None else "--route", 0, 0, "", e.message)])))
    g = dependency_graph(topo)
    if fmt == "json":
        typer.echo(json.dumps(to_json(g), indent=2))
    elif fmt == "dot":
        typer.echo(to_dot(g), nl=False)
    else:
        for line in render_graph(g):
            _say(line)


# --------------------------------------------------------------------- schema


def schema(kind: Annotated[str, typer.Argument(help="topology or scenario.")]) -> None:
    """JSON Schema of a file kind, for an editor's YAML language server."""
    from twin.loading import editor_schema as schemas

    try:
        typer.echo(schemas.dumps(kind), nl=False)
    except KeyError as e:
        _exit(common.bad_input(ModelError([Problem("KIND", 0, 0, "", str(e.args[0]))])))
