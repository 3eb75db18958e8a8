"""Quantities, YAML with positions, overlay merges and --set overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model import units
from twin.model.errors import ModelError

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"

MINI = """\
apiVersion: twin.eco2/v1
kind: Topology
cluster: {name: mini}
pools:
  - name: cp
    role: control-plane
    cpu: 2
    memory: 4Gi
    nodes: [{name: master}]
  - name: app
    cpu: 4
    memory: 8Gi
    nodes: [{name: w1}, {name: w2}]
namespaces:
  - {name: shop, tier: business-logic, domain: shop}
services:
  - name: web
    namespace: shop
    replicas: 2
    service_time: {dist: exponential, mean: 20ms}
routes:
  - name: browse
    entry: web
    rate: 10/s
    steps: [{call: web}]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------- units


@pytest.mark.parametrize(("text", "seconds"), [
    ("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), (2, 2.0), ("1.5", 1.5)])
def test_durations(text: object, seconds: float) -> None:
    assert units.parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "rate"), [("300", 300.0), ("300/s", 300.0), ("5/m", 5 / 60),
                                            ("90/h", 90 / 3600), (7, 7.0)])
def test_rates(text: object, rate: float) -> None:
    assert units.parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize(("text", "cores"), [("250m", 0.25), ("0.5", 0.5), ("2", 2.0), (1, 1.0)])
def test_cpu(text: object, cores: float) -> None:
    assert units.parse_cpu(text) == pytest.approx(cores)


@pytest.mark.parametrize(("text", "nbytes"), [("256Mi", 256 * 2**20), ("4Gi", 4 * 2**30),
                                              ("1G", 10**9), ("1024", 1024)])
def test_memory(text: object, nbytes: float) -> None:
    assert units.parse_memory(text) == nbytes


@pytest.mark.parametrize(("parse", "bad"), [
    (units.parse_duration, "soon"), (units.parse_duration, -1), (units.parse_duration, True),
    (units.parse_rate, "fast"), (units.parse_cpu, "lots"), (units.parse_memory, "4 gigs"),
    (units.parse_memory, [1])])
def test_bad_quantities_say_what_they_expected(parse: object, bad: object) -> None:
    with pytest.raises(ValueError):
        parse(bad)


def test_formatting_round_trips() -> None:
    assert units.format_cpu(0.25) == "250m" and units.format_cpu(2.0) == "2"
    assert units.format_memory(256 * 2**20) == "256Mi" and units.format_memory(4 * 2**30) == "4Gi"
    assert units.format_duration(0.25) == "250ms" and units.format_duration(300) == "5m"


# ------------------------------------------------------------------ source


def test_a_small_general_topology_loads(tmp_path: Path) -> None:
    topo = load_topology(write(tmp_path, "mini.yaml", MINI))
    assert topo.service("web").replicas == 2
    assert topo.route("browse").rate == 10.0
    assert topo.service("web").service_time.expected == pytest.approx(0.02)


def test_overlay_merges_mappings_and_named_lists(tmp_path: Path) -> None:
    write(tmp_path, "mini.yaml", MINI)
    over = write(tmp_path, "over.yaml", """\
apiVersion: twin.eco2/v1
kind: Topology
extends: mini.yaml
cluster: {environment: prod}
pools:
  - name: app
    nodes: [{name: w3}]
services:
  - name: web
    replicas: 4
""")
    topo = load_topology(over)
    assert topo.cluster.name == "mini" and topo.cluster.environment == "prod"
    assert [n.name for n in next(p for p in topo.pools if p.name == "app").nodes] == ["w1", "w2", "w3"]
    web = topo.service("web")
    assert web.replicas == 4 and web.namespace == "shop"  # the rest from the base


def test_overlay_removes_named_items(tmp_path: Path) -> None:
    write(tmp_path, "mini.yaml", MINI)
    over = write(tmp_path, "over.yaml", """\
apiVersion: twin.eco2/v1
kind: Topology
extends: mini.yaml
pools:
  - name: app
    nodes: [{name: w2, $remove: true}]
""")
    topo = load_topology(over)
    assert [n.name for _, n in topo.nodes] == ["master", "w1"]


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "apiVersion: twin.eco2/v1\nkind: Topology\nextends: b.yaml\n")
    write(tmp_path, "b.yaml", "apiVersion: twin.eco2/v1\nkind: Topology\nextends: a.yaml\n")
    with pytest.raises(ModelError, match="cycle"):
        load_topology(tmp_path / "a.yaml")


