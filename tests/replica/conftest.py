from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))

from fakeapi import FakeAPI, Server  # noqa: E402


@pytest.fixture
def fake(tmp_path: Path):
    with Server(FakeAPI()) as server:
        server.kubeconfig(tmp_path / "kubeconfig")
        yield server


@pytest.fixture
def api(fake, tmp_path: Path):
    from twin.replica.apply import api_client

    return api_client(tmp_path / "kubeconfig", "fake")
