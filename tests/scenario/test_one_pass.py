"""A scenario and its topology are validated in one pass: a file with problems in
both shows them all at once, each with its file, line and field, so that fixing the
first ones shows no new ones."""

from __future__ import annotations

import pytest

from twin.model.errors import ModelError
from twin.scenario import loader

# 3 problems that stopped the checks before (no `duration:`, an unknown field, an
# override the topology refuses), and 7 that only showed once those were fixed
BROKEN = """\
name: ten
replicatons: 2
overrides:
  services.chat-api.replicas: many
load:
  rates: {chta: 3}
timeline:
  - {id: crash, at: 30s, action: redis-master-crash, target: store/rediss}
  - {id: loss, at: 40s, action: node-down, target: node/k8s-wroker-1}
checks:
  - name: a
    metric: route/chta.error_rate
    window: crsh..end
    max: 0.02
  - name: b
    event: +sdown
    stat: delay
    window: crash..end
    range: [stores.redis.sentinel.down_aftr, 31s]
  - name: c
    saturation: worker/chat-wroker
"""

EXPECTED = [  # (line of the written file, after its 3 header lines; field; words of the message)
    (1, "duration", "required field is missing"),  # the file's top: no line writes it
    (5, "replicatons", "did you mean 'replications'"),
    (7, "services.chat-api.replicas", "valid integer"),
    (9, "load.rates.chta", "no route named 'chta'"),
    (11, "timeline.0.target", "did you mean store/redis"),
    (12, "timeline.1.target", "did you mean node/k8s-worker-1"),
    (15, "checks.a.metric", "did you mean route/chat"),
    (16, "checks.a.window", "no fault with id 'crsh'"),
    (22, "checks.b.range.0", "did you mean 'down_after'"),
    (24, "checks.c.saturation", "no workload named 'chat-wroker'"),
]


def _problems(path, sets=()) -> list:
    with pytest.raises(ModelError) as e:
        loader.load(path, sets)
    return e.value.problems


def test_every_problem_of_scenario_and_topology_in_one_run(write_scenario) -> None:
    path = write_scenario(BROKEN)
    problems = _problems(path)
    got = [(p.line, p.field, p.message) for p in problems]
    assert len(problems) == len(EXPECTED), got
    for (line, field, words), (got_line, got_field, message) in zip(EXPECTED, got, strict=True):
        assert (got_line, got_field) == (line, field)
        assert words in message
    assert {p.file for p in problems} == {str(path)}


def test_twin_validate_lists_the_same_problems(write_scenario) -> None:
    from twin.loading.files import load

    path = write_scenario(BROKEN)
    with pytest.raises(ModelError) as e:
        load(path)
    assert [(p.line, p.field) for p in e.value.problems] == [(line, f) for line, f, _ in EXPECTED]


def test_a_set_the_topology_refuses_still_leaves_the_names_checked(write_scenario) -> None:
    path = write_scenario("""\
        name: s
        duration: 2m
        timeline:
          - {id: crash, at: 30s, action: redis-master-crash, target: store/rediss}
        checks:
          - {name: a, metric: route/chat.error_rate, max: 0.02}
        """)
    problems = _problems(path, ["services.chat-api.replicas=many"])
    assert [p.field for p in problems] == ["services.chat-api.replicas", "timeline.0.target"]
    assert problems[0].file == "--set services.chat-api.replicas=many"


def test_a_broken_topology_file_is_reported_without_guessing_names(write_scenario, tmp_path) -> None:
    """No topology to check names against: its own problems, and the scenario's own."""
    topo = tmp_path / "t.yaml"
    topo.write_text("apiVersion: twin.eco2/v1\nkind: Topology\nclustr: {}\n", encoding="utf-8")
    path = write_scenario(f"""\
        topology: {topo}
        name: s
        duration: 2m
        timeline:
          - {{id: crash, at: 30s, action: redis-master-crash, target: store/rediss}}
        checks:
          - {{name: a, metric: route/chat.error_rate, window: crsh..end, max: 0.02}}
        """, header=False)
    (tmp_path / "s.yaml").write_text("apiVersion: twin.eco2/v1\nkind: Scenario\n"
                                     + path.read_text(encoding="utf-8"), encoding="utf-8")
    problems = _problems(path)
    assert any(p.file == str(topo) for p in problems)
    assert any(p.field == "checks.a.window" for p in problems)
    assert not any(p.field == "timeline.0.target" for p in problems)