def test_missing_base_names_the_extends_line(tmp_path: Path) -> None:
    f = write(tmp_path, "a.yaml", "apiVersion: twin.eco2/v1\nkind: Topology\nextends: nope.yaml\n")
    with pytest.raises(ModelError) as e:
        load_topology(f)
    (p,) = e.value.problems
    assert (p.line, p.field) == (3, "extends") and "no such file" in p.message


def test_set_overrides_by_name(tmp_path: Path) -> None:
    topo = load_topology(TOPOLOGIES / "eco2-prod.yaml",
                         ["services.chat-api.replicas=5", "stores.redis.sentinel.down_after=5s",
                          "cluster.network_policy=loose"])
    assert topo.service("chat-api").replicas == 5
    assert topo.store("redis").sentinel.down_after == 5.0
    assert topo.cluster.network_policy == "loose"


def test_set_with_a_bad_value_is_validated_like_the_file() -> None:
    with pytest.raises(ModelError) as e:
        load_topology(TOPOLOGIES / "eco2-prod.yaml", ["services.chat-api.replicas=-2"])
    (p,) = e.value.problems
    assert p.file == "--set services.chat-api.replicas=-2"
    assert p.field == "services.chat-api.replicas"


def test_set_on_an_unknown_item_lists_the_names() -> None:
    with pytest.raises(ModelError) as e:
        load_topology(TOPOLOGIES / "eco2-prod.yaml", ["services.chat-apii.replicas=2"])
    assert "chat-api" in str(e.value) and "chat-apii" in str(e.value)


def test_set_needs_path_equals_value() -> None:
    with pytest.raises(ModelError, match="PATH=VALUE"):
        load_topology(TOPOLOGIES / "eco2-prod.yaml", ["services.chat-api.replicas"])


def test_error_in_the_overlay_names_the_overlay_and_line(tmp_path: Path) -> None:
    write(tmp_path, "mini.yaml", MINI)
    over = write(tmp_path, "over.yaml", "apiVersion: twin.eco2/v1\nkind: Topology\n"
                 "extends: mini.yaml\nservices:\n  - name: web\n    replicas: many\n")
    with pytest.raises(ModelError) as e:
        load_topology(over)
    (p,) = e.value.problems
    assert (Path(p.file).name, p.line, p.field) == ("over.yaml", 6, "services.web.replicas")


def test_error_in_the_base_names_the_base(tmp_path: Path) -> None:
    write(tmp_path, "mini.yaml", MINI.replace("    replicas: 2\n", "    replicas: 2\n    colour: red\n"))
    over = write(tmp_path, "over.yaml", "apiVersion: twin.eco2/v1\nkind: Topology\nextends: mini.yaml\n")
    with pytest.raises(ModelError) as e:
        load_topology(over)
    (p,) = e.value.problems
    assert (Path(p.file).name, p.line, p.field) == ("mini.yaml", 20, "services.web.colour")
    assert "unknown field" in p.message


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/name:os.system",
                                 "!custom", "!!binary"])
def test_unsafe_and_unknown_tags_are_refused(tmp_path: Path, tag: str) -> None:
    f = write(tmp_path, "t.yaml", MINI.replace("cluster: {name: mini}", f"cluster: {tag} {{name: mini}}"))
    with pytest.raises(ModelError, match="tag"):
        load_topology(f)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    f = write(tmp_path, "t.yaml", MINI.replace("cluster: {name: mini}", "cluster: {name: mini}\ncluster: {name: b}"))
    with pytest.raises(ModelError) as e:
        load_topology(f)
    assert e.value.problems[0].line in (3, 4)
