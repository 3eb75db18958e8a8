"""The backend contract lives beneath its implementers: the replica never imports the
scenario layer, twin.result imports nothing above it, and scenario, result and replica
modules import no circle (function-level imports counted)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

from twin.result.backend import CannotRun, bucket_for
from twin.result.model import ReplicationResult
from twin.result.replications import replicate

TWIN = Path(__file__).resolve().parents[2] / "twin"


def _module(path: Path) -> str:
    parts = list(path.relative_to(TWIN.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every twin module a file imports, at any depth of the file (absolute imports only,
    as the twin writes them)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m == "twin" or m.startswith("twin.")}


@pytest.fixture(scope="module")
def graph() -> nx.DiGraph:
    files = {_module(p): p for p in TWIN.rglob("*.py")}
    g = nx.DiGraph()
    for name, path in files.items():
        g.add_node(name)
        for target in _imports(path):
            while target and target not in files:  # `from twin.x import name`: the module x
                target = target.rpartition(".")[0]
            if target and target != name:
                g.add_edge(name, target)
    return g


def test_no_replica_module_imports_the_scenario_layer(graph: nx.DiGraph) -> None:
    up = [(a, b) for a, b in graph.edges if a.startswith("twin.replica") and b.startswith("twin.scenario")]
    assert up == []


def test_twin_result_imports_nothing_above_it(graph: nx.DiGraph) -> None:
    above = ("twin.sim", "twin.capacity", "twin.render", "twin.replica", "twin.scenario", "twin.cli")
    up = [(a, b) for a, b in graph.edges if a.startswith("twin.result") and b.startswith(above)]
    assert up == []


def test_no_import_circle_through_scenario_result_or_replica(graph: nx.DiGraph) -> None:
    layers = ("twin.scenario", "twin.result", "twin.replica")
    sub = graph.subgraph(n for n in graph if n.startswith(layers))
    assert list(nx.simple_cycles(sub)) == []


def test_replicate_runs_every_replication_with_progress_and_aggregates() -> None:
    seen: list[tuple[float, str]] = []

    def one(rep: int, step):  # noqa: ANN001, ANN202 - the loop's own callback
        step(0.5)
        return ReplicationResult(replication=rep, seed=10 + rep, duration=1.0, warmup=0.0,
                                 streams_open=float(rep))

    run = replicate(one, 3, 10, lambda f, what: seen.append((f, what)), note=" (test)",
                    topology="t", duration=1.0, warmup=0.0, interval=1.0)
    assert [r.replication for r in run.result.runs] == [0, 1, 2]
    assert run.result.seed == 10 and run.result.replications == 3
    assert run.result.aggregate["streams/open"].mean == pytest.approx(1.0)
    assert run.result.aggregate["streams/open"].n == 3
    assert seen == [(0.5 / 3, "replication 1/3 (test)"), (1.5 / 3, "replication 2/3 (test)"),
                    (2.5 / 3, "replication 3/3 (test)")]
    assert run.traces() == []


def test_cannot_run_says_what_and_how() -> None:
    e = CannotRun("redis-server not found", "apt-get install -y redis-server", "redis")
    assert (str(e), e.what, e.how, e.piece) == ("redis-server not found", "redis-server not found",
                                                "apt-get install -y redis-server", "redis")
    from twin.replica import kind, redis_drill  # every "cannot run" is this one class

    assert kind.CannotRun is CannotRun
    assert redis_drill.CannotRun is CannotRun


def test_buckets_stay_under_900_per_run() -> None:
    assert bucket_for(120.0) == 1.0
    assert bucket_for(3600.0) == 4.0
    assert 3 * 3600 / bucket_for(3 * 3600) <= 900
