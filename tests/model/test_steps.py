"""Route steps: one class per kind picked by its key, and the one walk over them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from twin.loading.files import load_topology
from twin.model.errors import ModelError
from twin.model.steps import (
    KINDS,
    TARGETS,
    BranchStep,
    CallStep,
    PublishStep,
    Step,
    StoreStep,
    route_walk,
    walk,
)
from twin.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "topologies" / "eco2-base.yaml").read_text(encoding="utf-8")

ROUTE = """\
  - name: walked
    entry: chat-vs
    rate: 1/s
    steps:
      - call: chat-api
        steps:
          - {store: redis, op: read, on_failure: fallback, fallback: [{store: postgres, op: read}]}
          - publish: chat-tasks
            steps:
              - {external: llm}
              - call: image-api
                steps: [{store: postgres, op: write}]
          - branch:
              - probability: 0.3
                steps: [{store: postgres, op: read}]
              - probability: 0.5
                steps:
                  - call: image-api
                    on_failure: fallback
                    fallback: [{store: redis, op: read}]
      - {stream: sse-gateway}
"""

STEP = TypeAdapter(Step)


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    path = tmp_path_factory.mktemp("steps") / "t.yaml"
    path.write_text(BASE.replace("routes:\n", "routes:\n" + ROUTE, 1), encoding="utf-8")
    return load_topology(path)


def _name(step: object) -> str:
    field = step.target_field
    return f"{field} {getattr(step, field)}" if field != "branch" else "branch"


def test_the_walk_visits_every_step_depth_first_with_where_and_how_it_runs(topo: Topology) -> None:
    seen = [(_name(s), c.path, c.runs_in, c.depth, c.sync, c.share, c.in_fallback, c.slot, c.choice)
            for s, c in route_walk(topo, topo.route("walked"))]
    call, pub, br = ("steps", 0), ("steps", 0, "steps", 1), ("steps", 0, "steps", 2)
    api, worker = "service/chat-api", "worker/chat-worker"
    assert seen == [
        ("call chat-api", call, "route/walked", 0, True, 1.0, False, None, None),
        ("store redis", (*call, "steps", 0), api, 1, True, 1.0, False, "steps", None),
        ("store postgres", (*call, "steps", 0, "fallback", 0), api, 2, True, 1.0, True,
         "fallback", None),
        ("publish chat-tasks", pub, api, 1, True, 1.0, False, "steps", None),
        ("external llm", (*pub, "steps", 0), worker, 2, False, 1.0, False, "steps", None),
        ("call image-api", (*pub, "steps", 1), worker, 2, False, 1.0, False, "steps", None),
        ("store postgres", (*pub, "steps", 1, "steps", 0), "service/image-api", 3, False, 1.0,
         False, "steps", None),
        ("branch", br, api, 1, True, 1.0, False, "steps", None),
        ("store postgres", (*br, "branch", 0, "steps", 0), api, 2, True, 0.3, False, "branch", 0),
        ("call image-api", (*br, "branch", 1, "steps", 0), api, 2, True, 0.5, False, "branch", 1),
        ("store redis", (*br, "branch", 1, "steps", 0, "fallback", 0), api, 3, True, 0.5, True,
         "fallback", None),
        ("stream sse-gateway", ("steps", 1), "route/walked", 0, True, 1.0, False, None, None),
    ]


def test_a_context_knows_its_parent_and_its_place(topo: Topology) -> None:
    contexts = {c.path: c for _, c in route_walk(topo, topo.route("walked"))}
    inner = contexts[("steps", 0, "steps", 1, "steps", 1, "steps", 0)]
    assert inner.parent is contexts[("steps", 0, "steps", 1, "steps", 1)]
    assert inner.parent.parent is contexts[("steps", 0, "steps", 1)]
    assert inner.index == 0 and inner.parent.index == 1
    assert contexts[("steps", 1)].parent is None


def test_the_path_locates_the_step_in_the_route(topo: Topology) -> None:
    route = topo.route("walked")
    for step, ctx in route_walk(topo, route):
        here: object = route
        for part in ctx.path:
            here = here[part] if isinstance(part, int) else getattr(here, part)
        assert here is step


def test_prune_leaves_out_the_inner_lists_of_that_step_alone(topo: Topology) -> None:
    w = route_walk(topo, topo.route("walked"))
    seen = []
    for step, ctx in w:
        seen.append(ctx.path)
        if isinstance(step, PublishStep):
            w.prune()
    assert ("steps", 0, "steps", 1) in seen
    assert not any(p[:4] == ("steps", 0, "steps", 1) and len(p) > 4 for p in seen)
    assert ("steps", 0, "steps", 2, "branch", 1, "steps", 0, "fallback", 0) in seen


def test_prune_by_slot_keeps_the_other_lists(topo: Topology) -> None:
    w = route_walk(topo, topo.route("walked"))
    seen = []
    for step, ctx in w:
        seen.append(ctx.slot)
        if isinstance(step, StoreStep) and ctx.slot == "steps" and ctx.depth == 1:
            w.prune("steps", "branch")  # the redis read: its fallback is still walked
        elif isinstance(step, CallStep) and ctx.depth == 2 and ctx.slot == "branch":
            w.prune("fallback")
    assert seen.count("fallback") == 1


def test_after_a_publish_nobody_consumes_no_one_runs_the_steps(topo: Topology) -> None:
    orphan = STEP.validate_python({"publish": "nobody-reads-this", "steps": [{"external": "llm"}]})
    (_, top), (_, inner) = list(walk(topo, [orphan], "service/chat-api"))
    assert top.runs_in == "service/chat-api"
    assert inner.runs_in is None and not inner.sync


def test_each_key_picks_its_class() -> None:
    assert tuple(KINDS) == TARGETS
    for field, cls in KINDS.items():
        data = {"branch": []} if field == "branch" else {field: "x"}
        if field == "store":
            data["op"] = "read"
        step = STEP.validate_python(data)
        assert type(step) is cls and step.target_field == field
        assert STEP.validate_python(step) is step


@pytest.mark.parametrize(("data", "sets"), [
    ({"op": "read"}, "none"),
    ({"call": "a", "store": "b", "op": "read"}, "call, store"),
    ({"call": None}, "none"),
])
def test_a_step_sets_exactly_one_target(data: dict, sets: str) -> None:
    with pytest.raises(ValidationError) as e:
        STEP.validate_python(data)
    (err,) = e.value.errors()
    assert err["loc"] == ()
    assert err["msg"].endswith(f"a step sets exactly one of {', '.join(TARGETS)}; this one sets {sets}")


def test_a_target_set_to_null_counts_as_absent() -> None:
    step = STEP.validate_python({"call": None, "store": "redis", "op": "read"})
    assert isinstance(step, StoreStep) and step.store == "redis"


def test_a_key_another_kind_reads_is_unknown_here() -> None:
    with pytest.raises(ValidationError) as e:
        STEP.validate_python({"publish": "q", "timeout": "3s"})
    assert [(err["type"], err["loc"][-1]) for err in e.value.errors()] == [("extra_forbidden", "timeout")]


def test_rules_of_a_kind_still_hold() -> None:
    for data, words in [({"store": "redis"}, "a store step needs an op"),
                        ({"external": "llm", "on_failure": "fallback"}, "needs fallback steps"),
                        ({"branch": [{"probability": 0.6}, {"probability": 0.6}]}, "more than 1")]:
        with pytest.raises(ValidationError, match=words):
            STEP.validate_python(data)
    assert isinstance(STEP.validate_python({"branch": [{"probability": 0.5}]}), BranchStep)


def test_errors_inside_steps_name_the_file_line_and_field_without_the_kind(tmp_path: Path) -> None:
    route = ROUTE.replace("- {external: llm}", "- {external: llm, timeout: soon}").replace(
        "- {stream: sse-gateway}", "- {stream: sse-gateway, call: chat-api}")
    path = tmp_path / "t.yaml"
    text = BASE.replace("routes:\n", "routes:\n" + route, 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as e:
        load_topology(path)
    found = {(p.line, p.field): p.message for p in e.value.problems}
    lines = text.splitlines()
    timeout = next(i for i, line in enumerate(lines, 1) if "timeout: soon" in line)
    both = next(i for i, line in enumerate(lines, 1) if "stream: sse-gateway, call" in line)
    assert "not a duration" in found[(timeout, "routes.walked.steps.0.steps.1.steps.0.timeout")]
    assert "this one sets call, stream" in found[(both, "routes.walked.steps.1")]
    assert not any("Step" in f for _, f in found)
