"""Fixtures: the small Eco2-shaped topology in dev and prod flavours."""

from __future__ import annotations

import pytest
from sample_topology import small

from twin.model.topology import Topology


@pytest.fixture(params=["dev", "prod"])
def env(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def topo(env: str) -> Topology:
    return small(env)
