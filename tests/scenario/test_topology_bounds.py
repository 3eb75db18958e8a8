"""Bounds, windows and descriptions that name a topology value follow the topology in force."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.model.errors import ModelError
from twin.scenario import loader
from twin.scenario.model import Check, time_parts, topology_terms

ROOT = Path(__file__).resolve().parents[2]
DA = "stores.redis.sentinel.down_after"

FOLLOWS = f"""\
name: follows
description: crash with down-after {{{DA}}} and quorum {{stores.redis.sentinel.quorum}}
duration: 2m
timeline:
  - {{id: crash, at: 30s, action: redis-master-crash, target: store/redis}}
checks:
  - name: sdown after down-after
    description: SDOWN {{{DA}}} after the crash
    event: +sdown
    stat: delay
    window: crash..end
    range: [{DA}, {DA} + 1s]
  - name: the writes fail until down-after
    metric: route/chat.error_rate
    window: crash+{DA}+5s..end
    max: 0.02
  - name: two-thirds of a minute is not a topology value
    metric: route/chat.error_rate
    window: warmup..crash
    max: 2%
"""


def test_terms_split_paths_from_names_and_durations() -> None:
    assert topology_terms(f"{DA} + 1s") == [(1, DA), (1, "1s")]
    assert topology_terms(f"crash+{DA}-0.5s") == [(1, "crash"), (1, DA), (-1, "0.5s")]
    assert topology_terms("services.chat-api.replicas - 1") == [(1, "services.chat-api.replicas"), (-1, "1")]
    assert topology_terms(f"end - {DA}") == [(1, "end"), (-1, DA)]
    assert topology_terms("kill.end+30s") is None and topology_terms("30s") is None
    assert time_parts(f"crash.end+{DA}+2s") == ("crash", True, 2.0, ((1, DA),))
    assert time_parts("kill+10s") == ("kill", False, 10.0, ())


def test_a_bound_that_is_neither_number_nor_path_is_refused() -> None:
    with pytest.raises(ValueError, match="not a bound"):
        Check(name="x", metric="route/chat.error_rate", max=f"{DA} + soon")
    with pytest.raises(ValueError, match="neither a duration nor a topology path"):
        Check(name="x", metric="route/chat.error_rate", max=1, window=f"crash+{DA}+soon..end")


@pytest.mark.parametrize("down_after", [1.0, 5.0, 30.0])
def test_bounds_windows_and_descriptions_resolve_against_set(write_scenario, down_after: float) -> None:
    loaded = loader.load(write_scenario(FOLLOWS), [f"{DA}={down_after:g}s"])
    scn = loaded.scenario
    sdown, writes, plain = scn.checks
    assert sdown.range == (down_after, down_after + 1)
    assert writes.window.from_ == f"crash+{down_after + 5:g}s"
    assert scn.resolve(writes.window.from_) == 30 + down_after + 5
    assert plain.max == 0.02 and plain.window.from_ == "warmup"
    assert scn.description == f"crash with down-after {down_after:g}s and quorum 2"
    assert sdown.description == f"SDOWN {down_after:g}s after the crash"


def test_the_files_own_override_is_in_force_and_set_wins(write_scenario) -> None:
    path = write_scenario(FOLLOWS + f"overrides:\n  {DA}: 3s\n")
    assert loader.load(path).scenario.checks[0].range == (3.0, 4.0)
    assert loader.load(path, [f"{DA}=8s"]).scenario.checks[0].range == (8.0, 9.0)


def test_a_path_that_names_nothing_is_a_problem_with_file_and_line(write_scenario) -> None:
    bad = (FOLLOWS.replace(f"range: [{DA}, {DA} + 1s]", f"range: [{DA}, stores.redis.sentinel.down_aftr]")
           .replace(f"crash+{DA}+5s..end", "crash+stores.redsi.sentinel.down_after..end")
           .replace("quorum {stores.redis.sentinel.quorum}", "{stores.redis.name}s"))
    path = write_scenario(bad)
    with pytest.raises(ModelError) as e:
        loader.load(path)
    found = [str(p) for p in e.value.problems]
    f = str(path)
    assert any(p.startswith(f"{f}:15:") and "'down_aftr'" in p and "down_after" in p for p in found), found
    assert any(p.startswith(f"{f}:18:") and "no item named 'redsi' (did you mean 'redis'?)" in p for p in found), found
    assert len(found) == 2, found  # a text quoted in a description is fine: {stores.redis.name}


def test_a_placeholder_that_names_nothing_is_a_problem_at_the_description(write_scenario) -> None:
    path = write_scenario(FOLLOWS.replace("{stores.redis.sentinel.quorum}", "{stores.redis.sentinel.quorom}"))
    with pytest.raises(ModelError) as e:
        loader.load(path)
    (problem,) = e.value.problems
    assert problem.line == 5 and "'quorom'" in problem.message


def test_a_path_to_a_text_is_not_a_bound(write_scenario) -> None:
    path = write_scenario(FOLLOWS.replace(f"{DA} + 1s]", "stores.redis.name]"))
    with pytest.raises(ModelError) as e:
        loader.load(path)
    assert "'redis', not a number or a duration" in str(e.value.problems[0])
    assert e.value.problems[0].line == 15


def test_validate_reports_the_same_problem(write_scenario) -> None:
    """`twin validate` reads the file through the kinds table's hook, without running it."""
    from twin.loading.files import load

    path = write_scenario(FOLLOWS.replace(f"{DA} + 1s]", "stores.redis.sentinel.nope]"))
    with pytest.raises(ModelError) as e:
        load(path)
    problems = [str(p) for p in e.value.problems]
    assert any(":15:" in p and "'nope'" in p for p in problems), problems


@pytest.mark.parametrize("down_after", ["1s", "5s", "30s"])
def test_redis_master_crash_holds_at_any_down_after(down_after: str) -> None:
    """The shipped scenario judges a what-if by its own setting, unchanged."""
    from twin.scenario.runner import execute

    loaded = loader.load(ROOT / "scenarios" / "redis-master-crash.yaml", [f"{DA}={down_after}"])
    run = execute(loaded, "sim")
    assert [o.name for o in run.outcomes if o.status != "held"] == []
    assert f"(down-after {down_after})" in loaded.scenario.description
