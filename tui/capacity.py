"""The What-if page's data side: the editable values of a topology, edits as `--set`
overrides and loads, the analytical answer at them, and the simulator's confirmation
in a child process.

Headless (never imports Textual). An edit is text typed in a field; `edited` turns
every field's text into (topology, loads) through the same `--set` machinery as
`twin whatif --set` (twin.loading.files.load_topology, by way of a
twin.loading.reload.Reloader that keeps the file read), or into the problems that
name the field. `python -m tui.capacity TOPOLOGY [--set P=V]... [--load R=V]...`
is the child that runs the simulator (twin.capacity.confirm) and writes JSON lines
like tui.runs' child, so that the screen's process never simulates.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import os
import sys
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui import runs

SIM_DURATION = "5m"
SIM_REPLICATIONS = 3
SIM_SEED = 1


@dataclass(frozen=True)
class Field:
    """One editable value: its key (the `--set` path, or load/ROUTE, or scale), the
    label shown, its group and the value the topology has."""

    key: str
    label: str
    group: str
    value: str
    hint: str = ""


def _num(x: float) -> str:
    return f"{x:g}"


def fields(topo: Any) -> list[Field]:  # noqa: ANN401 - a twin.model Topology
    """Every value the page edits, in the order shown: load, replicas, pools, HPAs, Redis."""
    out = [Field("scale", "scale", "Load", "1", "every route's rate times this")]
    out += [Field(f"load/{r.name}", r.name, "Load", _num(r.rate),
                  "req/s, x3 (times nominal) or users:N:think=2s") for r in topo.routes]
    for section, items in (("services", topo.services), ("workers", topo.workers)):
        out += [Field(f"{section}.{w.name}.replicas", w.name, "Replicas", str(w.replicas))
                for w in items]
    out += [Field(f"pools.{p.name}.nodes", p.name, "Pool nodes", str(len(p.nodes)))
            for p in topo.pools]
    for section, items in (("services", topo.services), ("workers", topo.workers)):
        for w in items:
            if w.hpa is None:
                continue
            for part in ("min", "max", "target"):
                out.append(Field(f"{section}.{w.name}.hpa.{part}", f"{w.name} {part}", "HPA",
                                 _num(getattr(w.hpa, part))))
    for s in topo.stores:
        sentinel = getattr(s, "sentinel", None)
        if sentinel is not None:
            out.append(Field(f"stores.{s.name}.sentinel.down_after", f"{s.name} down_after",
                             "Redis", f"{_num(sentinel.down_after)}s", "Sentinel down-after"))
    return out


@dataclass(frozen=True)
class Edited:
    """The edits as `twin whatif` takes them: --set overrides, --load items, --scale."""

    sets: tuple[str, ...]
    loads: tuple[str, ...]
    scale: float


def as_edits(topo: Any, baseline: Iterable[Field], values: Mapping[str, str]) -> Edited:  # noqa: ANN401
    """Only the fields whose text differs from the topology's become overrides; a pool's
    node count keeps its nodes' names and adds `POOL-N` ones (or drops the last)."""
    sets: list[str] = []
    loads: list[str] = []
    scale = 1.0
    problems: list[str] = []
    for f in baseline:
        text = values.get(f.key, f.value).strip()
        if text == f.value or not text:
            continue
        if f.key == "scale":
            try:
                scale = float(text)
            except ValueError:
                problems.append(f"scale: {text!r} is not a number")
        elif f.key.startswith("load/"):
            loads.append(f"{f.key[5:]}={text}")
        elif f.key.endswith(".nodes"):
            pool = next(p for p in topo.pools if p.name == f.key.split(".")[1])
            try:
                n = int(text)
            except ValueError:
                problems.append(f"{f.label} nodes: {text!r} is not a whole number")
                continue
            if n < 1:
                problems.append(f"{f.label} nodes: a pool needs at least 1 node")
                continue
            names = [nd.name for nd in pool.nodes][:n]
            names += [f"{pool.name}-{i}" for i in range(len(names) + 1, n + 1)]
            sets.append(f"{f.key}=[" + ", ".join(f"{{name: {x}}}" for x in names) + "]")
        else:
            sets.append(f"{f.key}={text}")
    if problems:
        raise ValueError(problems)
    return Edited(tuple(sets), tuple(loads), scale)


@dataclass(frozen=True)
class Outcome:
    """An answer at the edits, or the problems that stopped one."""

    answer: Any = None  # twin.capacity.whatif.Answer
    topology: Any = None
    loads: Any = None  # twin.capacity.whatif.Loads
    problems: tuple[str, ...] = ()


@functools.lru_cache(maxsize=8)
def _reloader(source: str) -> Any:  # noqa: ANN401 - a twin.loading.reload.Reloader
    """One per topology file: an edit of a `--set` field loads it again without reading and
    merging its files (it reads them again when they change on disk)."""
    from twin.loading.reload import Reloader

    return Reloader(source)


