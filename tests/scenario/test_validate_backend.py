"""`twin validate --backend` refuses, at its line, what that backend cannot see: a check
`twin run --backend` would call "not applicable" is a problem before the run, not after."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from twin.cli.app import app
from twin.scenario import loader
from twin.scenario.runner import observes_of, unobservable

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def _validate(*args: str):
    return CliRunner().invoke(app, ["validate", *args])


def test_the_simulator_sees_every_check_of_every_shipped_scenario() -> None:
    for path in SCENARIOS:
        assert unobservable(loader.load(path), "sim") == [], path.name


def test_local_refuses_route_metrics_and_kubernetes_events_at_their_lines() -> None:
    found = unobservable(loader.load(ROOT / "scenarios" / "api-node-loss.yaml"), "local")
    text = [str(p) for p in found]
    assert any("cannot observe route/chat.error_rate" in t and ".metric:" in t for t in text), text
    assert any("does not record Evicted events" in t for t in text), text
    assert any("no time series to judge saturation" in t for t in text), text
    lines = (ROOT / "scenarios" / "api-node-loss.yaml").read_text(encoding="utf-8").splitlines()
    for p in found:  # each problem's line is the check's field that the backend cannot see
        field = p.field.rsplit(".", 1)[-1]
        assert p.line > 0 and lines[p.line - 1].lstrip().startswith(f"{field}:"), (p, lines[p.line - 1])


def test_what_a_backend_sees_is_accepted() -> None:
    """The local backend measures Redis writes and Sentinel's events: redis-master-crash's
    write and failover checks pass validation, its route checks do not."""
    found = unobservable(loader.load(ROOT / "scenarios" / "redis-master-crash.yaml"), "local")
    named = {p.field.rsplit(".", 1)[0] for p in found}
    assert "checks.sentinel reaches SDOWN after down-after" not in named
    assert "checks.chat is healthy before the crash" in named
    seen = observes_of("local")
    assert seen.metric("store/redis.writes_lost") and not seen.metric("route/chat.error_rate")


def test_a_canary_section_is_refused_where_weights_never_move() -> None:
    found = unobservable(loader.load(ROOT / "scenarios" / "canary-good.yaml"), "kind")
    assert any(p.field == "canary" and "does not move canary weights" in p.message for p in found)


def test_the_command_exits_2_with_the_problems_and_0_for_the_simulator() -> None:
    path = str(ROOT / "scenarios" / "api-node-loss.yaml")
    bad = _validate(path, "--backend", "kind")
    assert bad.exit_code == 2, bad.output
    assert "the kind backend does not record Evicted events" in bad.output
    assert "Traceback" not in bad.output
    good = _validate(path, "--backend", "sim")
    assert good.exit_code == 0 and "for --backend sim" in good.output, good.output
    assert _validate(path).exit_code == 0


def test_an_unknown_backend_is_bad_input() -> None:
    r = _validate(str(ROOT / "scenarios" / "redis-master-crash.yaml"), "--backend", "knd")
    assert r.exit_code == 2 and "no backend named 'knd'" in r.output, r.output
