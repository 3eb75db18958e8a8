"""The JSON Schema of result.json, for editors and for validating results.

The committed copy is twin/schemas/result.json; a test keeps it equal to what
`result_schema_text()` generates (regenerate: `python -m twin.result.result_schema`).
"""

from __future__ import annotations

import json
from typing import Any

from twin.result.model import Result


def result_schema() -> dict[str, Any]:
    schema = Result.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Eco2 twin result.json"
    return schema


def result_schema_text() -> str:
    return json.dumps(result_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    (Path(__file__).parents[1] / "schemas" / "result.json").write_text(result_schema_text())
