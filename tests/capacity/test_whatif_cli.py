"""`twin whatif` as users run it: the answer, JSON without NaN, bad input exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

from capacity_helpers import ROOT
from typer.testing import CliRunner

from twin.cli.app import app


def whatif(*args: str):
    return CliRunner().invoke(app, ["whatif", *args])


def test_triple_chat_names_the_bottleneck_and_exits_0() -> None:
    r = whatif("--load", "chat=x3")
    assert r.exit_code == 0, r.output
    assert "Bottleneck: worker/chat-worker" in r.output
    assert "worker/chat-worker is saturated" in r.output
    assert "chat         6/s" in r.output or "chat 6/s" in r.output


def test_scale_is_every_route_times_it() -> None:
    a = json.loads(whatif("--scale", "2", "--format", "json").output)["answer"]
    assert a["loads"]["chat"] == "4/s" and a["loads"]["login"] == "10/s"


def test_json_has_no_nan_even_when_saturated() -> None:
    r = whatif("--load", "chat=x10", "--format", "json")
    assert r.exit_code == 0
    doc = json.loads(r.output, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    rows = {c["component"]: c for c in doc["answer"]["components"]}
    assert rows["worker/chat-worker"]["status"] == "saturated"
    assert rows["worker/chat-worker"]["wait"] is None


def test_bad_load_and_set_are_exit_2_with_every_problem() -> None:
    r = whatif("--load", "chat=fast", "--load", "nosuch=3", "--set", "services.nosuch.replicas=2")
    assert r.exit_code == 2
    assert "nosuch" in r.output and "3 problems found" in r.output.replace("\n", " ")


def test_whatif_imports_no_heavy_or_ui_module() -> None:
    code = ("import sys, twin.capacity.whatif, twin.capacity.analytic; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, cwd=ROOT).stdout.split())
    assert not loaded & {"scipy", "matplotlib", "dask", "distributed", "textual", "typer",
                         "rich", "kubernetes"}
