"""Timeline actions as one class each, and one table per backend from action to function."""

from __future__ import annotations

import pytest

from twin.model.errors import ModelError
from twin.replica import kind_backend, local_backend
from twin.scenario import loader, sim_backend
from twin.scenario.actions import ACTIONS, NAMES, Action, KillPod, MeshFault, Partition, Scale


def test_every_action_has_one_class_and_the_simulator_applies_each() -> None:
    assert len(set(NAMES)) == len(ACTIONS) == 20
    assert set(sim_backend.ACTS) == set(NAMES)
    # the replicas apply a part; what they lack they say they did not apply
    assert set(local_backend.APPLIED) < set(NAMES)
    assert set(kind_backend.ACTS) < set(NAMES)


def test_an_action_is_the_class_its_name_says_with_exactly_its_fields() -> None:
    kill = Action(at=5, action="kill-pod", target="service/chat-api", count=2)
    assert type(kill) is KillPod and isinstance(kill, Action)
    assert Action.model_validate({"at": 5, "action": "scale", "target": "chat-api",
                                  "replicas": 0}) == Scale(at=5, action="scale", target="chat-api",
                                                           replicas=0)
    assert set(KillPod.model_fields) == {"id", "at", "action", "target", "count", "for_"}
    assert "factor" not in MeshFault.model_fields and "isolate" in Partition.model_fields
    assert kill.instant and not Action(at=5, action="kill-pod", target="x", **{"for": 10}).instant
    assert not Action(at=5, action="redis-master-crash").instant  # lasts to the end of the run


def _problems(write_scenario, timeline: str) -> list[str]:
    path = write_scenario(f"name: t\nduration: 60s\ntimeline:\n{timeline}")
    with pytest.raises(ModelError) as e:
        loader.load(path)
    return [f"{p.line}:{p.field}: {p.message}" for p in e.value.problems]


def test_a_misspelt_action_is_named_with_a_did_you_mean(write_scenario) -> None:
    found = _problems(write_scenario, "  - {at: 5s, action: kil-pod, target: chat-api}\n"
                                      "  - {at: 6s, target: chat-api}\n")
    assert found == ["7:timeline.0.action: no action named 'kil-pod'; did you mean 'kill-pod'?",
                     "8:timeline.1.action: required field is missing"]


def test_problems_inside_an_action_name_the_field_not_the_union_tag(write_scenario) -> None:
    found = _problems(write_scenario, "  - {at: 5s, action: scale, target: chat-api, replicas: -1}\n"
                                      "  - {at: 6s, action: external-slow, target: llm, factor: 2,\n"
                                      "     rate: 3}\n"
                                      "  - {at: 7s, action: kill-pod, target: chat-api, tagret: x}\n")
    assert found == ["7:timeline.0.replicas: Input should be greater than or equal to 0",
                     "8:timeline.1: external-slow takes no rate",
                     "10:timeline.2.tagret: unknown field (check the spelling; did you mean 'target'?)"]


def test_the_local_backend_notes_what_its_table_lacks(write_scenario) -> None:
    scn = loader.load(write_scenario(
        "name: t\nduration: 60s\ntimeline:\n"
        "  - {at: 5s, action: kill-pod, target: service/chat-api}\n"
        "  - {at: 6s, action: control-plane-down}\n")).scenario

    class Drill:
        applied: list = []

    drill = Drill()
    timers = local_backend.LocalBackend()._schedule(scn, drill, 0.0)  # noqa: SLF001
    assert timers == []
    assert [(t, source, event) for t, source, event, _ in drill.applied] == [
        (5.0, "service/chat-api", "scenario:kill-pod"), (6.0, "scenario", "scenario:control-plane-down")]
    assert all("not applied" in detail for *_, detail in drill.applied)


def test_the_kind_backend_says_not_applied_from_its_table() -> None:
    events: list[dict] = []
    action = Action(at=1, action="mesh-fault", target="service/chat-api", delay=1)
    kind_backend._act(None, None, action, events, 1.0)  # noqa: SLF001 - no client call is made
    assert events == [{"t": 1.0, "source": "service/chat-api", "event": "NotApplied",
                       "detail": "mesh-fault is not available on the kind backend"}]


def test_the_sim_backend_result_has_aggregate_and_loads_and_the_same_bytes_twice(
        write_scenario, tmp_path) -> None:
    import json

    from scenario_texts import CRASH

    from twin.scenario import report
    from twin.scenario.runner import execute

    path = write_scenario(CRASH.replace("duration: 120s", "duration: 60s").replace("at: 40s", "at: 20s"))
    texts = []
    for out in ("a", "b"):
        report.write(execute(loader.load(path, ["scenario.replications=2"])), tmp_path / out,
                     plots=False)
        texts.append((tmp_path / out / "result.json").read_bytes())
    assert texts[0] == texts[1]
    result = json.loads(texts[0])["result"]
    assert result["loads"]["chat"].endswith("/s")
    assert result["aggregate"]["route/chat/arrivals"]["n"] == 2
