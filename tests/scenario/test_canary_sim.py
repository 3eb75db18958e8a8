"""A canary in the simulator: Flagger's timings, the split by weight, and what weights do
not move (a queue's consumers)."""

from __future__ import annotations

import json
import math

import pytest

from twin.scenario import loader
from twin.scenario.runner import execute

BODY = """\
name: canary
duration: {duration}
seed: {seed}
load:
  rates: {{chat: {rate}}}
{overrides}
canary:
  service: chat-api
  virtual_service: chat-vs
{canary}
"""


def _run(write_scenario, canary: str, duration: str = "6m", rate: str = "3/s", seed: int = 1,
         overrides: str = ""):
    body = BODY.format(canary=canary, duration=duration, rate=rate, seed=seed, overrides=overrides)
    return execute(loader.load(write_scenario(body), ()))


def _outcome(run):
    (rep,) = run.result.result.runs
    return rep.canary


def test_a_good_canary_promotes_after_interval_x_max_weight_over_step(write_scenario) -> None:
    out = _outcome(_run(write_scenario, "  progressive: {interval: 30s, step_weight: 20, "
                                        "max_weight: 60}", duration="3m"))
    assert (out.decision, out.decided_at) == ("promoted", 30 * 60 / 20)
    assert [s.weight for s in out.steps] == [20, 40, 60, 0]
    assert out.failed_tries == 0 and out.canary_tries > 0


def test_a_broken_canary_rolls_back_after_interval_x_threshold(write_scenario) -> None:
    out = _outcome(_run(write_scenario, "  regression: [{error_rate: 1.0}]\n"
                                        "  progressive: {interval: 20s, threshold: 4}"))
    assert (out.decision, out.decided_at, out.first_failure) == ("rolled back", 80.0, 20.0)
    # every try v2 served until then failed: the users it hurt
    assert out.failed_tries == out.canary_tries > 0


def test_after_a_rollback_no_new_request_reaches_the_canary(write_scenario) -> None:
    run = _run(write_scenario, "  regression: [{error_rate: 1.0}]\n"
                               "  progressive: {interval: 20s, threshold: 2}", duration="3m")
    t = run.observations[0]
    assert t.value("service/chat-api/v2.weight", "max", 40, 180) == 0
    assert t.value("service/chat-api/v2.requests", "sum", 45, 180) == 0


@pytest.mark.parametrize("weight", [10, 30, 50])
def test_each_subset_gets_the_share_of_requests_its_weight_gives(write_scenario, weight) -> None:
    run = _run(write_scenario, f"  strategy: fixed\n  fixed: {{weight: {weight}}}", rate="8/s",
               duration="2m", seed=weight)
    t = run.observations[0]
    v1 = t.value("service/chat-api/v1.requests", "sum", 0, 120)
    v2 = t.value("service/chat-api/v2.requests", "sum", 0, 120)
    n, p = v1 + v2, weight / 100
    assert n > 800
    assert abs(v2 / n - p) <= 4 * math.sqrt(p * (1 - p) / n), (v2 / n, p)


def test_a_queues_consumers_are_not_split_by_the_virtual_services_weight(write_scenario) -> None:
    """chat-worker v2 (1 pod beside 3 of v1) takes the tasks its replicas take, whatever
    share of chat-api's requests the canary gets."""
    versions = ("overrides:\n  workers.chat-worker.versions: [{name: v1}, {name: v2, replicas: 1}]\n"
                "  workers.chat-worker.hpa: null\n")

    def worker_share(weight: int) -> float:
        run = _run(write_scenario, f"  strategy: fixed\n  fixed: {{weight: {weight}}}",
                   rate="2/s", duration="3m", overrides=versions)
        pods = run.result.result.runs[0].pods.values()
        by = {v: sum(p.visits for p in pods if p.workload == "chat-worker" and p.version == v)
              for v in ("v1", "v2")}
        return by["v2"] / (by["v1"] + by["v2"])

    low, high = worker_share(10), worker_share(90)
    assert abs(low - 0.25) < 0.08 and abs(high - 0.25) < 0.08, (low, high)


def test_the_same_seed_gives_the_same_canary_byte_for_byte(write_scenario) -> None:
    spec = "  regression: [{at: 60s, error_rate: 0.2}]\n  progressive: {interval: 30s}"
    a, b = (_outcome(_run(write_scenario, spec, duration="4m")) for _ in range(2))
    assert json.dumps(a.model_dump(mode="json")) == json.dumps(b.model_dump(mode="json"))


def test_a_canary_on_a_service_without_versions_is_named(write_scenario) -> None:
    from twin.model.errors import ModelError

    body = BODY.format(canary="", duration="1m", rate="1/s", seed=1, overrides="").replace(
        "service: chat-api", "service: scan-api")
    with pytest.raises(ModelError, match="canary.service: scan-api has 0 versions"):
        loader.load(write_scenario(body), ())


@pytest.mark.parametrize(("factor", "decision"), [(1.0, "promoted"), (4.0, "rolled back")])
def test_the_statistical_judge_promotes_a_good_canary_and_rolls_back_a_slow_one(
        write_scenario, factor, decision) -> None:
    spec = (f"  regression: [{{latency_factor: {factor}}}]\n  judge: statistical\n"
            "  progressive: {interval: 1m, step_weight: 25, max_weight: 50, threshold: 2}")
    out = _outcome(_run(write_scenario, spec, rate="6/s", duration="5m"))
    assert out.decision == decision, [s.message for s in out.steps]
