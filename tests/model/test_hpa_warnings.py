"""Replicas outside their HPA's range load (Kubernetes allows them) with a warning: the
HPA moves them at its first sync, so `--set workers.chat-worker.replicas=1` alone still
runs three chat-workers, and a what-if on it answers a question nobody asked."""

from __future__ import annotations

import logging
from pathlib import Path

from twin.loading.files import load_topology

PROD = Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml"


def _warnings(caplog, sets: list[str]) -> list[str]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="twin.input"):
        load_topology(PROD, sets)
    return [r.getMessage() for r in caplog.records if "HPA" in r.getMessage()]


def test_replicas_below_the_hpa_min_warn_with_what_runs_and_how_to_run_it(caplog) -> None:
    (line,) = _warnings(caplog, ["workers.chat-worker.replicas=1"])
    assert line.startswith("warning: --set workers.chat-worker.replicas=1: ")
    assert "below its HPA's min 3" in line and "set workers.chat-worker.hpa.min too" in line


def test_above_the_max_warns_and_inside_the_range_does_not(caplog) -> None:
    (line,) = _warnings(caplog, ["workers.chat-worker.replicas=20"])
    assert "above its HPA's max 10" in line
    assert _warnings(caplog, ["workers.chat-worker.replicas=5"]) == []
    assert _warnings(caplog, ["workers.chat-worker.replicas=1", "workers.chat-worker.hpa.min=1"]) == []
