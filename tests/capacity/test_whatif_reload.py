"""The What-if page's fast `--set` path (twin.loading.reload) against the full load: the same
topology, the same problems and the same answer, for good and bad overrides alike."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from capacity_helpers import ROOT

from tui import capacity
from twin.capacity.whatif import answer, resolve_loads
from twin.loading.files import load_topology
from twin.loading.reload import Reloader
from twin.model.errors import ModelError

PROD = ROOT / "topologies" / "eco2-prod.yaml"

SETS = [
    (),
    ("workers.chat-worker.replicas=30",),
    ("workers.chat-worker.replicas=0", "services.chat-api.replicas=4"),
    ("pools.app.nodes=[{name: k8s-worker-1}]",),
    ("stores.redis.sentinel.down_after=10s",),
    ("workers.chat-worker.hpa.min=9",),
    # bad: a type, a bound, a duration, a name, a rule across fields, a reference, no `=`
    ("workers.chat-worker.replicas=three",),
    ("workers.chat-worker.replicas=-1",),
    ("stores.redis.sentinel.down_after=soon",),
    ("workers.chat-wroker.replicas=3",),
    ("workers.chat-worker.hpa.min=50",),
    ("workers.chat-worker.queue=nosuch",),
    ("workers.chat-worker.replicas=3", "nope"),
]


def _outcome(load: object, sets: tuple[str, ...]) -> tuple[str, object]:
    try:
        return "model", load(sets)  # type: ignore[operator]
    except ModelError as e:
        return "problems", [str(p) for p in e.problems]


@pytest.mark.parametrize("sets", SETS, ids=[" ".join(s) or "none" for s in SETS])
def test_a_reload_is_the_full_load(sets: tuple[str, ...]) -> None:
    fast = Reloader(PROD)
    fast.load(("workers.chat-worker.replicas=5",))  # warm: later loads reuse the merged tree
    got = _outcome(fast.load, sets)
    want = _outcome(lambda s: load_topology(PROD, sets=s), sets)
    assert got == want
    assert fast.reads == 1


def test_bad_values_are_problems_that_name_the_field() -> None:
    kind, problems = _outcome(Reloader(PROD).load, ("workers.chat-worker.replicas=three",))
    assert kind == "problems" and len(problems) == 1
    assert "workers.chat-worker.replicas" in problems[0] and "integer" in problems[0]


def test_a_file_changed_on_disk_is_read_again(tmp_path: Path) -> None:
    for name in ("eco2-prod.yaml", "eco2-base.yaml"):
        shutil.copy(ROOT / "topologies" / name, tmp_path / name)
    base = tmp_path / "eco2-base.yaml"  # the file extended, not the one named
    fast = Reloader(tmp_path / "eco2-prod.yaml")
    before = fast.load(("workers.chat-worker.replicas=30",))
    assert fast.load(("workers.chat-worker.replicas=31",)) and fast.reads == 1
    base.write_text(base.read_text().replace("concurrency: 4\n    prefetch: 4\n    acks_late",
                                             "concurrency: 6\n    prefetch: 4\n    acks_late"))
    after = fast.load(("workers.chat-worker.replicas=30",))
    assert fast.reads == 2
    worker = next(w for w in after.workers if w.name == "chat-worker")
    assert worker.concurrency == 6 != next(w for w in before.workers
                                          if w.name == "chat-worker").concurrency
    assert after == load_topology(tmp_path / "eco2-prod.yaml", sets=["workers.chat-worker.replicas=30"])


VALUES = [
    {"workers.chat-worker.replicas": "30"},
    {"workers.chat-worker.replicas": "1", "load/chat": "x3"},
    {"pools.app.nodes": "2", "services.chat-api.replicas": "6"},
    {"stores.redis.sentinel.down_after": "12s", "scale": "2"},
    {"workers.chat-worker.replicas": "three"},
    {"workers.chat-worker.hpa.min": "50"},
]


@pytest.mark.parametrize("values", VALUES, ids=[",".join(f"{k}={v}" for k, v in d.items())
                                                 for d in VALUES])
@pytest.mark.parametrize("placement", [False, True])
def test_the_page_answers_as_a_full_load_would(values: dict[str, str], placement: bool) -> None:
    """capacity.evaluate (the page, by way of the reloader) against twin whatif's way:
    load_topology with the edits as --set, then the answer."""
    base_sets = ("services.auth-api.replicas=3",)  # `twin tui --set`, under every edit
    topo = load_topology(PROD, sets=base_sets)
    fields = capacity.fields(topo)
    got = capacity.evaluate(PROD, topo, fields, values, placement=placement, base_sets=base_sets)
    ed = capacity.as_edits(topo, fields, values)
    try:
        edited = load_topology(PROD, sets=[*base_sets, *ed.sets])
    except ModelError as e:
        assert got.problems == tuple(str(p) for p in e.problems)
        assert got.answer is None
        return
    assert not got.problems and got.topology == edited
    want = answer(edited, resolve_loads(edited, list(ed.loads), ed.scale), placement=placement)
    assert repr(got.answer) == repr(want)  # repr: a NaN equals itself
