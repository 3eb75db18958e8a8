"""Read a scenario file with its topology: overrides applied, every name checked.

`--set` and a scenario's `overrides:` share one rule: a PATH starting with
`scenario.` changes the scenario, any other PATH changes the topology. The
command line wins over the file. Every problem names the file and line that
supplied the value (an override's own line, a check's window, a fault target).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.model.errors import ModelError, Problem, did_you_mean, no_such
from twin.model.source import Document, Pos, document, parse_set
from twin.model.topology import Redis, Topology
from twin.model.units import format_duration
from twin.result.events import problem as event_problem
from twin.scenario.actions import MeshFault, SentinelDown
from twin.scenario.bounds import bind
from twin.scenario.model import Scenario, time_parts

PREFIX = "scenario."


@dataclass
class Loaded:
    """A scenario ready to run: the model, its topology and where both came from."""

    scenario: Scenario
    topology: Topology
    path: Path
    topology_path: Path
    sets: tuple[str, ...] = ()


def split_sets(sets: Iterable[tuple[str, Any, Pos]]) -> tuple[list, list]:
    """(scenario overrides with the prefix stripped, topology overrides)."""
    mine, topo = [], []
    for path, value, pos in sets:
        if path.startswith(PREFIX):
            mine.append((path[len(PREFIX):], value, pos))
        else:
            topo.append((path, value, pos))
    return mine, topo


def _file_overrides(doc: Document) -> list[tuple[str, Any, Pos]]:
    raw = doc.data.get("overrides") or {}
    if not isinstance(raw, dict):
        return []
    return [(str(k), v, doc.positions.get(("overrides", k), Pos(doc.file))) for k, v in raw.items()]


def topology_file(scn: Scenario, scenario_path: str | Path) -> Path:
    return (Path(scenario_path).parent / scn.topology)


def load_topology_for(scn: Scenario, doc: Document, cli: list[tuple[str, Any, Pos]] = ()) -> Topology:
    """The scenario's topology with its own overrides, then the command line's."""
    from twin.loading.files import load_topology

    path = topology_file(scn, doc.file)
    pos = doc.positions.get(("topology",), Pos(doc.file))
    if not path.exists():
        raise ModelError([Problem(pos.file, pos.line, pos.column, "topology",
                                  f"no such file: {path}")])
    _, topo_sets = split_sets(_file_overrides(doc))
    return load_topology(path, overrides=[*topo_sets, *cli])


def scenario_problems(scn: Scenario, doc: Document, topology: Topology | None = None,
                      cli: list[tuple[str, Any, Pos]] = ()) -> list[Problem]:
    """Checks beyond types: ids, time references, the topology and every name in it,
    the topology values that bounds, windows and descriptions name.

    One pass: when the topology (with the file's overrides and `cli`) has problems of
    its own, the scenario's names are still checked, against the topology without
    the overrides that failed, so that fixing the first problems shows no new ones."""
    found: list[Problem] = []
    if topology is None:
        try:
            topology = load_topology_for(scn, doc, cli)
        except ModelError as e:
            found = e.problems
            topology = _sound_topology(scn, doc, cli, e.problems)
    if topology is None:  # the topology file itself is broken: its problems say so
        return own_problems(scn, doc) + found
    scn, problems = bind(scn, topology, doc)
    return own_problems(scn, doc) + found + problems + _names(scn, doc, topology)


def _sound_topology(scn: Scenario, doc: Document, cli: list[tuple[str, Any, Pos]],
                    problems: list[Problem]) -> Topology | None:
    """The scenario's topology without the overrides that a problem names (a value of
    the wrong type, a field or item that does not exist), or None if it still fails."""
    named = {(p.file, p.line) for p in problems}
    _, file_sets = split_sets(_file_overrides(doc))
    kept = [s for s in [*file_sets, *cli] if (str(s[2].file), s[2].line) not in named]
    if len(kept) == len(file_sets) + len(cli):
        return None  # no override failed: the topology's own file did
    from twin.loading.files import load_topology

    try:
        return load_topology(topology_file(scn, doc.file), overrides=kept)
    except ModelError:
        return None


def own_problems(scn: Scenario, doc: Document) -> list[Problem]:
    """What can be checked without the topology: ids, times, windows."""
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    for i, a in enumerate(scn.timeline):
        if a.id is not None:
            if a.id in ids:
                problems.append(doc.problem(("timeline", i, "id"), f"id {a.id!r} is used twice"))
            if a.id in ("start", "warmup", "end"):
                problems.append(doc.problem(("timeline", i, "id"), f"{a.id!r} is a reserved time name"))
            ids[a.id] = i
        if a.at >= scn.duration:
            where = doc.problem(("duration",), "")
            source = f"{where.file}:{where.line}" if where.line else where.file
            problems.append(doc.problem(("timeline", i, "at"), (
                f"at {format_duration(a.at)} is not before the run ends (duration "
                f"{format_duration(scn.duration)}, from {source})")))
    # ids of timeline items that were themselves invalid (reported already): not "missing"
    raw = doc.data.get("timeline") if isinstance(doc.data, dict) else None
    invalid = {str(item["id"]) for item in raw if isinstance(item, dict) and "id" in item} - set(ids) \
        if isinstance(raw, list) else set()
    for i, c in enumerate(scn.checks):
        for field in ("from", "to"):
            expr = getattr(c.window, "from_" if field == "from" else "to")
            ref, _, _, _ = time_parts(expr)
            if ref is not None and ref not in ("start", "warmup", "end") and ref not in {*ids, *invalid}:
                problems.append(doc.problem(("checks", i, "window", field),
                                            f"no fault with id {ref!r} in the timeline"
                                            f"{did_you_mean(ref, [*ids, 'start', 'warmup', 'end'])}"))
        if c.after is not None and c.after not in {*ids, *invalid}:
            problems.append(doc.problem(("checks", i, "after"),
                                        f"no fault with id {c.after!r}{did_you_mean(c.after, ids)}"))
        if c.event is not None and (msg := event_problem(c.event)):
            problems.append(doc.problem(("checks", i, "event"), msg))
        if c.recovery is not None and c.after is None and not scn.faults and not invalid:
            problems.append(doc.problem(("checks", i, "recovery"),
                                        "a recovery check needs a fault in the timeline"))
        if (c.window.from_ != "warmup" or c.window.to != "end") and not problems:
            try:
                if scn.resolve(c.window.from_) > scn.resolve(c.window.to):
                    problems.append(doc.problem(("checks", i, "window"), "the window ends before it starts"))
            except (KeyError, ValueError):  # a window naming a topology value before bind()
                pass
    names = [c.name for c in scn.checks]
    for i, n in enumerate(names):
        if names.index(n) != i:
            problems.append(doc.problem(("checks", i, "name"), f"check name {n!r} is used twice"))
    mine, _ = split_sets(_file_overrides(doc))
    for path, _, pos in mine:
        if path.split(".")[0] in ("name", "kind", "apiVersion", "topology", "overrides"):
            problems.append(Problem(pos.file, pos.line, pos.column, f"overrides.{PREFIX}{path}",
                                    "cannot be overridden"))
    return problems


def _source_problem(topo: Topology, source: str) -> str | None:
    """Why an event check's `source:` can match no event's source, or None: a kind
    (`sentinel`), a component (`node/k8s-worker-1`), a pod, deployment or HPA of a
    workload (`pod/postgres-0`, `deployment/chat-api-v1`)."""
    from twin.result.events import SOURCES

    kind, slash, name = source.partition("/")
    if kind not in SOURCES:
        return f"no event comes from a {kind!r}{did_you_mean(kind, SOURCES) or ' (kinds: ' + ', '.join(SOURCES) + ')'}"
    if not slash or not name or kind in ("sentinel", "canary", "gateway", "controlplane", "scenario"):
        return None
    if kind in ("pod", "deployment", "hpa"):
        owners = [w.name for w in topo.workloads] + [s.name for s in topo.stores]
        if any(name == o or name.startswith(f"{o}-") for o in owners):
            return None
        return (f"{source!r} names no pod, deployment or HPA of a workload or store"
                f"{did_you_mean(name.rsplit('-', 1)[0], owners)}")
    from twin.graph.naming import UnknownComponent, resolve

    try:
        resolve(topo, source)
    except UnknownComponent as e:
        return e.message
    return None


def _names(scn: Scenario, doc: Document, topo: Topology) -> list[Problem]:
    from twin.graph.naming import UnknownComponent, resolve
    from twin.scenario.checks import saturation_problem
    from twin.scenario.metrics import metric_problem

    problems: list[Problem] = []
    if scn.canary is not None:
        from twin.canary.spec import problems as canary_problems

        problems += [doc.problem(("canary", *loc), msg)
                     for loc, msg in canary_problems(scn.canary, topo)]
    for i, a in enumerate(scn.timeline):
        target = getattr(a, "target", None)
        if target is None:
            if a.store_kind == "redis" and redis_store(topo, None) is None:
                problems.append(doc.problem(("timeline", i, "action"),
                                            "the topology has no Redis store to act on"))
            continue
        try:
            comp = resolve(topo, target)
        except UnknownComponent as e:
            problems.append(doc.problem(("timeline", i, "target"), e.message))
            continue
        if comp.kind not in a.acts_on:
            problems.append(doc.problem(("timeline", i, "target"),
                                        f"{a.action} acts on {' or '.join(a.acts_on)}, not {comp.key}"))
            continue
        if a.store_kind is not None and getattr(comp.obj, "kind", None) != a.store_kind:
            problems.append(doc.problem(("timeline", i, "target"), (
                f"{comp.key} is not a Redis store" if a.store_kind == "redis"
                else f"{a.action} acts on a {a.store_kind} store, not {comp.key}")))
            continue
        check = _TARGET_CHECKS.get(a.action)
        if check is not None and (found := check(a, comp, topo)):
            field, message = found
            problems.append(doc.problem(("timeline", i, field), message))
    for i, c in enumerate(scn.checks):
        if c.event is not None and c.source is not None and (msg := _source_problem(topo, c.source)):
            problems.append(doc.problem(("checks", i, "source"), msg))
    for i, a in enumerate(scn.timeline):
        for j, name in enumerate(getattr(a, "isolate", None) or []):
            if _redis_member(topo, a.target, name):
                continue
            if name.startswith("sentinel/"):
                problems.append(doc.problem(("timeline", i, "isolate", j),
                                            f"{name!r}: the Redis store has no such sentinel"))
                continue
            try:
                comp = resolve(topo, name)
            except UnknownComponent as e:
                store = redis_store(topo, a.target)
                members = f"master, {store.name}-N, sentinel/N or " if store else ""
                problems.append(doc.problem(("timeline", i, "isolate", j),
                                            f"{e.message} (isolate names {members}components)"))
                continue
            if comp.kind not in ("service", "worker", "node", "pool", "store"):
                problems.append(doc.problem(("timeline", i, "isolate", j),
                                            f"{comp.key} cannot be cut off by a partition"))
    for route in scn.load.rates:
        if topo.route(route) is None:
            problems.append(doc.problem(("load", "rates", route),
                                        no_such("route", route, (r.name for r in topo.routes))))
    for i, c in enumerate(scn.checks):
        name = c.metric or c.recovery
        if name is not None:
            msg = metric_problem(topo, name)
            if msg:
                problems.append(doc.problem(("checks", i, "metric" if c.metric else "recovery"), msg))
        if c.saturation is not None and (msg := saturation_problem(topo, c.saturation)):
            problems.append(doc.problem(("checks", i, "saturation"), msg))
    return problems


def _subset(a: MeshFault, comp: Any, topo: Topology) -> tuple[str, str] | None:
    """A mesh fault on one subset names a subset of the service's DestinationRule."""
    if a.subset is None:
        return None
    have = [sub.name for r in (topo.mesh.destination_rules if topo.mesh else [])
            if r.host == comp.name for sub in r.subsets]
    if a.subset in have:
        return None
    return "subset", (f"{comp.key} has no subset {a.subset!r} in its DestinationRule"
                      + (f" (subsets: {', '.join(have)})" if have else " (it has none)"))


