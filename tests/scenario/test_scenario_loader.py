"""Loading scenario files: every problem with file and line; overrides both ways."""

from __future__ import annotations

import pytest
from scenario_texts import CRASH

from twin.model.errors import ModelError
from twin.scenario import loader


def _problems(path, sets=()) -> list[str]:
    with pytest.raises(ModelError) as e:
        loader.load(path, sets)
    return [str(p) for p in e.value.problems]


def test_a_good_file_loads_with_its_topology(write_scenario) -> None:
    loaded = loader.load(write_scenario(CRASH))
    assert loaded.scenario.name == "crash"
    assert loaded.topology.store("redis").mode == "sentinel"


def test_every_problem_names_file_line_and_field(write_scenario) -> None:
    path = write_scenario("""\
        name: bad
        duration: 60s
        timeline:
          - {id: kill, at: 10s, action: kill-pod, target: chat-apx}
          - {id: kill, at: 90s, action: node-down, target: node/k8s-storage}
        load:
          rates: {chatt: 5/s}
        checks:
          - name: errors
            metric: route/chat.eror_rate
            window: boom..end
            max: 0.1
          - name: errors
            metric: route/chat.error_rate
            max: 0.1
            typo: 1
        """)
    found = _problems(path)
    text = "\n".join(found)
    f = str(path)
    assert f"{f}:7:5: timeline.1.target: no component named 'chat-apx'" in text or \
        "chat-apx" in text
    assert any(p.startswith(f"{f}:8:") and "used twice" in p for p in found)
    assert any(p.startswith(f"{f}:8:") and "is not before the run ends" in p for p in found)
    assert any(p.startswith(f"{f}:10:") and "no route named 'chatt'" in p for p in found)
    assert any(p.startswith(f"{f}:13:") and "no metric 'eror_rate'" in p for p in found)
    assert any(p.startswith(f"{f}:14:") and "no fault with id 'boom'" in p for p in found)
    assert any(p.startswith(f"{f}:19:") and "unknown field" in p for p in found)


def test_scenario_prefixed_overrides_change_the_scenario_and_others_the_topology(write_scenario) -> None:
    path = write_scenario(CRASH + """\
overrides:
  stores.redis.sentinel.down_after: 5s
  scenario.replications: 4
""")
    loaded = loader.load(path)
    assert loaded.topology.store("redis").sentinel.down_after == 5.0
    assert loaded.scenario.replications == 4
    # the command line wins over the file
    loaded = loader.load(path, ["stores.redis.sentinel.down_after=7s", "scenario.replications=1"])
    assert loaded.topology.store("redis").sentinel.down_after == 7.0
    assert loaded.scenario.replications == 1


def test_a_bad_override_is_located_at_its_own_line(write_scenario) -> None:
    path = write_scenario(CRASH + """\
overrides:
  stores.redis.sentinel.down_afterr: 5s
""")
    found = _problems(path)
    assert any(p.startswith(f"{path}:") and "down_afterr" in p for p in found), found
    found = _problems(write_scenario(CRASH, "t.yaml"), ["services.no-such.replicas=2"])
    assert any(p.startswith("--set services.no-such") and "no item named 'no-such'" in p
               for p in found), found


def test_targets_must_fit_the_action(write_scenario) -> None:
    found = _problems(write_scenario("""\
        name: t
        duration: 60s
        timeline:
          - {at: 10s, action: redis-master-crash, target: store/postgres}
          - {at: 10s, action: kill-pod, target: node/k8s-storage}
          - {at: 10s, action: sentinel-down, count: 5}
          - {at: 10s, action: partition, isolate: [master, sentinel/7, service/chat-api]}
        """))
    text = "\n".join(found)
    assert "store/postgres is not a Redis store" in text
    assert "kill-pod acts on service or worker, not node/k8s-storage" in text
    assert "'sentinel/7'" in text and "'master'" not in text


def test_validate_load_reads_scenarios(write_scenario) -> None:
    import twin.scenario  # noqa: F401 - registers the kind
    from twin.loading.files import load

    assert load(write_scenario(CRASH)).name == "crash"


def test_a_set_duration_is_named_where_a_fault_falls_after_it(write_scenario) -> None:
    path = write_scenario("""\
        name: short
        duration: 2m
        timeline:
          - {id: crash, at: 60s, action: redis-master-crash}
        """)
    with pytest.raises(ModelError) as e:
        loader.load(path, ["scenario.duration=1m"])
    (p,) = e.value.problems
    assert p.field == "timeline.0.at"
    assert "at 60s is not before the run ends (duration 60s, from --set scenario.duration=1m)" in p.message


def test_timeline_items_are_named_by_their_id_in_sets(write_scenario) -> None:
    path = write_scenario("""\
        name: ids
        duration: 2m
        timeline:
          - {id: crash, at: 60s, action: redis-master-crash}
        """)
    assert loader.load(path, ["scenario.timeline.crash.at=30s"]).scenario.timeline[0].at == 30.0
    with pytest.raises(ModelError, match="no item named 'crsh' \\(have: crash\\)"):
        loader.load(path, ["scenario.timeline.crsh.at=30s"])


def test_every_bad_set_is_named_in_one_pass(write_scenario) -> None:
    """A --set that names nothing no longer hides the others, nor the values' own errors."""
    path = write_scenario("""\
        name: sets
        duration: 2m
        timeline:
          - {id: crash, at: 60s, action: redis-master-crash}
        """)
    with pytest.raises(ModelError) as e:
        loader.load(path, ["scenario.timeline.crsh.at=30s", "scenario.replications=abc",
                           "services.chat-apii.replicas=3", "stores.redis.sentinel.down_aftr=5s",
                           "services.chat-api.replicas=two"])
    found = sorted(p.file for p in e.value.problems)
    assert found == sorted(["--set scenario.timeline.crsh.at=30s", "--set scenario.replications=abc",
                            "--set services.chat-apii.replicas=3",
                            "--set stores.redis.sentinel.down_aftr=5s",
                            "--set services.chat-api.replicas=two"])


@pytest.mark.parametrize(("source", "said"), [
    ("sentinal", "did you mean 'sentinel'"),
    ("node/k8s-worker-9", "no node named 'k8s-worker-9'"),
    ("pod/chat-apii-1", "did you mean 'chat-api'"),
])
def test_an_event_checks_source_must_name_something_events_come_from(write_scenario, source, said) -> None:
    """A misspelt source matched no event: the check counted 0 and `max: 0` held."""
    body = CRASH.replace("    event: +switch-master\n", f"    event: +switch-master\n    source: {source}\n")
    text = " ".join(_problems(write_scenario(body)))
    assert ".source:" in text and said in text, text


@pytest.mark.parametrize("source", ["sentinel", "sentinel/0", "store/redis", "pod/postgres-0",
                                    "deployment/chat-api-v1", "hpa/chat-worker", "scenario"])
def test_the_sources_events_do_come_from_are_accepted(write_scenario, source) -> None:
    body = CRASH.replace("    event: +switch-master\n", f"    event: +switch-master\n    source: {source}\n")
    assert loader.load(write_scenario(body)).scenario.checks[0].source == source
