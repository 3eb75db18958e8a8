"""A topology read once and loaded again under other `--set` overrides, for callers that
ask many times (the TUI's What-if page, at every keystroke in a `--set` field).

`Reloader(path).load(sets)` is `twin.loading.files.load_topology(path, sets)`: the same
model, or a ModelError with the same problems. What it saves is the part that does not
depend on the overrides: reading the file and the files it `extends:`, merging them and
dropping `$remove` items (about two thirds of a load of eco2-prod.yaml). The merged tree
is kept, and each load applies the overrides to a copy of it, then validates and checks
the whole model as the full load does, since one value (a workload's replicas) can break
a rule elsewhere (pods that no longer fit a node). A file changed on disk is read again.

A model that validates at once skips the all-problems engine's copy of the data and its
duration hints (said on the log when the file was first loaded; they are the file's, not
the overrides'). One that does not goes through that engine, so its problems are the
full load's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from twin.loading.engine import build_all
from twin.loading.files import checked, parse_sets
from twin.loading.kinds import KINDS
from twin.model.errors import Problem
from twin.model.reader import Node, Pos, _copy
from twin.model.source import Document, Overlay, apply_overrides, flatten, load_document
from twin.model.topology import Topology

Stamp = tuple[tuple[str, int, int], ...] | None
"""(file, mtime in ns, size) of each file read; None when one cannot be stat'ed."""


def _stamp(files: Iterable[str]) -> Stamp:
    try:
        return tuple((f, (s := os.stat(f)).st_mtime_ns, s.st_size) for f in files)
    except OSError:
        return None


@dataclass(frozen=True)
class _Read:
    """A file and its overlays merged, before any override (never changed in place)."""

    kind: str
    node: Node
    files: list[str]
    overlay: Overlay
    stamp: Stamp


class Reloader:
    """`load(sets)` as load_topology(path, sets), without reading the files again."""

    def __init__(self, path: str | Path, kinds: tuple[str, ...] = ("Topology",)):
        self.path = path
        self.kinds = kinds
        self._read: _Read | None = None
        self.reads = 0  # times the files were read (a test counts them)

    def _merged(self) -> _Read:
        read = self._read
        if read is not None and read.stamp is not None and _stamp(read.files) == read.stamp:
            return read
        overlay = Overlay()
        kind, node, files = load_document(self.path, self.kinds, overlay=overlay)
        stamp = _stamp(files)  # after the read: a file written meanwhile is read again next time
        self._read = read = _Read(kind, node, files, overlay, stamp)
        self.reads += 1
        return read

    def document(self, overrides: list[tuple[str, Any, Pos]]) -> Document:
        """twin.model.source.document(path, kinds, overrides), from the merged tree kept."""
        read = self._merged()
        node = _copy(read.node)  # overrides change the tree in place
        problems: list[Problem] = list(read.overlay.problems)
        if overrides:
            node = apply_overrides(node, overrides, problems)
        data, positions = flatten(node)
        doc = Document(read.kind, data, positions, str(self.path), list(read.files),
                       new_items=dict(read.overlay.new_items))
        doc.set_problems = problems
        return doc

    def load(self, sets: Iterable[str] = ()) -> Topology:
        """The topology under `sets`, fully validated; ModelError names every problem."""
        overrides = parse_sets(sets)  # a bad PATH=VALUE is said before the file is read
        doc = self.document(overrides)
        kind = KINDS[doc.kind]
        try:
            obj = kind.model.model_validate(doc.data)  # validators never change their input
            doc.live = doc.data
            problems = list(doc.set_problems)
        except ValidationError:
            obj, problems = build_all(doc, kind.model)  # every problem, as the full load
        return checked(doc, obj, problems)
