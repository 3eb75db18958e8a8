"""Validation: every problem at once, with the file and line that supplied it; never a traceback."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from twin.loading.files import load, load_topology
from twin.model.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")


def _sub(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.fixture(scope="module")
def five(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A base with four different mistakes and an overlay extending it with a fifth."""
    d = tmp_path_factory.mktemp("five")
    t = BASE
    t = _sub(t, "  - name: auth-api\n", "  - name: auth-api\n    replcas: 2\n")          # unknown field
    t = _sub(t, "    namespace: chat\n    protocol: http\n    port: 8000",
             "    namespace: chat\n    protocol: http\n    port: 80000")                   # out of range
    t = _sub(t, "          - {store: postgres, op: read}\n          - {store: redis, op: write, on",
             "          - {store: postgress, op: read}\n          - {store: redis, op: write, on")
    t = _sub(t, "      - name: k8s-storage\n", "      - name: K8s_Storage\n")             # DNS-1123
    over = ("apiVersion: twin.eco2/v1\nkind: Topology\nextends: base.yaml\n"
            "services:\n  - name: chat-api\n    replicas: -1\n")                        # negative
    (d / "base.yaml").write_text(t, encoding="utf-8")
    (d / "overlay.yaml").write_text(over, encoding="utf-8")
    return d / "overlay.yaml", t, over


def test_five_mistakes_give_exactly_five_errors_with_files_and_lines(five: tuple) -> None:
    path, base, over = five
    with pytest.raises(ModelError) as e:
        load_topology(path)
    got = [(Path(p.file).name, p.line, p.field) for p in e.value.problems]
    assert sorted(got) == sorted([
        ("base.yaml", _line(base, "replcas"), "services.auth-api.replcas"),
        ("base.yaml", _line(base, "port: 80000"), "services.chat-api.port"),
        ("base.yaml", _line(base, "postgress"), "routes.login.steps.0.steps.0.store"),
        ("base.yaml", _line(base, "K8s_Storage"), "pools.data.nodes.K8s_Storage.name"),
        ("overlay.yaml", 6, "services.chat-api.replicas"),
    ])
    messages = " | ".join(p.message for p in e.value.problems)
    for words in ("unknown field", "65535", "no store named 'postgress'", "DNS-1123",
                  "greater than or equal to 0"):
        assert words in messages


