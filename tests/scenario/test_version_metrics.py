"""A service's tries per version: chat-vs's 90/10 split, v2's own latency, and the names."""

from __future__ import annotations

import math

import pytest

from twin.model.errors import ModelError
from twin.scenario import loader
from twin.scenario.runner import execute

BODY = """\
name: versions
duration: 70s
warmup: 10s
seed: 3
load:
  rates: {{chat: 10/s}}
  only: true
{extra}
checks:
  - {{name: v2 share, kind: slo, metric: service/chat-api/v2.requests, stat: sum, min: 1}}
"""


def _run(write_scenario, extra: str = ""):
    return execute(loader.load(write_scenario(BODY.format(extra=extra)), ())).observations[0]


def test_the_split_sends_each_version_its_weight(write_scenario) -> None:
    t = _run(write_scenario)
    v1 = t.value("service/chat-api/v1.requests", "sum", 10, 70)
    v2 = t.value("service/chat-api/v2.requests", "sum", 10, 70)
    total = t.value("service/chat-api.requests", "sum", 10, 70)
    assert v1 + v2 == total > 500
    share = v2 / total
    assert abs(share - 0.10) <= 4 * math.sqrt(0.1 * 0.9 / total), share


def test_a_slower_version_shows_in_its_own_latency_only(write_scenario) -> None:
    """v2 at 10x the service time: its p50 moves, v1's does not."""
    extra = "overrides:\n  services.chat-api.versions.v2.service_time: {dist: constant, value: 300ms}"
    t = _run(write_scenario, extra)
    v1 = t.value("service/chat-api/v1.p50", "p50", 10, 70)
    v2 = t.value("service/chat-api/v2.p50", "p50", 10, 70)
    assert v2 >= 0.3 > 0.1 > v1, (v1, v2)
    whole = t.value("service/chat-api.p50", "p50", 10, 70)
    assert v1 <= whole < v2


def test_an_error_rate_on_v2_fails_v2s_tries(write_scenario) -> None:
    extra = "overrides:\n  services.chat-api.versions.v2.error_rate: 0.5"
    t = _run(write_scenario, extra)
    v2 = t.value("service/chat-api/v2.error_rate", "mean", 10, 70)
    v1 = t.value("service/chat-api/v1.error_rate", "mean", 10, 70)
    assert v1 == 0 and 0.3 < v2 < 0.7, (v1, v2)


def test_a_version_that_does_not_exist_is_named(write_scenario) -> None:
    body = BODY.format(extra="").replace("chat-api/v2.requests", "chat-api/v3.requests")
    with pytest.raises(ModelError, match="service/chat-api has no version 'v3' \\(have: v1, v2\\)"):
        loader.load(write_scenario(body), ())