def _sentinels(a: SentinelDown, comp: Any, topo: Topology) -> tuple[str, str] | None:
    """Sentinels stopped are sentinels the store runs."""
    if comp.obj.mode != "sentinel":
        return "target", f"{comp.key} runs no Sentinel"
    if (a.count or 1) > comp.obj.sentinel.sentinels:
        return "count", f"{comp.key} has only {comp.obj.sentinel.sentinels} sentinels"
    return None


_TARGET_CHECKS: dict[str, Any] = {"mesh-fault": _subset, "sentinel-down": _sentinels}
"""What an action asks of its target beyond its kind: (field, problem) or None."""


def redis_store(topo: Topology, target: str | None) -> Redis | None:
    """The Redis store a fault acts on: the named one, else the only Redis store."""
    if target is not None:
        from twin.graph.naming import resolve

        obj = resolve(topo, target).obj
        return obj if isinstance(obj, Redis) else None
    stores = [s for s in topo.stores if isinstance(s, Redis)]
    return stores[0] if len(stores) == 1 else None


def _redis_member(topo: Topology, target: str | None, name: str) -> bool:
    store = redis_store(topo, target)
    if store is None:
        return False
    if name == "master":
        return True
    sentinels = store.sentinel.sentinels if store.sentinel else 0
    servers = store.servers if store.mode == "sentinel" else 1
    return name in {f"{store.name}-{i}" for i in range(servers)} | {
        f"sentinel/{i}" for i in range(sentinels)}