def test_five_mistakes_through_the_command_exit_2_without_traceback(five: tuple) -> None:
    path, base, _ = five
    run = subprocess.run([sys.executable, "-c", "from twin.cli.app import main; main()", "validate",
                          str(path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr + run.stdout
    lines = [ln for ln in run.stderr.splitlines() if ".yaml:" in ln]
    assert len(lines) == 5
    assert any(ln.startswith(f"{path}:6:5: services.chat-api.replicas:") for ln in lines)
    assert f"base.yaml:{_line(base, 'replcas')}:5: services.auth-api.replcas: unknown field" in run.stderr
    assert "5 problems found" in run.stderr


MINI_HEAD = "apiVersion: twin.eco2/v1\nkind: Topology\n"


@pytest.mark.parametrize(("change", "words"), [
    (("    quorum: 2\n", "    quorum: 4\n"), "quorum 4 is more than the 3 sentinels"),
    (("{host: chat-api, subset: v1, weight: 90}", "{host: chat-api, subset: v1, weight: 0}"), None),
    (("            - {host: chat-api, subset: v2, weight: 10}\n",
      "            - {host: chat-api, subset: v2, weight: 0}\n"), None),
])
def test_prod_rules(tmp_path: Path, change: tuple[str, str], words: str | None) -> None:
    """Quorum above the sentinels is refused; a zero weight is allowed while the sum is positive."""
    prod = (ROOT / "topologies" / "eco2-prod.yaml").read_text(encoding="utf-8")
    (tmp_path / "eco2-base.yaml").write_text(_sub(BASE, *change) if change[0] in BASE else BASE)
    (tmp_path / "p.yaml").write_text(_sub(prod, *change) if change[0] in prod else prod)
    if words is None:
        load_topology(tmp_path / "p.yaml")
        return
    with pytest.raises(ModelError, match=words):
        load_topology(tmp_path / "p.yaml")


def test_weights_summing_to_zero_are_refused(tmp_path: Path) -> None:
    t = _sub(BASE, "{host: chat-api, subset: v1, weight: 90}", "{host: chat-api, subset: v1, weight: 0}")
    t = _sub(t, "{host: chat-api, subset: v2, weight: 10}", "{host: chat-api, subset: v2, weight: 0}")
    (tmp_path / "t.yaml").write_text(t)
    with pytest.raises(ModelError, match="weights add up to 0"):
        load_topology(tmp_path / "t.yaml")


def test_negative_weight_is_refused(tmp_path: Path) -> None:
    t = _sub(BASE, "subset: v2, weight: 10}", "subset: v2, weight: -10}")
    (tmp_path / "t.yaml").write_text(t)
    with pytest.raises(ModelError, match="greater than or equal to 0"):
        load_topology(tmp_path / "t.yaml")


def test_workload_that_fits_no_node_is_named(tmp_path: Path) -> None:
    # chat-worker without the toleration: the app nodes' taint keeps it off, its selector the rest
    head, tail = BASE.split("  - name: chat-worker", 1)
    tail = tail.replace("    placement: *app-pool\n", "    placement: {node_selector: {node-pool: app}}\n", 1)
    t = head + "  - name: chat-worker" + tail
    (tmp_path / "t.yaml").write_text(t)
    with pytest.raises(ModelError) as e:
        load_topology(tmp_path / "t.yaml")
    (p,) = e.value.problems
    assert p.field == "workers.chat-worker.placement" and "can run on no node" in p.message
    assert p.line == _line(t, "    placement: {node_selector: {node-pool: app}}")


def test_every_reference_resolves(tmp_path: Path) -> None:
    t = _sub(BASE, "    queue: scan-tasks\n", "    queue: scan-taskz\n")
    t = _sub(t, "      - {emit: sse-gateway, count: 1, via: [redis, event-router]}",
             "      - {emit: sse-gateway, count: 1, via: [redis, event-routr]}")
    t = _sub(t, "  - name: image-api\n    namespace: image\n", "  - name: image-api\n    namespace: imag\n")
    (tmp_path / "t.yaml").write_text(t)
    with pytest.raises(ModelError) as e:
        load_topology(tmp_path / "t.yaml")
    text = str(e.value)
    assert "no queue named 'scan-taskz'" in text
    assert "no service or store named 'event-routr'" in text
    assert "namespace 'imag' is not defined" in text
    assert "no worker consumes queue 'scan-tasks'" in text  # the route's side of the first
    assert len(e.value.problems) == 4


def test_every_eco2_file_and_scenario_validates() -> None:
    for path in sorted((ROOT / "topologies").glob("eco2-*.yaml")):
        load(path)


# ------------------------------------------------------------------ property


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


_DATA = YAML(typ="safe", pure=True).load(BASE)
_PATHS = _paths(_DATA)
_GARBAGE = [1, -3, 0.5, "x", "", None, True, [], {}, [1, 2], {"a": 1}, "!!python/object:os.system",
            "1e999", "99999999999999999999999", "-5s", "1/0"]


def _get(data: object, path: tuple) -> object:
    for p in path:
        data = data[p]
    return data


def _mutate(data: object, path: tuple, how: str, value: object) -> None:
    parent = _get(data, path[:-1])
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "replace":
        parent[last] = value
    elif how == "unknown" and isinstance(parent, dict):
        parent["unknwn_field"] = value
    elif how == "unknown" and isinstance(parent, list):
        parent.append(value)


def _dump(data: object) -> str:
    import io

    buf = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.dump(data, buf)
    return buf.getvalue()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    mutations=st.lists(st.tuples(st.sampled_from(_PATHS), st.sampled_from(["delete", "replace", "unknown"]),
                                 st.sampled_from(_GARBAGE)), min_size=1, max_size=4),
    in_overlay=st.booleans(),
    text_damage=st.one_of(st.none(), st.tuples(st.integers(0, 20000), st.sampled_from(
        ["", ":", "- ", "\t", "{", "]", "&a ", "*b ", "!!python/object:os.system ", "? ", "%",
         "!!python/name:builtins.eval ", "\n  - ", "'", '"']))),
)
def test_mutated_files_never_escape_as_anything_but_model_error(
        tmp_path: Path, mutations: list, in_overlay: bool, text_damage: tuple | None) -> None:
    import copy

    data = copy.deepcopy(_DATA)
    for path, how, value in mutations:
        with contextlib.suppress(KeyError, IndexError, TypeError):  # removed earlier
            _mutate(data, path, how, copy.deepcopy(value))
    text = _dump(data)
    if text_damage is not None:
        at, insert = text_damage
        at = at % (len(text) + 1)
        text = text[:at] + insert + text[at:]
    if in_overlay:
        (tmp_path / "eco2-base.yaml").write_text(BASE, encoding="utf-8")
        target = tmp_path / "overlay.yaml"
        target.write_text("extends: eco2-base.yaml\n" + text, encoding="utf-8")
    else:
        target = tmp_path / "t.yaml"
        target.write_text(text, encoding="utf-8")
    try:
        topo = load_topology(target)
    except ModelError as e:
        assert e.problems, "a ModelError names at least one problem"
        for p in e.problems:
            assert p.file and str(p)
    else:
        assert topo.cluster.name


TINY_BAD = """\
apiVersion: twin.eco2/v1
kind: Topology
cluster: {name: tiny}
pools:
  - name: control-plane
    role: control-plane
    cpu: 2
    memory: 4Gb
    nodes: [{name: cp}]
  - name: app
    cpu: 4
    memory: 8Gi
    nodes: [{name: w1}]
namespaces: [{name: web, tier: business-logic, domain: web}]
services:
  - name: web-api
    namespace: web
    concurency: 4
    service_time: {dist: exponential, mean: 20ms}
routes:
  - name: bad-rate
    entry: web-api
    rate: 50/sec
    steps: [{call: web-apy}]
  - name: browse
    entry: web-api
    rate: 5/s
    steps: [{call: web-apz}]
"""


def test_a_required_value_in_error_keeps_its_item_so_its_references_are_checked(tmp_path: Path) -> None:
    """One pass names all five: a bad required value (rate) no longer hides its route's
    call to a missing service, a broken pool is not also 'no pool has role control-plane',
    and the second route's problem keeps its own line although the first route was cut."""
    path = tmp_path / "t.yaml"
    path.write_text(TINY_BAD)
    with pytest.raises(ModelError) as e:
        load_topology(path)
    found = sorted((p.line, p.field, p.message.split(";")[0]) for p in e.value.problems)
    assert found == [
        (8, "pools.control-plane.memory", "'4Gb' is not a memory quantity (use e.g. 256Mi, 4Gi)"),
        (18, "services.web-api.concurency", "unknown field (check the spelling"),
        (23, "routes.bad-rate.rate", "'50/sec' is not a rate (use e.g. 300, 300/s, 5/m)"),
        (24, "routes.bad-rate.steps.0.call", "no service named 'web-apy'"),
        (28, "routes.browse.steps.0.call", "no service named 'web-apz'"),
    ]


def test_a_scenario_with_type_errors_still_has_its_names_checked(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "s.yaml"
    path.write_text(f"""\
apiVersion: twin.eco2/v1
kind: Scenario
name: bad
topology: {root / 'topologies' / 'eco2-prod.yaml'}
duration: 3 minutes
warmup: 30s
timeline:
  - {{id: kill, at: 60s, action: kill-pods, target: service/chat-api}}
checks:
  - {{name: a, metric: route/chat.error_rate, window: kill..end, max: 2 percent}}
  - {{name: b, metric: route/chat.error_rat, window: kil..end, max: 0.02}}
""")
    with pytest.raises(ModelError) as e:
        load(path)
    found = {(p.line, p.field) for p in e.value.problems}
    assert found == {(5, "duration"), (8, "timeline.0.action"), (10, "checks.a.max"),
                     (11, "checks.b.metric"), (11, "checks.b.window")}
