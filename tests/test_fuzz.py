"""Mutated topology and scenario files through the real command: never a traceback.

Structure-aware: each case starts from a shipped file, changes its data (a key
deleted, a value of the wrong type or unit, a reference to nothing, a misspelt
or duplicated item), then its text (YAML tags, anchors and aliases, alias bombs,
stray characters) and its bytes (Latin-1, 0xFF, UTF-16, NUL). Every case goes
through `twin validate` in-process (the console entry point, `twin.cli.main`), a
few through a short `twin run`; the exit status must be 0-3 and no exception may
escape. The examples are derandomized: the gate sees the same 1,200 files each
time, and a failure reproduces.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from twin.cli.app import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGIES = ROOT / "topologies"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _dump(data: Any) -> str:
    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, buf)
    return buf.getvalue()


# Seeds: small examples most often (a big file is 0.5 s of pure-Python YAML per case).
TOPOLOGY_SEEDS = [(p.name, _load(p)) for p in sorted((TOPOLOGIES / "examples").glob("*.yaml"))] * 4 + [
    (name, _load(TOPOLOGIES / name)) for name in ("eco2-dev.yaml", "eco2-prod.yaml")] * 2 + [
    ("eco2-base.yaml", _load(TOPOLOGIES / "eco2-base.yaml"))]
SCENARIO_SEEDS = [(p.name, _load(p)) for p in SCENARIOS]

WRONG_TYPES = [None, True, False, 0, -1, 3, 0.5, 1e300, 10**30, "", "x", "chat-api", [], {}, [1, "a"],
               {"a": 1}, {"name": "x"}, ".inf", "5000"]
QUANTITY = re.compile(r"^-?\d+(\.\d+)?\s*(ms|s|m|h|d|Ki|Mi|Gi|Ti|k|M|G|/s|/m|/h)?$")
BAD_UNITS = ["{n}sec", "{n} seconds", "{n}/sec", "{n}MB", "{n}gb", "-{n}{u}", "{n}e3{u}", "{n}.{u}",
             "{n}{u}{u}", "{n}", "{n}000", "0x{n}{u}", "{n}{u} ", " {n}{u}", "{u}{n}"]
TAGS = ["!!omap ", "!!set ", "!!binary ", "!!python/object:os.system ", "!!python/name:builtins.eval ",
        "!!python/object/apply:os.system ", "!custom ", "!<tag:example.com,2024:x> ", "!!str ", "!!int ",
        "!!float ", "!!timestamp ", "!!pairs ", "!!map ", "!!seq ", "!!null ", "!!merge "]
STRAY = ["", ":", "- ", "\t", "{", "}", "[", "]", "'", '"', "? ", "%", "&", "*", "|", ">", "#", "@", "`",
         "\n  - ", "\n---\n", "<<: ", ": :", "\\"]
BAD_BYTES = [b"\xe9", b"\xff", b"\xfe\xff", b"\x00", b"\x07", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf"]


HEADER = ("apiVersion", "kind")


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [node] if isinstance(node, str) else []


def _near_miss(draw: st.DrawFn, name: str) -> str:
    how = draw(st.sampled_from(["drop", "double", "swap", "suffix", "case"]))
    if not name:
        return "x"
    i = draw(st.integers(0, len(name) - 1))
    if how == "drop":
        return name[:i] + name[i + 1:]
    if how == "double":
        return name[:i] + name[i] + name[i:]
    if how == "swap" and len(name) > 1:
        i = min(i, len(name) - 2)
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if how == "case":
        return name.upper()
    return name + "-2"


def _bad_unit(draw: st.DrawFn, value: str) -> str:
    m = re.match(r"^-?(\d+(?:\.\d+)?)\s*(.*)$", value)
    n, u = (m[1], m[2]) if m else ("1", "s")
    return draw(st.sampled_from(BAD_UNITS)).format(n=n, u=u or "s")


OPS = ("delete", "type", "unit", "reference", "unknown", "duplicate", "rename")


@st.composite
def mutated_data(draw: st.DrawFn, seeds: list[tuple[str, Any]], ops: tuple[str, ...] = OPS,
                 wrong: list[Any] = WRONG_TYPES) -> tuple[str, Any]:
    """A seed file's data with up to four structural mistakes."""
    name, data = draw(st.sampled_from(seeds))
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(data)  # the header last: hypothesis favours the first choices
        paths = [p for p in paths if p[0] not in HEADER] + [p for p in paths if p[0] in HEADER]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        value = parent[last]
        how = draw(st.sampled_from(ops))
        if how == "delete":
            del parent[last]
        elif how == "type":
            parent[last] = copy.deepcopy(draw(st.sampled_from(wrong)))
        elif how == "unit" and isinstance(value, str) and QUANTITY.match(value):
            parent[last] = _bad_unit(draw, value)
        elif how == "unit" and isinstance(value, int | float) and not isinstance(value, bool):
            parent[last] = draw(st.sampled_from([f"{value}sec", f"{value}ms", -value, value * 1000,
                                                 f"{value}%", str(value)]))
        elif how == "reference" and isinstance(value, str):
            others = _strings(data)
            parent[last] = draw(st.one_of(st.just(_near_miss(draw, value)), st.sampled_from(others)))
        elif how == "unknown" and isinstance(parent, dict):
            key = _near_miss(draw, str(last))
            parent[key] = copy.deepcopy(value)
        elif how == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(value))
        elif how == "rename" and isinstance(value, dict) and isinstance(value.get("name"), str):
            value["name"] = _near_miss(draw, value["name"])
        else:
            parent[last] = copy.deepcopy(draw(st.sampled_from(wrong)))
    return name, data


