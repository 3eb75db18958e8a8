"""A fake backend registered as `fake`, and scenario files written to tmp_path."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from fake_backend import FakeBackend
from scenario_texts import PROD

from twin.scenario.runner import _REGISTERED, register_backend


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
