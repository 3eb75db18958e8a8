"""The Result: JSON round trip, schema file in sync, aggregate keys, bounded size."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from theory_helpers import topology

from twin.result.io import result_json
from twin.result.model import Result
from twin.result.result_schema import result_schema, result_schema_text
from twin.sim.api import run_replications

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_model() -> None:
    assert (ROOT / "twin/schemas/result.json").read_text() == result_schema_text()


def test_result_round_trips_through_json_and_validates() -> None:
    res = run_replications(topology("canary-split.yaml"), None, 60.0, seed=1, replications=2)
    text = result_json(res)
    jsonschema.validate(json.loads(text), result_schema())
    again = Result.model_validate_json(text)
    assert result_json(again) == text
    assert {"route/page/latency.p95", "workload/web/utilisation", "node/worker-1/cpu_used",
            "route/page/errors.5xx"} <= set(res.aggregate)
    assert res.aggregate["route/page/arrivals"].n == 2


def test_memory_is_bounded_by_the_interval_not_the_requests() -> None:
    short = run_replications(topology("one-service.yaml"), None, 200.0, seed=1, interval=10.0)
    long = run_replications(topology("one-service.yaml"), None, 2000.0, seed=1, interval=100.0)
    assert long.runs[0].routes["req"].completed > 9 * short.runs[0].routes["req"].completed
    assert abs(len(result_json(long)) - len(result_json(short))) < 0.2 * len(result_json(short))