def check_scenario(scn: Scenario, doc: Document) -> list[Problem]:
    """The hook `twin validate` calls (see twin.loading.kinds)."""
    return scenario_problems(scn, doc)


def load(path: str | Path, sets: Iterable[str] = ()) -> Loaded:
    """A scenario and its topology, `scenario.` overrides and --set applied; ModelError on problems."""
    from twin.loading.engine import build_all

    cli = [parse_set(s) for s in sets]
    cli_mine, cli_topo = split_sets(cli)
    first = document(path, ("Scenario",))
    own_mine, _ = split_sets(_file_overrides(first))
    doc = document(path, ("Scenario",), [*own_mine, *cli_mine]) if own_mine or cli_mine else first
    scn, problems = build_all(doc, Scenario)
    if scn is None:
        raise ModelError(problems)
    try:
        topo = load_topology_for(scn, doc, cli_topo)
    except ModelError:  # every problem still: the topology's and the scenario's names
        raise ModelError(problems + scenario_problems(scn, doc, cli=cli_topo)) from None
    problems += scenario_problems(scn, doc, topo)
    if problems:
        raise ModelError(problems)
    scn, _ = bind(scn, topo, doc)  # its problems are among scenario_problems'
    return Loaded(scn, topo, Path(path), topology_file(scn, path), tuple(sets))
