"""The file kinds the loader reads, declared in one table.

Each kind names its model and its checks beyond field types (references,
placement, a scenario's targets) as dotted paths, resolved on first use: the
table is the whole list, nothing registers itself by being imported, and
`import twin.loading` stays light (a topology command never imports the scenario
engine). A new kind of file is one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from twin.model.errors import Problem
    from twin.model.source import Document

Checks = Callable[[Any, "Document"], "list[Problem]"]


@dataclass(frozen=True)
class Kind:
    """One file kind: the `kind:` it is written with, its model, its own checks."""

    name: str
    model_path: str  # "package.module:Name"
    checks_path: str | None = None

    @property
    def model(self) -> type[BaseModel]:
        return _resolve(self.model_path)

    @property
    def checks(self) -> Checks | None:
        return _resolve(self.checks_path) if self.checks_path else None


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("Topology", "twin.model.topology:Topology", "twin.loading.files:topology_problems"),
    Kind("Scenario", "twin.scenario.model:Scenario", "twin.scenario.loader:check_scenario"),
    Kind("Sweep", "twin.capacity.sweep_file:Sweep", "twin.scenario.sweep:check"),
)}
"""Every file kind, in the order error messages list them."""
