"""`twin validate`, `status`, `domain`, `graph`, `schema`: the model group.

`status` and `domain` are the architecture document's cluster-status.sh and
domain-check.sh, shown on the model (or, with --live, on the kind replica).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.table import Table

from twin.cli import common
from twin.model.errors import ModelError, Problem
from twin.model.units import format_cpu, format_memory

TopologyOpt = Annotated[Path | None, typer.Option(
    "--topology", "-t", help="Topology file (default: topologies/eco2-prod.yaml; with --live, "
    "eco2-dev.yaml, the replica's).")]
GraphTopologyOpt = Annotated[Path | None, typer.Option(
    "--topology", "-t", help="Topology file (default: topologies/eco2-prod.yaml).")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="PATH=VALUE override, e.g. services.chat-api.replicas=4 (repeatable).")]
LiveOpt = Annotated[bool, typer.Option("--live", help="Ask the running kind replica instead.")]
KubeconfigOpt = Annotated[Path | None, typer.Option(
    help="With --live: ask this dedicated cluster (or vcluster) instead of the twin's kind replica, "
    "as `twin up --kubeconfig` targets it.")]
ContextOpt = Annotated[str | None, typer.Option(help="With --live: the context in --kubeconfig.")]
ProbeOpt = Annotated[bool, typer.Option(
    "--probe-network-policy", help="With --live: start a probe pod that checks strict NetworkPolicies "
    "are enforced (a connection they forbid is refused): that depends on the CNI.")]

SCRIPT_TIERS = ("business-logic", "worker", "integration", "data")
"""The tiers cluster-status.sh counts pods of."""

PLACEMENT_NOTE = ("Pods placed by a deterministic fit (selectors, taints, requests; spread a "
                  "workload's pods, then least requested CPU): an approximation of kube-scheduler.")


def _exit(e: common.Exit) -> NoReturn:
    raise typer.Exit(e.code)


def _load(path: Path, sets: list[str] | None) -> Any:
    from twin.validate import load_topology

    common.warn_sets(sets)
    try:
        return load_topology(path, sets or ())
    except ModelError as e:
        _exit(common.bad_input(e))


def _say(line: str = "", style: str | None = None) -> None:
    common.out.print(line, markup=False, soft_wrap=True, style=style)


def _live(function: str, *args: Any, **kwargs: Any) -> None:
    """Ask the running replica (twin.replica.live) and print what it answers."""
    try:
        from twin.replica import live
        from twin.replica.kind import CannotRun
    except ImportError:
        _exit(common.cannot_run(
            "the live view of the replica (twin.replica.live) is not available in this build",
            "Drop --live to see the model, or update the twin; the replica itself starts with "
            "`twin up`."))
    try:
        result = getattr(live, function)(*args, **kwargs)
    except CannotRun as e:
        _exit(common.cannot_run(e.what, e.how))
    _print_data(result)
    probe = result.get("network_policy") if isinstance(result, dict) else None
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


def _print_data(data: Any) -> None:
    """Plain data as sections: lists of records as tables, mappings as key/value rows."""
    if not isinstance(data, dict):
        common.out.print(data)
        return
    for section, value in data.items():
        _say()
        _say(f"=== {section.replace('_', ' ').title()} ===", "bold")
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            table = _table(*value[0].keys())
            for row in value:
                table.add_row(*(_cell(row.get(k)) for k in value[0]))
            common.out.print(table)
        elif isinstance(value, dict):
            for k, v in value.items():
                _say(f"{k}: {_cell(v)}")
        elif isinstance(value, list) and not value:
            _say("No resources found.")
        else:
            _say(_cell(value) if value is not None else "not available")


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


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


def validate(files: Annotated[list[Path], typer.Argument(help="Topology or scenario files.")]
             ) -> None:
    """Check files of any kind; print every problem as FILE:LINE:COL: field: message."""
    from twin.schema import load_kinds
    from twin.validate import load

    load_kinds()
    problems: list[Problem] = []
    for f in files:
        try:
            obj = load(f)
        except ModelError as e:
            problems += e.problems
            continue
        _say(f"ok {f} ({type(obj).__name__})")
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
        _live("live_status", topo, **kw)
        return
    from twin.graph.pods import schedule

    c = topo.cluster
    placed = schedule(topo)
    _say("=== Cluster Info ===", "bold")
    info = Table(show_header=False, box=None)
    for k, v in (
        ("cluster", c.name), ("environment", c.environment), ("region", c.region),
        ("kubernetes", f"{c.kubernetes_version} (self-managed)"),
        ("gitops", f"{c.gitops.tool}, branch {c.gitops.branch}"),
        ("network policy", c.network_policy),
        ("mesh", f"Istio, mTLS {topo.mesh.mtls}, gateway {topo.mesh.gateway.namespace}/"
                 f"{topo.mesh.gateway.name}" if topo.mesh else "none"),
        ("source", str(topology)),
    ):
        info.add_row(k, v)
    common.out.print(info)

    _say()
    _say("=== Node Status ===", "bold")
    nodes = _table("node", "pool", "CPU requested", "memory requested", "pods", whole=5)
    labels_of: dict[str, list[str]] = {}
    taints_of: dict[str, list[str]] = {}
    for n in placed.nodes:
        cpu, mem = placed.requested[n.name]
        labels = {k: v for k, v in n.labels.items()
                  if k not in ("kubernetes.io/hostname", "node-role.kubernetes.io/control-plane")}
        labels_of.setdefault(_labels(labels) or "-", []).append(n.name)
        taints = ",".join(f"{t.key}{'=' + t.value if t.value else ''}:{t.effect}" for t in n.taints)
        taints_of.setdefault(taints or "-", []).append(n.name)
        nodes.add_row(
            n.name, n.pool if n.role in ("worker", n.pool) else f"{n.pool} ({n.role})",
            f"{format_cpu(cpu)}/{format_cpu(n.cpu)} {100 * cpu / n.cpu:.0f}%",
            f"{format_memory(mem)}/{format_memory(n.memory)} {100 * mem / n.memory:.0f}%",
            str(len(placed.on(n.name))),
        )
    common.out.print(nodes)
    for title, groups in (("labels", labels_of), ("taints", taints_of)):
        for value, names in groups.items():
            if value != "-":
                _say(f"{title} {value}: {', '.join(names)}")
    _say(PLACEMENT_NOTE, "dim")
    if placed.pending:
        _say(f"Pending (no node with room): {', '.join(p.name for p in placed.pending)}",
             "bold red")

    _say()
    _say("=== Namespace Summary ===", "bold")
    ns_table = _table("namespace", "tier", "domain", "part-of", "sidecar", whole=5)
    order = [*SCRIPT_TIERS, "observability", "infrastructure", "platform"]
    envs = set()
    for ns in sorted(topo.namespaces, key=lambda n: order.index(n.tier) if n.tier in order else 99):
        labels = topo.namespace_labels(ns)
        envs.add(labels.get("environment"))
        ns_table.add_row(ns.name, labels.get("tier", ns.tier), labels.get("domain", "-"),
                         labels.get("app.kubernetes.io/part-of", "-"),
                         "injected" if ns.sidecar_injection else "-")
    common.out.print(ns_table)
    envs.discard(None)
    if envs:  # the same on every namespace that has one: the cluster's environment
        _say(f"environment label: {', '.join(sorted(envs))} (on every namespace that has one)", "dim")

    _say()
    _say("=== Pod Summary by Tier ===", "bold")
    tiers: dict[str, int] = {}
    for pod in placed.pods.values():
        tiers[pod.tier] = tiers.get(pod.tier, 0) + 1
    for tier in SCRIPT_TIERS:
        _say(f"{tier}: {tiers.get(tier, 0)} pods")
    other = sum(v for k, v in tiers.items() if k not in SCRIPT_TIERS)
    _say(f"(platform, observability and DaemonSet pods: {other})", "dim")

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
    domains = sorted({ns.domain for ns in topo.namespaces if ns.domain})
    if name not in domains:
        _exit(common.bad_input(ModelError([Problem(
            "DOMAIN", 0, 0, "", f"no namespace has domain={name}; domains: {', '.join(domains)}")])))
    if live:
        _live("live_domain", topo, name, kubeconfig=kubeconfig, context=context)
        return
    from twin.graph.naming import dns_name as fqdn
    from twin.graph.pods import schedule

    spaces = {ns.name for ns in topo.namespaces if ns.domain == name}
    placed = schedule(topo)
    _say(f"=== {name} Domain Status ===", "bold")
    _say(f"namespaces: {', '.join(sorted(spaces))}")
    for title, tiers in (("API Pod", ("business-logic",)), ("Worker Pod", ("worker",)),
                         ("Other Pods", ("integration", "data"))):
        chosen = [p for p in placed.pods.values() if p.namespace in spaces and p.tier in tiers]
        if not chosen and title == "Other Pods":
            continue
        _say()
        _say(f"## {title}", "bold")
        if not chosen:
            _say("No resources found.")
            continue
        several = len(spaces) > 1  # else the namespace is the line above
        t = _table("pod", *(["namespace"] if several else []), "workload", "version", "node",
                   "requests*", whole=5)
        for p in chosen:
            t.add_row(p.name, *([p.namespace] if several else []), p.component, p.version or "",
                      placed.where[p.name] or "Pending",
                      f"{format_cpu(p.cpu)} / {format_memory(p.memory)}")
        common.out.print(t)
        _say("* CPU / memory requested, the Istio sidecar's included", "dim")

    _say()
    _say("## Services", "bold")
    svc = _table("service", "namespace", "DNS", "port", "protocol")
    for s in topo.services:
        if s.namespace in spaces:
            svc.add_row(s.name, s.namespace, fqdn(topo, s.name), str(s.port), s.protocol)
    for st in topo.stores:
        if st.namespace in spaces:
            ports = str(st.port) + (f"/{st.management_port}" if hasattr(st, "management_port")
                                    else "")
            svc.add_row(st.service, st.namespace, fqdn(topo, st.name), ports, st.kind)
    if svc.row_count:
        common.out.print(svc)
    else:
        _say("No resources found.")

    _say()
    _say("## Config", "bold")
    for line in _config(topo, spaces):
        _say(line)


def _config(topo: Any, spaces: set[str]) -> list[str]:
    """What the domain's ConfigMaps and objects say: replicas, HPA, clients, routing."""
    lines = []
    for w in topo.workloads:
        if w.namespace not in spaces:
            continue
        if w.versions:  # one Deployment per version: the pods add up
            each = [(v.name, v.replicas if v.replicas is not None else w.replicas)
                    for v in w.versions]
            bits = [f"replicas {sum(n for _, n in each)} ("
                    + ", ".join(f"{v} {n}" for v, n in each) + ")"]
        else:
            bits = [f"replicas {w.replicas}"]
        bits.append(f"HPA {w.hpa.min}-{w.hpa.max} on {w.hpa.metric} {w.hpa.target:g}"
                    if w.hpa else "HPA off")
        if w.pdb:
            bits.append(f"PDB min_available {w.pdb.min_available}" if w.pdb.min_available
                        is not None else f"PDB max_unavailable {w.pdb.max_unavailable}")
        r = w.resources
        bits.append(f"requests {format_cpu(r.requests.cpu)}/{format_memory(r.requests.memory)}")
        if r.limits:
            bits.append(f"limits {format_cpu(r.limits.cpu)}/{format_memory(r.limits.memory)}")
        if hasattr(w, "queue"):
            bits.append(f"queue {w.queue}, concurrency {w.concurrency}, prefetch x{w.prefetch}, "
                        f"acks_late {str(w.acks_late).lower()}")
        lines.append(f"{w.name}: " + "; ".join(bits))
        for c in w.clients:
            via = "Sentinel" if c.via == "sentinel" else f"Service ({c.target})"
            lines.append(f"  {c.store}: via {via}, pool {c.pool} per pod")
    if topo.mesh:
        for vs in topo.mesh.virtual_services:
            if vs.namespace in spaces:
                for http in vs.http:
                    dest = ", ".join(f"{d.host}{'/' + d.subset if d.subset else ''} {d.weight}"
                                     for d in http.route)
                    timeout = f", timeout {http.timeout:g}s" if http.timeout else ""
                    lines.append(f"VirtualService {vs.name}: {dest}{timeout}")
        for dr in topo.mesh.destination_rules:
            if dr.namespace in spaces:
                subsets = ", ".join(f"{s.name} ({_labels(s.labels)})" for s in dr.subsets)
                lines.append(f"DestinationRule {dr.name}: host {dr.host}, subsets {subsets}, "
                             f"{dr.load_balancer}")
    for st in topo.stores:
        if st.namespace in spaces:
            mode = getattr(st, "mode", "single")
            extra = ""
            if getattr(st, "sentinel", None):
                s = st.sentinel
                extra = (f", {st.servers} servers, {s.sentinels} sentinels, quorum {s.quorum}, "
                         f"down-after {s.down_after:g}s")
            lines.append(f"{st.name}: {st.kind} {mode}{extra}")
    return lines or ["No resources found."]


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
    from twin import schema as schemas

    try:
        typer.echo(schemas.dumps(kind), nl=False)
    except KeyError as e:
        _exit(common.bad_input(ModelError([Problem("KIND", 0, 0, "", str(e.args[0]))])))
