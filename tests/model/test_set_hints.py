"""A --set number on a duration that looks like Sentinel's milliseconds is warned about."""

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


@pytest.mark.parametrize("s", [
    "stores.redis.sentinel.down_after=5s",       # a unit: nothing to guess
    "stores.redis.sentinel.down_after=60",       # two minutes' worth of plausible seconds
    "stores.rabbitmq.consumer_timeout=1800",     # RabbitMQ's own default, 30 min
    "services.chat-api.replicas=4000",           # not a duration
    "scenario.duration=3600",                    # the scenario's: not a topology path
])
def test_plausible_values_are_left_alone(s: str) -> None:
    assert warnings(Topology, [s]) == []


def test_scenario_paths_use_the_scenario_model() -> None:
    assert warnings(Scenario, ["scenario.duration=3600"], prefix="scenario.") == []
    assert field_at(Scenario, ["timeline", "0", "at"]) is not None
    assert field_at(Topology, ["stores", "redis", "sentinel", "down_after"]) is not None
    assert field_at(Topology, ["services", "chat-api", "no_such_field"]) is None
