"""Turns still open at the end are counted, not inferred from arrivals minus completions
after the warm-up (which misses the turns begun during the warm-up and ended after it,
and shows 0 while turns are in flight)."""

from __future__ import annotations

from pathlib import Path

from twin.sim.api import simulate

PROD = Path(__file__).resolve().parents[2] / "topologies" / "eco2-prod.yaml"


def test_open_turns_at_a_healthy_rate_are_those_in_flight() -> None:
    """3 chats/s of ~3-4 s end to end: Little's law gives ~10 in flight at any moment."""
    r = simulate(PROD, {"chat": 3.0}, duration=120, warmup=30, seed=3)
    chat = r.runs[0].routes["chat"]
    assert 2 <= chat.end_to_end_open <= 30
    assert chat.end_to_end.count + chat.end_to_end_open >= chat.arrivals  # warm-up ones too


def test_open_turns_under_saturation_are_the_backlog() -> None:
    """30 chats/s against ~4.4 turns/s of chat-worker: most turns never end."""
    r = simulate(PROD, {"chat": 30.0}, duration=90, warmup=10, seed=3)
    chat = r.runs[0].routes["chat"]
    assert chat.end_to_end_open > 0.7 * chat.arrivals
