"""A --set bare number on a duration warns how it was read and how to write it; one that
looks like Sentinel's milliseconds says that too."""

from __future__ import annotations

import pytest

from twin.model.set_hints import field_at, warnings
from twin.model.topology import Topology
from twin.scenario.model import Scenario


@pytest.mark.parametrize("s", [
    "stores.redis.sentinel.down_after=5000",          # default 30 s: 5000 is 167x
    "stores.redis.sentinel.failover_timeout=180000",  # default 180 s
    "mesh.default_retries.per_try_timeout=2000",      # no default: a timeout of 2000 s
])
def test_milliseconds_written_as_a_bare_number_are_named(s: str) -> None:
    (line,) = warnings(Topology, [s])
    value = s.split("=")[1]
    assert line.startswith(f"--set {s}: a bare number is seconds") and f"write {value}ms" in line


@pytest.mark.parametrize(("s", "read"), [
    ("stores.redis.sentinel.down_after=60", "60 is read as 60s; write 60s"),
    ("stores.rabbitmq.consumer_timeout=1800", "1800 is read as 1800s (30m); write 1800s"),
    ("stores.redis.sentinel.down_after=0.5", "0.5 is read as 0.5s (500ms); write 0.5s"),
])
def test_a_plausible_bare_number_says_how_it_was_read(s: str, read: str) -> None:
    (line,) = warnings(Topology, [s])
    assert line == f"--set {s}: a bare number is seconds: {read}"


@pytest.mark.parametrize("s", [
    "stores.redis.sentinel.down_after=5s",       # a unit: nothing to guess
    "stores.redis.sentinel.down_after=0",        # zero in any unit
    "services.chat-api.replicas=4000",           # not a duration
    "scenario.duration=3600",                    # the scenario's: not a topology path
])
def test_values_with_nothing_to_say_are_left_alone(s: str) -> None:
    assert warnings(Topology, [s]) == []


def test_a_field_that_also_takes_a_plain_number_is_no_duration() -> None:
    from twin.capacity.sweep_file import Sweep

    assert warnings(Sweep, ["slo.max=0.01"]) == []  # float | Duration: an error rate
    assert warnings(Sweep, ["duration=300"]) != []


def test_scenario_paths_use_the_scenario_model() -> None:
    assert warnings(Scenario, ["scenario.duration=3600s"], prefix="scenario.") == []
    assert warnings(Scenario, ["scenario.duration=3600"], prefix="scenario.") == [
        "--set scenario.duration=3600: a bare number is seconds: 3600 is read as 3600s (60m); "
        "write 3600s"]
    assert field_at(Scenario, ["timeline", "0", "at"]) is not None
    assert field_at(Topology, ["stores", "redis", "sentinel", "down_after"]) is not None
    assert field_at(Topology, ["services", "chat-api", "no_such_field"]) is None
