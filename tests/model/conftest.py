"""The Eco2 topologies, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ROOT / "topologies"


@pytest.fixture(scope="session")
def base() -> Topology:
    return load_topology(TOPOLOGIES / "eco2-base.yaml")


@pytest.fixture(scope="session")
def dev() -> Topology:
    return load_topology(TOPOLOGIES / "eco2-dev.yaml")


@pytest.fixture(scope="session")
def prod() -> Topology:
    return load_topology(TOPOLOGIES / "eco2-prod.yaml")


@pytest.fixture(scope="session", params=["base", "dev", "prod"])
def eco2(request: pytest.FixtureRequest) -> Topology:
    return request.getfixturevalue(request.param)
