"""result.json names the scenario and topology files the same however they were typed."""

from __future__ import annotations

import json
import os

from scenario_texts import CRASH
from test_scenario_cli import twin


def test_paths_are_normalised_relative_to_the_current_directory(write_scenario, fake_backend,
                                                                tmp_path, monkeypatch) -> None:
    path = write_scenario(CRASH)
    monkeypatch.chdir(tmp_path)
    outs = []
    for i, typed in enumerate([path.name, f"./{path.name}", str(path), f"sub/../{path.name}"]):
        (tmp_path / "sub").mkdir(exist_ok=True)
        out = tmp_path / f"o{i}"
        twin("run", typed, "--backend", "fake", "--out", str(out), monkeypatch=monkeypatch)
        outs.append((out / "result.json").read_bytes())
    assert len(set(outs)) == 1
    result = json.loads(outs[0])
    assert result["file"] == path.name
    topology = result["topology"]
    assert not os.path.isabs(topology) and "./" not in topology.replace("../", "")
    assert os.path.samefile(topology, os.path.join(os.path.dirname(__file__), "../../topologies/eco2-prod.yaml"))


def test_run_outputs_are_readable_as_any_written_file(write_scenario, fake_backend, tmp_path) -> None:
    """mkstemp makes 0600 files: a result another user or a CI step reads must follow the
    umask as open() would (0644 under umask 022)."""
    import os
    import stat

    from scenario_texts import CRASH

    from twin.scenario import junit, loader, report
    from twin.scenario.runner import execute

    old = os.umask(0o022)
    try:
        run = execute(loader.load(write_scenario(CRASH)), "fake")
        report.write(run, tmp_path / "out", plots=False)
        junit.write([run], tmp_path / "junit.xml")
    finally:
        os.umask(old)
    for f in (tmp_path / "out" / "result.json", tmp_path / "out" / "run.json", tmp_path / "junit.xml"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f
