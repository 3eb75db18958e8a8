"""What a new user meets first: the editor schema, typos, the run header, the report's layout."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from twin.loading import editor_schema as schema

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_FILES = sorted([*(ROOT / "scenarios").glob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")])
TOPOLOGY_FILES = sorted((ROOT / "topologies").rglob("*.yaml"))


@functools.cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    data = json.loads((schema.SCHEMA_DIR / f"{kind}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(data)
    return jsonschema.Draft202012Validator(data)


def _errors(kind: str, path: Path) -> list[str]:
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(kind).iter_errors(data)]


# ------------------------------------------------------------ 1: the schema


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_passes_the_committed_schema(path: Path) -> None:
    assert _errors("scenario", path) == []


@pytest.mark.parametrize("path", TOPOLOGY_FILES, ids=lambda p: p.name)
def test_every_topology_passes_the_committed_schema(path: Path) -> None:
    # overlays (`extends:`) are judged by the relaxed definitions: see twin/loading/editor_schema.py
    assert _errors("topology", path) == []


def test_scenario_schema_still_rejects_bad_windows_bounds_and_fields() -> None:
    v = _validator("scenario")
    good = YAML(typ="safe", pure=True).load((ROOT / "scenarios" / "redis-master-crash.yaml").read_text())
    assert list(v.iter_errors(good)) == []
    good["checks"][0]["window"] = "crash"           # no FROM..TO
    good["checks"][0]["range"] = ["30s", "soon"]     # not a bound
    good["checks"][1]["evnt"] = "+sdown"            # a typo'd field
    paths = {tuple(e.absolute_path)[:3] for e in v.iter_errors(good)}
    assert ("checks", 0, "window") in paths and ("checks", 0, "range") in paths
    assert any(p[:2] == ("checks", 1) for p in paths)


# ------------------------------------------------------- 2: event names


def _emitted_names() -> dict[str, str]:
    """Every literal event name the simulator's and replicas' emit calls use, with where."""
    import ast
    import re

    names: dict[str, str] = {}
    for path in [*(ROOT / "twin" / "sim").glob("*.py"), *(ROOT / "twin" / "replica").glob("*.py"),
                 ROOT / "twin" / "scenario" / "sim_faults.py"]:
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            args = node.args[2:3] if fn.endswith("emit") else (
                node.args[:1] if fn in ("_event", "_set_state") else [])
            args += [kw.value for kw in node.keywords if kw.arg == "event"]
            for a in args:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    names[a.value] = f"{path.name}:{node.lineno}"
        if path.name == "sentinel.py":  # its state names and events, all "+name"/"-name"
            for m in re.finditer(r"\"([+-][a-z][a-z-]+)\"", text):
                if m[1] != "-inf":  # float("-inf")
                    names[m[1]] = path.name
    return names


def test_every_emitted_event_name_is_in_the_registry() -> None:
    from twin.result import events

    names = _emitted_names()
    assert {"+switch-master", "+sdown", "NodeNotReady", "FailedGetResourceMetric"} <= set(names)
    missing = {n: where for n, where in names.items() if not events.known(n)}
    assert missing == {}, "add these to twin/result/events.py"


def test_misspelt_event_is_bad_input_with_a_hint(write_scenario) -> None:
    from twin.model.errors import ModelError
    from twin.scenario import loader

    path = write_scenario("""\
        name: typo
        duration: 60s
        timeline:
          - {id: crash, at: 10s, action: redis-master-crash}
        checks:
          - {name: failover, event: +switch-mastr, window: crash..end, min: 1}
          - {name: nodes, event: NodeNotReady, window: crash..end, max: 0}
        """)
    with pytest.raises(ModelError) as e:
        loader.load(path)
    [p] = e.value.problems
    assert p.line == 9 and "+switch-mastr" in p.message and "did you mean '+switch-master'" in p.message


# ---------------------------------------------- 3: one typo, one problem


def test_an_invalid_fault_is_not_reported_again_by_each_reference(write_scenario) -> None:
    from twin.model.errors import ModelError
    from twin.scenario import loader

    path = write_scenario("""\
        name: typo
        duration: 60s
        timeline:
          - {id: crash, at: 10s, action: redis-master-crsh}
        checks:
          - {name: a, event: +switch-master, window: crash..end, min: 1}
          - {name: b, metric: route/chat.error_rate, window: crash..crash.end, max: 0.5}
          - {name: c, recovery: route/chat.error_rate, after: crash, within: 30s}
          - {name: d, recovery: route/chat.error_rate, within: 30s}
          - {name: e, event: +sdown, window: warmup..nocrash, min: 1}
        """)
    with pytest.raises(ModelError) as e:
        loader.load(path)
    messages = [p.message for p in e.value.problems]
    assert len(messages) == 2, messages
    assert "redis-master-crsh" in messages[0] or "redis-master-crash" in messages[0]
    assert messages[1] == "no fault with id 'nocrash' in the timeline"  # a real dangling reference


# ------------------------------------------- 4, 5: the header and the timeline

TIMELINE = [
    {"t": 0.0, "source": "hpa/auth-api,chat-api-v1,scan-api,image-api,character-api,location-api,"
     "sse-gateway,chat-worker", "event": "FailedGetResourceMetric",
     "detail": "no ready pod has a CPU sample yet"},
    {"t": 40.0, "source": "store/redis", "event": "redis-master-crash", "detail": "id=kill", "fault": True},
    {"t": 70.07, "source": "sentinel/1,2,0", "event": "+sdown", "detail": "name=redis-0"},
    {"t": 70.26, "source": "sentinel/2", "event": "+failover-state-send-slaveof-noone",
     "detail": "name=redis-2"},
    {"t": 70.87, "source": "sentinel/0,1,2", "event": "+switch-master",
     "detail": "name=redis-0 from=redis-0 to=redis-2 and a long tail of words that must fold"},
]


@pytest.fixture
def crash_run(write_scenario, fake_backend):
    from scenario_texts import CRASH

    from twin.scenario import loader
    from twin.scenario.runner import execute

    run = execute(loader.load(write_scenario(CRASH), ["stores.redis.sentinel.down_after=5s"]), "fake")
    run.timeline = [dict(e) for e in TIMELINE]
    return run


def _render(run, width: int, **kw) -> str:
    from rich.console import Console

    from twin.cli import run_report

    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    run_report.print_run(run, console, **kw)
    return console.export_text()


def test_header_names_the_command_line_set(crash_run) -> None:
    lines = _render(crash_run, 120).splitlines()
    end = next(i for i, x in enumerate(lines) if x.startswith("Timeline"))
    head = " ".join(x.strip() for x in lines[1:end])  # a long topology path may fold it
    assert "--set stores.redis.sentinel.down_after=5s" in head


@pytest.mark.parametrize("width", [80, 120])
def test_timeline_keeps_times_and_names_at_terminal_widths(crash_run, width: int) -> None:
    text = _render(crash_run, width)
    lines = text.splitlines()
    sdown = next(x for x in lines if "+sdown" in x)
    switch = next(x for x in lines if "+switch-master" in x)
    assert "70.07s" in sdown and "+30.07s" in sdown
    assert "70.87s" in switch and "+30.87s" in switch
    assert any("+failover-state-send-slaveof-noone" in x for x in lines)  # not cut
    assert "FailedGetResourceMetric" not in text and "1 events not shown" in text
    start = next(i for i, x in enumerate(lines) if x.startswith("Timeline"))
    end = next(i for i, x in enumerate(lines) if i > start and not x.startswith(" "))
    assert max(len(x.rstrip()) for x in lines[start:end]) <= width


def test_events_all_shows_the_noise_with_a_short_source(crash_run) -> None:
    text = _render(crash_run, 80, events="all")
    row = next(x for x in text.splitlines() if "FailedGetResourceMetric" in x)
    assert "0.00s" in row and "hpa" in row


@pytest.mark.parametrize("width", [80, 100])
def test_the_source_column_shows_every_name_whole(crash_run, width: int) -> None:
    """Long pod names wrap (after `/`, and a name wider than the column after its
    hyphens), never cut with an ellipsis; a list too long for the column keeps its first
    names whole and says how many more."""
    long = "pod/character-worker-controller-0"
    many = "pod/" + ",".join(f"character-worker-{i}" for i in range(7))
    crash_run.timeline += [
        {"t": 90.0, "source": long, "event": "ChannelClosed", "detail": "missed heartbeats"},
        {"t": 91.0, "source": many, "event": "Evicted", "detail": "node unreachable"}]
    text = _render(crash_run, width, events="all")
    assert "…" not in text
    lines = text.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("Timeline"))
    end = next(i for i, x in enumerate(lines) if i > start and not x.startswith(" "))
    assert max(len(x.rstrip()) for x in lines[start:end]) <= width
    at = next(i for i, x in enumerate(lines) if "ChannelClosed" in x)
    start = lines[start + 1].index("source")
    pieces = [x[start:].split()[0] for x in lines[at:at + 4] if x[start:].strip()
              and not x[start:].startswith(" ")]
    assert "".join(pieces).startswith(long)
    at = next(i for i, x in enumerate(lines) if "Evicted" in x)
    source = " ".join(x[start:].split("  ")[0] for x in lines[at:at + 3])
    assert "pod/" in source and "character-worker-0 +6" in source


# ----------------------------------------------- 6: labels that say what they show


def test_observed_column_says_it_is_the_worst_replication(crash_run) -> None:
    assert crash_run.replications == 2
    assert "observed (worst of 2)" in _render(crash_run, 120)


def test_compare_shows_each_runs_duration_and_replications() -> None:
    from twin.scenario.compare import Column, rows

    cols = [Column("a", {"scenario": "s", "seed": 1, "replications": 3, "duration": 180.0,
                         "warmup": 30.0, "checks": []}),
            Column("b", {"scenario": "s", "seed": 1, "replications": 1, "duration": 60.0,
                         "warmup": 0.0, "checks": []})]
    table = dict(rows(cols))
    assert table["duration"] == ["3m (warm-up 30s)", "60s"]
    assert table["seed x replications"] == ["1 x 3", "1 x 1"]


def test_compare_lines_events_up_on_the_fault_and_says_what_differs(tmp_path) -> None:
    import json

    from twin.model.errors import ModelError
    from twin.scenario.compare import Column, differences, find_results, rows

    def run(backend: str, at: float, duration: float) -> dict:
        return {"scenario": "s", "backend": backend, "seed": 1, "replications": 1,
                "duration": duration, "checks": [], "verdict": "passed",
                "timeline": [{"t": at, "event": "redis-master-crash", "fault": True,
                              "source": "store/redis", "detail": "id=crash"},
                             {"t": at + 5.03, "event": "+sdown", "source": "sentinel/0",
                              "detail": ""}]}

    cols = [Column("sim", run("sim", 60.0, 120.0)), Column("local", run("local", 30.0, 90.0))]
    table = dict(rows(cols))
    assert table["backend"] == ["sim", "local"]
    assert table["first +sdown"] == ["+5.03s after crash"] * 2
    notes = differences(cols)
    assert any("backends (local, sim)" in n for n in notes)
    assert any("durations (2m, 90s)" in n for n in notes)
    assert differences([cols[0], cols[0]]) == []

    sim_out = tmp_path / "sim"
    sim_out.mkdir()
    (sim_out / "result.json").write_text(json.dumps({"schema_version": 1, "checks": []}))
    with pytest.raises(ModelError, match="twin sim"):
        find_results([sim_out])


def test_recovery_after_a_fault_that_never_ends_says_so(write_scenario) -> None:
    from twin.scenario import loader
    from twin.scenario.checks import describe

    path = write_scenario("""\
        name: forever
        duration: 60s
        timeline:
          - {id: crash, at: 10s, action: redis-master-crash}
          - {id: blip, at: 20s, action: redis-master-crash, for: 5s}
          - {id: kill, at: 30s, action: kill-pod, target: service/chat-api}
        checks:
          - {name: a, recovery: route/chat.error_rate, after: crash, within: 30s}
          - {name: b, recovery: route/chat.error_rate, after: blip, within: 30s}
          - {name: c, recovery: route/chat.error_rate, after: kill, within: 30s}
        """)
    scn = loader.load(path).scenario
    never, ends, instant = (describe(c, scn)[0] for c in scn.checks)
    assert "after crash ends" not in never
    assert never.endswith("after crash starts (crash lasts to the end of the run)")
    assert ends.endswith("after blip ends")
    assert instant.endswith("steady state after kill")  # a kill is over when it happens


def test_a_steady_state_with_pending_pods_and_full_pools_says_so(write_scenario) -> None:
    """40 chat-api pods do not fit the app pool and pass postgres max_connections: the
    report says so before the impact table, not only under --events all."""
    from scenario_texts import CRASH

    from twin.scenario import loader
    from twin.scenario.runner import execute

    run = execute(loader.load(write_scenario(CRASH), [
        "services.chat-api.replicas=40", "services.chat-api.hpa=null", "scenario.replications=1"]))
    text = _render(run, 100)
    head = text[: text.index("User impact")]
    assert "Before the first fault" in head
    assert "FailedScheduling" in head and "TooManyConnections" in head
    assert "Pending at the end" in head and "chat-api-v1" in head


def test_a_healthy_steady_state_has_no_warning_section(crash_run) -> None:
    assert "Before the first fault" not in _render(crash_run, 100)


@pytest.mark.parametrize("metric,stat", [("route/chat.latency", "p99"), ("route/chat.p99", None)])
def test_latency_bounds_read_in_the_unit_of_the_observed_value(metric: str, stat: str | None) -> None:
    from twin.scenario.checks import describe
    from twin.scenario.model import Check

    body = {"name": "fast", "metric": metric, "max": "100ms", "window": "warmup..end"}
    if stat:
        body["stat"] = stat
    what, bound, unit = describe(Check.model_validate(body))
    assert unit == "s" and bound == "<= 100ms"
    assert "p99 p99" not in what and what.startswith(f"{metric} p99" if stat else f"{metric} after")


def test_impact_without_routes_prints_its_totals_and_no_empty_table(crash_run) -> None:
    crash_run.impact = {"routes": {}, "totals": {"redis writes failing for": "6.0s"}}
    text = _render(crash_run, 100)
    assert "User impact" in text and "redis writes failing for: 6.0s" in text
    assert "failing for  notes" not in text  # the route table's header


def test_a_run_that_saturates_a_worker_says_so(write_scenario) -> None:
    """24 chats/s against chat-worker's ~4.4 turns/s: the checks may hold on the API's
    answers, but the report must say the backlog grew through the run."""
    from twin.scenario import loader
    from twin.scenario.runner import execute

    run = execute(loader.load(write_scenario("""\
        name: sat
        duration: 90s
        warmup: 20s
        load: {rates: {chat: 24/s}, only: true}
        """), ()))
    text = _render(run, 120)
    assert "WARNING: saturated" in text and "queue/chat-tasks" in text
    assert "exceeds chat-worker's capacity" in text
