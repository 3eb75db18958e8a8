"""Scenario files: run an experiment on a backend and judge it by its checks.

`kind: Scenario` is in the loader's table (twin.loading.kinds), so that
`twin validate` and `twin.loading.files.load` read scenario files with file and
line in every problem.
"""

from __future__ import annotations

from twin.scenario.model import Scenario

__all__ = ["Scenario"]
