"""`pytest DIR`: scenario files collected as tests, failures as sentences."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from scenario_texts import CRASH, PROD

HERE = Path(__file__).resolve().parent


def test_plugin_collects_scenarios_and_reports_sentences(tmp_path: Path) -> None:
    head = f"apiVersion: twin.eco2/v1\nkind: Scenario\ntopology: {PROD}\n"
    (tmp_path / "good.yaml").write_text(head + CRASH.replace("max: 0.5", "max: 0.7"))
    (tmp_path / "bad.yaml").write_text(head + CRASH)
    (tmp_path / "other.yaml").write_text("kind: Topology\nnot: a scenario\n")
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from fake_backend import FakeBackend
        from twin.scenario.runner import register_backend
        register_backend("fake", FakeBackend)
        """))
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(tmp_path),
                          "--twin-backend", "fake", "-q", "-o", "addopts="],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    text = out.stdout
    assert out.returncode == 1, text
    assert "1 failed, 1 passed" in text
    assert ("SLO 'chat errors during the crash' failed in 1 of 2 replications: "
            "route/chat.error_rate mean over kill..kill.end was 0.6, bound <= 0.5") in text
    assert "other" not in text.split("short test summary")[0].split("\n")[0]


def test_plugin_ignores_other_yaml(tmp_path: Path) -> None:
    from twin.scenario.pytest_plugin import is_scenario

    (tmp_path / "a.yaml").write_text("apiVersion: twin.eco2/v1\nkind: Scenario\nname: a\n")
    (tmp_path / "b.yaml").write_text("kind: Topology\n# kind: Scenario\n")
    (tmp_path / "c.txt").write_text("kind: Scenario\n")
    assert [is_scenario(tmp_path / n) for n in ("a.yaml", "b.yaml", "c.txt")] == [True, False, False]


def test_a_check_the_backend_cannot_see_is_a_skip_with_its_reason_and_strict_fails_it(
        tmp_path: Path) -> None:
    """The fake backend measures no latency: a p99 check on it is not applicable. That is
    never a pass: pytest shows a skip saying which check; --twin-strict fails the test."""
    head = f"apiVersion: twin.eco2/v1\nkind: Scenario\ntopology: {PROD}\n"
    body = CRASH.replace("max: 0.5", "max: 0.7") + (
        "  - name: chat stays fast\n    metric: route/chat.p99\n    max: 1s\n")
    (tmp_path / "blind.yaml").write_text(head + body)
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from fake_backend import FakeBackend
        from twin.scenario.runner import register_backend
        register_backend("fake", FakeBackend)
        """))

    def pytest_(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                               str(tmp_path), "--twin-backend", "fake", "-q", "-rs",
                               "-o", "addopts=", *extra],
                              capture_output=True, text=True, cwd=tmp_path, timeout=120)

    out = pytest_()
    assert out.returncode == 0 and "1 skipped" in out.stdout and "passed" not in out.stdout, out.stdout
    assert "1 check not applicable on fake" in out.stdout and "chat stays fast" in out.stdout
    strict = pytest_("--twin-strict")
    assert strict.returncode == 1 and "1 failed" in strict.stdout, strict.stdout
    assert "not applicable (--twin-strict)" in strict.stdout
