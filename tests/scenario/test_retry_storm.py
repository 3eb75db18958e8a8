"""retry-storm: retries at each hop multiply the tries on the slowed service, and the
recovery check fails when the retries keep the overload going after the fault ends."""

from __future__ import annotations

import math
from pathlib import Path

from twin.scenario import loader
from twin.scenario.checks import FAILED, HELD
from twin.scenario.runner import execute

RETRY_STORM = Path(__file__).resolve().parents[2] / "scenarios" / "retry-storm.yaml"


def test_just_under_capacity_the_overload_outlasts_the_fault() -> None:
    """150 scans/s: one try per request fits scan-api's 16 slots, four do not. Once the
    2 s delay has made every try time out, the retries alone keep scan-api saturated:
    the same load that ran clean before the fault fails after it (metastable)."""
    item = loader.load(RETRY_STORM, ["scenario.load.rates.scan=150/s", "scenario.replications=1"])
    run = execute(item)
    by = {o.name: o for o in run.outcomes}
    assert by["healthy before"].status == HELD  # under capacity before the fault
    recovery = by["scan recovers after the slowdown (no lasting overload at this rate)"]
    assert recovery.status == FAILED and recovery.observed == [math.inf]
    assert not run.passed
    trace = run.observations[0]
    before = trace.value("service/scan-api.requests", "sum", 10, 40)
    after = trace.value("service/scan-api.requests", "sum", 80, 110)
    requests = trace.value("route/scan.requests", "sum", 80, 110)
    assert after > 3 * before  # ~4 tries per request long after the delay ended
    assert after > 3 * requests
    assert trace.value("route/scan.error_rate", "mean", 90, 120) > 0.9


def test_at_10_per_second_it_recovers_and_shows_the_multiplication() -> None:
    run = execute(loader.load(RETRY_STORM, ["scenario.replications=1"]))
    assert run.passed, [o.sentence() for o in run.outcomes if o.status != HELD]
    trace = run.observations[0]
    tries = trace.value("service/scan-api.requests", "sum", 40, 70)
    requests = trace.value("route/scan.requests", "sum", 40, 70)
    assert 3.5 < tries / requests < 5.0  # 1 try + 3 retries at the gateway's hop


TWO_HOPS = RETRY_STORM.with_name("retry-storm-two-hops.yaml")


def test_a_slow_service_multiplies_the_tries_at_both_hops() -> None:
    """service-slow makes image-api's own pods slow, so scan-api's per-try timeout fires
    too: about 4 tries of scan-api per scan and 4 of image-api per scan-api try. A
    delay injected in the caller's sidecar (mesh-fault) multiplies at one hop only."""
    run = execute(loader.load(TWO_HOPS, ["scenario.replications=1"]))
    assert run.passed, [o.sentence() for o in run.outcomes if o.status != HELD]
    t = run.observations[0]
    scans = t.value("route/scan.requests", "sum", 10, 40)
    assert t.value("service/image-api.requests", "sum", 10, 40) < 1.2 * scans
    scan_tries = t.value("service/scan-api.requests", "sum", 40, 70)
    image_tries = t.value("service/image-api.requests", "sum", 40, 70)
    assert 3.0 < image_tries / scan_tries < 4.5  # the inner hop's 1 + 3 tries
    assert image_tries > 10 * t.value("route/scan.requests", "sum", 40, 70)
    events = [e["event"] for e in run.timeline]
    assert "ServiceSlow" in events and "ServiceRecovered" in events

    mesh = execute(loader.load(TWO_HOPS, [
        "scenario.replications=1", "scenario.timeline.0.action=mesh-fault"]))
    t = mesh.observations[0]
    ratio = t.value("service/image-api.requests", "sum", 40, 70) / t.value(
        "service/scan-api.requests", "sum", 40, 70)
    assert ratio < 1.2  # the sidecar's delay comes before image-api's try: one each