def _text_damage(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    how = draw(st.sampled_from(["none"] * 6 + ["tag", "alias", "bomb", "cycle", "undefined", "stray"]))
    values = [i for i, line in enumerate(lines) if ": " in line]
    if how == "tag" and values:
        i = draw(st.sampled_from(values))
        key, _, rest = lines[i].partition(": ")
        lines[i] = f"{key}: {draw(st.sampled_from(TAGS))}{rest}"
    elif how == "alias" and len(values) > 1:
        i, j = sorted(draw(st.lists(st.sampled_from(values), min_size=2, max_size=2, unique=True)))
        key, _, rest = lines[i].partition(": ")
        lines[i] = f"{key}: &fz {rest}"
        key, _, _ = lines[j].partition(": ")
        lines[j] = f"{key}: *fz"
    elif how == "bomb":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(2, 9))
        bomb = ["b0: &b0 [" + ", ".join(["x"] * width) + "]"]
        bomb += [f"b{k}: &b{k} [" + ", ".join([f"*b{k - 1}"] * width) + "]" for k in range(1, depth)]
        at = draw(st.integers(0, len(lines)))
        if at and lines[at - 1].startswith(" "):
            at = len(lines)
        lines[at:at] = bomb
    elif how == "cycle" and values:
        i = draw(st.sampled_from(values))
        key, _, _ = lines[i].partition(": ")
        lines[i] = f"{key}: &cy [1, *cy]"
    elif how == "undefined" and values:
        i = draw(st.sampled_from(values))
        key, _, _ = lines[i].partition(": ")
        lines[i] = f"{key}: *nowhere"
    elif how == "stray":
        text = "\n".join(lines)
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.sampled_from(STRAY)) + text[at:]
    return "\n".join(lines)


def _byte_damage(draw: st.DrawFn, text: str) -> bytes:
    how = draw(st.sampled_from(["utf-8"] * 12 + ["insert", "utf-16", "latin-1", "truncate"]))
    if how == "utf-16":
        return text.encode("utf-16")
    if how == "latin-1":
        return (text + "\n# café\n").encode("latin-1", errors="replace")
    data = text.encode("utf-8")
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from(BAD_BYTES)) + data[at:]
    if how == "truncate":
        return (text + "\n# é").encode("utf-8")[:-1]
    return data


@st.composite
def mutated_file(draw: st.DrawFn, seeds: list[tuple[str, Any]]) -> tuple[str, bytes]:
    name, data = draw(mutated_data(seeds))
    return name, _byte_damage(draw, _text_damage(draw, _dump(data)))


# ------------------------------------------------------------------- the runs


def twin(*args: str) -> tuple[int, str]:
    """The console entry point in-process: (exit status, what it printed)."""
    out, argv = io.StringIO(), sys.argv
    sys.argv = ["twin", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    else:
        code = 0
    finally:
        sys.argv = argv
    return code, out.getvalue()


def judged(code: int, output: str, seen: Counter) -> None:
    seen[code] += 1
    assert code in (0, 1, 2, 3), output
    assert "Traceback" not in output, output
    if code == 2:
        assert "problem" in output, output  # bad input names what is bad


@pytest.fixture(scope="module")
def tree() -> Path:
    """A folder with the shipped topologies (a scenario's `topology: ../topologies/...`) and a
    place for the mutated file beside them."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "topologies").symlink_to(TOPOLOGIES)
        (root / "scenarios").mkdir()
        (root / "t").mkdir()
        (root / "t" / "eco2-base.yaml").symlink_to(TOPOLOGIES / "eco2-base.yaml")  # for overlays
        yield root


FUZZ = settings(max_examples=700, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def test_mutated_topologies_never_escape_the_command(tree: Path) -> None:
    seen: Counter = Counter()

    @FUZZ
    @given(case=mutated_file(TOPOLOGY_SEEDS))
    def case(case: tuple[str, bytes]) -> None:
        name, data = case
        path = tree / "t" / ("overlay.yaml" if name in ("eco2-dev.yaml", "eco2-prod.yaml") else "topology.yaml")
        path.write_bytes(data)
        judged(*twin("validate", str(path)), seen)

    case()
    assert seen[0] and seen[2], seen  # both valid and broken files came through


def test_mutated_scenarios_never_escape_the_command(tree: Path) -> None:
    seen: Counter = Counter()

    @settings(FUZZ, max_examples=500)
    @given(case=mutated_file(SCENARIO_SEEDS))
    def case(case: tuple[str, bytes]) -> None:
        path = tree / "scenarios" / "scenario.yaml"
        path.write_bytes(case[1])
        judged(*twin("validate", str(path)), seen)

    case()
    assert seen[0] and seen[2], seen


def test_a_few_mutated_scenarios_also_run_briefly(tree: Path) -> None:
    """A short simulated run of each; no number grows (a load scaled by 1000 is valid and
    slow, not a crash), so no case takes long."""
    seen: Counter = Counter()
    light = [(n, d) for n, d in SCENARIO_SEEDS if n.startswith(("redis-", "retry-storm.", "llm-slow."))]

    @settings(FUZZ, max_examples=8)
    @given(case=mutated_data(light, ("delete", "type", "reference", "unknown", "rename"),
                             [None, "", "x", [], {}, 0, True]))
    def case(case: tuple[str, Any]) -> None:
        path = tree / "scenarios" / "run.yaml"
        path.write_text(_dump(case[1]), encoding="utf-8")
        judged(*twin("run", str(path), "--set", "scenario.duration=75s", "--set", "scenario.warmup=5s",
                     "--set", "scenario.replications=1"), seen)

    case()
    assert sum(seen.values()) >= 8, seen
