"""Scenario files: run an experiment on a backend and judge it by its checks.

Importing this package registers `kind: Scenario` with the loader, so that
`twin validate` and `twin.validate.load` read scenario files with file and line
in every problem.
"""

from __future__ import annotations

from twin.scenario.loader import check_scenario
from twin.scenario.model import Scenario
from twin.validate import register_kind

register_kind("Scenario", Scenario, check_scenario)

__all__ = ["Scenario"]
