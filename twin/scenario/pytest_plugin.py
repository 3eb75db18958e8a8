"""`pytest scenarios/`: every `kind: Scenario` file collected as a test.

Registered as a pytest11 entry point, so it is loaded by every pytest run in
the environment: it imports nothing of the twin until it meets a YAML file
whose head says `kind: Scenario`, and it never looks inside other files. A
failing check reads as a sentence naming the check, the observed value and the
bound; a backend that cannot run here skips the test and says why, and so does a run
whose checks held but some could not be observed (`--twin-strict`: they fail it).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_KIND = re.compile(rb"^kind:\s*[\"']?Scenario[\"']?\s*(#.*)?$", re.MULTILINE)
_HEAD = 4096


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("twin", "Eco2 twin scenarios")
    group.addoption("--twin-backend", default="sim", help="Backend for scenario files (sim, local, kind).")
    group.addoption("--twin-replications", type=int, default=None,
                    help="Override every scenario's replications.")
    group.addoption("--twin-seed", type=int, default=None, help="Override every scenario's seed.")
    group.addoption("--twin-strict", action="store_true",
                    help="A check the backend cannot observe fails the test instead of skipping it.")


def is_scenario(path: Path) -> bool:
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return False
    return bool(_KIND.search(head))


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if is_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.stem)


class ScenarioFailed(Exception):
    """The checks that failed, one sentence each."""


class ScenarioItem(pytest.Item):
    def runtest(self) -> None:
        from twin.model.errors import ModelError
        from twin.result.backend import CannotRun
        from twin.scenario.loader import load
        from twin.scenario.runner import execute

        opt = self.config.getoption
        try:
            loaded = load(self.path)
        except ModelError as e:
            raise ScenarioFailed("bad scenario file:\n" + "\n".join(str(p) for p in e.problems)) from None
        try:
            run = execute(loaded, opt("--twin-backend"), opt("--twin-seed"), opt("--twin-replications"))
        except CannotRun as e:
            pytest.skip(f"cannot run: {e.what}. {e.how}".strip())
        self.user_properties.append(("verdict", "passed" if run.passed else "failed"))
        na = [o.sentence() for o in run.outcomes if o.status == "n/a"]
        for sentence in na:
            self.user_properties.append(("not-applicable", sentence))
        failed = [o.sentence() for o in run.outcomes if o.status == "failed"]
        if na and opt("--twin-strict"):
            failed += [f"not applicable (--twin-strict): {s}" for s in na]
        if failed:
            raise ScenarioFailed("\n".join(failed))
        if na:  # held, but not all of it could be seen: never a pass
            pytest.skip(f"{len(na)} check{'s' if len(na) != 1 else ''} not applicable on "
                        f"{opt('--twin-backend')}: " + "; ".join(na))

    def repr_failure(self, excinfo, style=None):  # noqa: ANN001 - pytest's signature
        if isinstance(excinfo.value, ScenarioFailed):
            return f"{self.path.name}:\n{excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.path.stem}"
