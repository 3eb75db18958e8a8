"""Numbers no cluster has (.inf, .nan, 10**400) are problems, not runs that never end."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from twin.loading.files import load_topology
from twin.model import units
from twin.model.base import Distribution
from twin.model.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("parse", [units.parse_duration, units.parse_rate, units.parse_cpu,
                                   units.parse_memory])
@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10**400, "9" * 400])
def test_quantities_refuse_what_no_float_holds(parse: object, value: object) -> None:
    with pytest.raises(ValueError, match="a cluster can have"):
        parse(value)  # type: ignore[operator]


def test_a_negative_cpu_string_is_refused_as_a_negative_number_is() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        units.parse_cpu("-1")


def test_plain_float_fields_refuse_inf_and_nan() -> None:
    with pytest.raises(ValidationError, match="finite number"):
        Distribution(dist="lognormal", mean=1.0, cv=float("inf"))


@pytest.mark.parametrize("value", [".inf", ".nan", "1" + "0" * 400])
def test_a_file_with_an_endless_rate_is_a_problem_with_its_line(tmp_path: Path, value: str) -> None:
    assert "    rate: 1/s\n" in BASE
    text = BASE.replace("    rate: 1/s\n", f"    rate: {value}\n", 1)
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as e:
        load_topology(path)
    line = text.split("\n").index(f"    rate: {value}") + 1
    assert [(p.line, "a cluster can have" in p.message) for p in e.value.problems] == [(line, True)]


@pytest.mark.parametrize("path", ["services.chat-api.replicas", "workers.chat-worker.hpa.max",
                                  "services.chat-api.versions.v2.replicas"])
def test_a_replica_count_no_cluster_runs_is_refused_before_any_pod_is_listed(path: str) -> None:
    """10**7 pods used to hang `twin status` while it listed them."""
    with pytest.raises(ModelError, match="less than or equal to 5000"):
        load_topology(ROOT / "topologies" / "eco2-prod.yaml", sets=[f"{path}=10000000"])
