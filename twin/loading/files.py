"""Read an input file of any kind, fully checked: types, references, placement and
the kind's own checks, every problem at once with the file and line that supplied it.

The one entry point every command uses to read a topology (or any file kind),
so that every caller reports the same problems the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twin.graph.placement import unplaceable
from twin.loading.engine import build_all, consequences_dropped
from twin.loading.kinds import KINDS
from twin.model import references
from twin.model.errors import ModelError, Problem
from twin.model.source import Document, Pos, document, log, parse_set
from twin.model.topology import Topology


def parse_sets(sets: Iterable[str]) -> list[tuple[str, Any, Pos]]:
    return [parse_set(s) for s in sets]


def topology_problems(topo: Topology, doc: Document) -> list[Problem]:
    """A topology's checks beyond field types: names that resolve, pods that fit a node."""
    return [doc.problem(loc, msg) for loc, msg in [*references.check(topo), *unplaceable(topo)]]


def load(path: str | Path, kinds: tuple[str, ...] | None = None, sets: Iterable[str] = (),
         overrides: list[tuple[str, Any, Pos]] = ()) -> Any:
    """A file of any kind in `kinds` (default: all of twin.loading.kinds), validated;
    raises ModelError naming every problem."""
    doc = document(path, kinds or tuple(KINDS), [*parse_sets(sets), *overrides])
    obj = checked(doc, *build_all(doc, KINDS[doc.kind].model))
    if isinstance(obj, Topology):
        for line in hpa_warnings(obj, doc):
            log.warning("warning: %s", line)
    return obj


def checked(doc: Document, obj: Any, problems: list[Problem]) -> Any:
    """A built model after its kind's own checks (those a broken field did not cause), or
    ModelError naming every problem: the end of every load, full or from a kept tree."""
    if obj is not None and (checks := KINDS[doc.kind].checks) is not None:
        problems = problems + consequences_dropped(checks(obj, doc), problems, doc)
    if problems:
        raise ModelError(problems)
    return obj


def hpa_warnings(topo: Topology, doc: Document) -> list[str]:
    """Replicas outside their HPA's range are valid (Kubernetes allows them) but not what
    runs: the HPA moves them into its range at its first sync, so `--set
    workers.chat-worker.replicas=1` alone still runs three chat-workers."""
    out = []
    for section, items in (("services", topo.services), ("workers", topo.workers)):
        for i, w in enumerate(items):
            hpa = w.hpa
            if hpa is None or hpa.min <= w.replicas <= hpa.max:
                continue
            bound, word = (hpa.min, "min") if w.replicas < hpa.min else (hpa.max, "max")
            p = doc.problem((section, i, "replicas"), "")
            where = f"{p.file}:{p.line}:{p.column}: " if p.line else f"{p.file}: "
            out.append(f"{where}{section}.{w.name}.replicas: {w.replicas} is {'below' if word == 'min' else 'above'}"
                       f" its HPA's {word} {bound}: the HPA scales it to {bound} at its first sync; "
                       f"set {section}.{w.name}.hpa.{word} too to run {w.replicas}")
    return out


def load_topology(path: str | Path, sets: Iterable[str] = (),
                  overrides: list[tuple[str, Any, Pos]] = ()) -> Topology:
    """A topology with its overlays and overrides, fully validated."""
    return load(path, ("Topology",), sets, overrides)