def evaluate(source: str | Path, topo: Any, baseline: list[Field],  # noqa: ANN401
             values: Mapping[str, str], *, placement: bool, network: Any = None,
             base_sets: Sequence[str] = ()) -> Outcome:
    """The analytical answer at the edited values; bad values come back as problems,
    never as an exception. `network` (compile_network of `topo`) is reused while only
    the load is edited."""
    from twin.capacity.whatif import answer, resolve_loads
    from twin.model.errors import ModelError

    try:
        ed = as_edits(topo, baseline, values)
    except ValueError as e:
        return Outcome(problems=tuple(e.args[0]))
    try:
        # `topo` is the source with `twin tui --set` (base_sets) applied: an edit adds to them
        edited = _reloader(str(source)).load([*base_sets, *ed.sets]) if ed.sets else topo
        loads = resolve_loads(edited, list(ed.loads), ed.scale)
        net = None if ed.sets else network
        return Outcome(answer(edited, loads, placement=placement, network=net), edited, loads)
    except ModelError as e:
        return Outcome(problems=tuple(str(p) for p in e.problems))


def deltas(now: Any, base: Any) -> dict[str, float]:  # noqa: ANN401 - two Answers
    """Each component's utilisation change against the baseline answer (a share)."""
    was = {c.name: c.utilisation for c in base.components}
    out = {}
    for c in now.components:
        if c.name in was and math.isfinite(c.utilisation) and math.isfinite(was[c.name]):
            out[c.name] = c.utilisation - was[c.name]
    return out


# ---------------------------------------------------------------- the child


def child(argv: list[str]) -> int:
    """`python -m tui.capacity TOPOLOGY [--set P=V]... [--load R=V]... [--scale F]`."""
    import argparse

    from twin.capacity.confirm import run, side_by_side
    from twin.capacity.whatif import answer, resolve_loads
    from twin.loading.files import load_topology
    from twin.model.errors import ModelError
    from twin.model.units import parse_duration
    from twin.result.backend import CannotRun

    ap = argparse.ArgumentParser(prog="python -m tui.capacity")
    ap.add_argument("topology")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--load", action="append", default=[])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration", default=SIM_DURATION)
    ap.add_argument("--replications", type=int, default=SIM_REPLICATIONS)
    ap.add_argument("--seed", type=int, default=SIM_SEED)
    args = ap.parse_args(argv)
    with contextlib.suppress(OSError, AttributeError):
        os.nice(runs.NICENESS)
    try:
        topo = load_topology(args.topology, sets=args.set)
        loads = resolve_loads(topo, args.load, args.scale)
    except ModelError as e:
        runs._emit({"error": [str(p) for p in e.problems]})
        return 2
    duration = parse_duration(args.duration)

    def progress(replication: int, fraction: float) -> None:
        runs._emit({"progress": round(min(1.0, (replication + fraction) / args.replications), 4)})

    try:
        result = run(topo, loads, duration, args.seed, args.replications, progress=progress,
                     name=str(args.topology))
    except CannotRun as e:
        runs._emit({"error": [f"cannot run: {e.what}", e.how]})
        return 3
    rows = side_by_side(answer(topo, loads), result)
    runs._emit({"done": {
        "duration": result.duration, "replications": result.replications, "seed": result.seed,
        "rows": [{"what": r.what, "analytic": r.analytic, "simulated": r.simulated,
                  "half_width": r.half_width, "within": r.within, "unit": r.unit}
                 for r in rows]}})
    return 0


def command(source: str | Path, ed: Edited, duration: str = SIM_DURATION,
            replications: int = SIM_REPLICATIONS, base_sets: Sequence[str] = ()) -> list[str]:
    cmd = [sys.executable, "-m", "tui.capacity", str(source), "--scale", repr(ed.scale),
           "--duration", duration, "--replications", str(replications)]
    for s in [*base_sets, *ed.sets]:
        cmd += ["--set", s]
    for item in ed.loads:
        cmd += ["--load", item]
    return cmd


async def confirm(source: str | Path, ed: Edited, duration: str = SIM_DURATION,
                  replications: int = SIM_REPLICATIONS, base_sets: Sequence[str] = ()
                  ) -> AsyncIterator[runs.Update]:
    """Run the simulator at the edits in a child; yield tui.runs' updates. Closing the
    iterator kills the child."""
    proc = await asyncio.create_subprocess_exec(
        *command(source, ed, duration, replications, base_sets), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=runs._env(), limit=2**24)
    assert proc.stdout is not None and proc.stderr is not None
    runs.CHILDREN.add(proc.pid)
    ended = False
    try:
        async for raw in proc.stdout:
            line = json.loads(raw)
            if "progress" in line:
                yield runs.Progress(line["progress"], "")
            elif "done" in line:
                ended = True
                yield runs.Finished(line["done"])
            elif "error" in line:
                ended = True
                yield runs.Failed([x for x in line["error"] if x])
        code = await proc.wait()
        if not ended:
            err = (await proc.stderr.read()).decode(errors="replace").strip().splitlines()
            yield runs.Failed([f"the simulation stopped (exit {code})", *err[-8:]])
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        runs.CHILDREN.discard(proc.pid)


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
