"""The Scenario model: time expressions, actions, checks, load profile."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from twin.scenario.model import Action, Check, Load, Scenario, parse_time


@pytest.mark.parametrize("expr, parsed", [
    ("90s", (None, False, 90.0)),
    ("kill", ("kill", False, 0.0)),
    ("kill+10s", ("kill", False, 10.0)),
    ("kill-500ms", ("kill", False, -0.5)),
    ("kill.end+1m", ("kill", True, 60.0)),
    ("end-30s", ("end", False, -30.0)),
    (45, (None, False, 45.0)),
])
def test_time_expressions(expr, parsed) -> None:
    assert parse_time(expr) == parsed


@pytest.mark.parametrize("expr", ["kill+", "+", "kill 10s", "-5s", "end.end", "Kill", ""])
def test_bad_time_expressions(expr) -> None:
    with pytest.raises(ValueError):
        parse_time(expr)


def test_action_fields_follow_the_action() -> None:
    assert Action(at=1, action="scale", target="chat-api", replicas=4).replicas == 4
    with pytest.raises(ValidationError, match="scale needs replicas"):
        Action(at=1, action="scale", target="chat-api")
    with pytest.raises(ValidationError, match="node-down takes no replicas"):
        Action(at=1, action="node-down", target="k8s-storage", replicas=2)
    with pytest.raises(ValidationError, match="partition needs isolate"):
        Action(at=1, action="partition")
    assert Action.model_validate({"at": "1m", "action": "store-down", "target": "postgres",
                                  "for": "30s"}).end == 90.0


def test_check_shapes_and_bounds() -> None:
    c = Check.model_validate({"name": "x", "metric": "route/chat.error_rate", "max": "5%",
                              "window": "kill..kill.end+10s"})
    assert c.max == pytest.approx(0.05)
    assert (c.window.from_, c.window.to) == ("kill", "kill.end+10s")
    assert Check.model_validate({"name": "d", "event": "+sdown", "stat": "delay",
                                 "range": ["5s", "5.15s"]}).range == (5.0, 5.15)
    for bad, msg in [
        ({"name": "x", "metric": "a.b", "event": "+sdown", "max": 1}, "exactly one"),
        ({"name": "x", "metric": "a.b"}, "needs max, min or range"),
        ({"name": "x", "event": "+sdown", "stat": "p99", "max": 1}, "count or delay"),
        ({"name": "x", "recovery": "a.b"}, "needs within"),
        ({"name": "x", "metric": "a.b", "range": [2, 1]}, "low <= high"),
        ({"name": "x", "metric": "a.b", "max": 1, "window": "kill"}, "FROM..TO"),
    ]:
        with pytest.raises(ValidationError, match=msg):
            Check.model_validate(bad)


def test_within_bounds_is_inclusive() -> None:
    c = Check(name="r", metric="a.b", range=(1.0, 2.0))
    assert c.within_bounds(1.0) and c.within_bounds(2.0)
    assert not c.within_bounds(0.999) and not c.within_bounds(2.001)


def test_load_profile_is_piecewise_linear() -> None:
    load = Load.model_validate({"profile": [{"at": "0s", "factor": 1}, {"at": "60s", "factor": 3}]})
    assert load.factor(0) == 1 and load.factor(30) == pytest.approx(2.0) and load.factor(600) == 3
    assert Load().factor(5) == 1.0


def test_resolve_clamps_to_the_run_and_uses_fault_ends() -> None:
    s = Scenario.model_validate({
        "apiVersion": "twin.eco2/v1", "kind": "Scenario", "name": "x", "duration": "2m",
        "warmup": "10s",
        "timeline": [{"id": "kill", "at": "30s", "action": "redis-master-crash", "for": "20s"},
                     {"id": "cut", "at": "40s", "action": "sentinel-down"}]})
    assert s.resolve("kill+5s") == 35 and s.resolve("kill.end") == 50
    assert s.resolve("cut.end") == 120  # no `for`: it lasts to the end of the run
    assert s.resolve("warmup") == 10 and s.resolve("end+10s") == 120 and s.resolve("kill-1m") == 0


def test_a_bound_that_is_no_number_says_what_a_bound_may_be() -> None:
    import pytest as _pytest
    from pydantic import ValidationError

    from twin.scenario.model import Check

    with _pytest.raises(ValidationError, match="not a bound: use a number"):
        Check.model_validate({"name": "x", "metric": "route/chat.error_rate", "max": "2 percent"})
    assert Check.model_validate({"name": "x", "metric": "route/chat.error_rate", "max": "2%"}).max == 0.02
