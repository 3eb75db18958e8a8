"""The loader's table of file kinds: each kind resolves to its model and checks, and
reading a file needs no import to have registered anything first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from twin.loading import editor_schema
from twin.loading.kinds import KINDS, Kind

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_kind_resolves_to_the_model_that_reads_its_kind_field(name: str) -> None:
    kind = KINDS[name]
    assert kind.name == name
    assert issubclass(kind.model, BaseModel)
    assert get_args(kind.model.model_fields["kind"].annotation) == (name,)
    assert kind.checks is None or callable(kind.checks)


def test_the_table_holds_topology_and_scenario_with_their_checks() -> None:
    assert {"Topology", "Scenario"} <= set(KINDS)
    assert KINDS["Topology"].checks.__name__ == "topology_problems"
    assert KINDS["Scenario"].checks.__name__ == "check_scenario"


def test_editor_schemas_are_the_tables_kinds() -> None:
    assert set(editor_schema.kinds()) == {name.lower() for name in KINDS}


def test_a_bad_dotted_path_fails_on_use_naming_it() -> None:
    with pytest.raises(AttributeError, match="Nope"):
        _ = Kind("Nope", "twin.model.topology:Nope").model


def test_a_scenario_file_loads_in_a_fresh_interpreter_without_importing_its_engine_first() -> None:
    """With kinds registered by import side effects this needed `import twin.scenario`
    first; the table makes `load` read any kind on its own."""
    code = ("import twin.loading.files as f\n"
            "print(type(f.load('scenarios/redis-master-crash.yaml')).__name__)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "Scenario"
