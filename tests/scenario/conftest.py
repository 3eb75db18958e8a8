"""A fake backend registered as `fake`, and scenario files written to tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fake_backend import FakeBackend

from twin.scenario.runner import _REGISTERED, register_backend

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "topologies" / "eco2-prod.yaml"


@pytest.fixture
def fake_backend():
    register_backend("fake", FakeBackend)
    yield FakeBackend
    _REGISTERED.pop("fake", None)


@pytest.fixture
def write_scenario(tmp_path: Path):
    """write_scenario(body, name=...) -> path of a scenario file on the prod topology."""

    def write(body: str, name: str = "s.yaml", header: bool = True) -> Path:
        head = textwrap.dedent(f"""\
            apiVersion: twin.eco2/v1
            kind: Scenario
            topology: {PROD}
            """) if header else ""
        path = tmp_path / name
        path.write_text(head + textwrap.dedent(body), encoding="utf-8")
        return path

    return write


CRASH = """\
name: crash
duration: 120s
warmup: 10s
replications: 2
timeline:
  - {id: kill, at: 40s, action: redis-master-crash, for: 20s}
checks:
  - name: failover within 40s
    event: +switch-master
    stat: delay
    window: kill..end
    max: 40s
  - name: chat errors during the crash
    metric: route/chat.error_rate
    window: kill..kill.end
    max: 0.5
  - name: chat recovers
    recovery: route/chat.error_rate
    after: kill
    within: 10s
    max: 0.01
"""
