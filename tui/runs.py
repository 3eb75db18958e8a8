"""The one adapter between the TUI and twin.scenario: list scenario files, run one
in a child process, shape its run as plain data.

Headless (never imports Textual), so that the data side can be tested and
reused alone. A run happens in `python -m tui.runs FILE`: the child calls
`twin.scenario.runner.execute` and writes JSON lines on stdout (progress, at
most every PROGRESS_EVERY seconds, then the finished run), so the screen's
process only reads lines and never runs the simulator. When the scenario
package moves its functions, this module is the only one to change.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import math
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRESS_EVERY = 0.05
"""The child writes a progress line at most this often (seconds)."""

NICENESS = 10
"""The child runs below the screen's priority: a key is answered before a bucket is simulated."""

MAX_EVENTS = 400
"""Timeline rows sent to the screen; result.json keeps every event."""


@dataclass(frozen=True)
class ScenarioFile:
    """One file under scenarios/: what the list shows before anything is run."""

    path: Path
    name: str
    description: str = ""
    duration: str = ""
    replications: int = 1
    problem: str = ""


def scenario_files(folder: Path) -> list[ScenarioFile]:
    """Every kind: Scenario file in `folder`, by file name; a file that does not read
    is listed with its problem rather than left out."""
    from twin.model.errors import ModelError
    from twin.model.source import document

    out = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = document(path, ("Scenario",)).data
        except ModelError as e:
            out.append(ScenarioFile(path, path.stem, problem=str(e.problems[0])))
            continue
        out.append(ScenarioFile(path, str(data.get("name", path.stem)),
                                _described(path, str(data.get("description", "") or "")),
                                str(data.get("duration", "")), int(data.get("replications", 1))))
    return out


def _described(path: Path, text: str) -> str:
    """A description that quotes a topology value (`{stores.redis.sentinel.down_after}`)
    says the value in force, as `twin run`'s header does: such a file is loaded whole."""
    from twin.model.errors import ModelError
    from twin.scenario.bounds import PLACEHOLDER
    from twin.scenario.loader import load

    if not PLACEHOLDER.search(text):
        return text
    try:
        return load(path).scenario.description or text
    except (ModelError, ValueError):
        return text


# ---------------------------------------------------------------- the child


def _finite(values: Iterable[Any]) -> list[float | None]:
    return [None if v is None or not math.isfinite(float(v)) else round(float(v), 6)
            for v in values]


SERIES = (("p50", "latency", "p50"), ("p95", "latency", "p95"), ("p99", "latency", "p99"),
          ("error_rate", "error_rate", "mean"), ("throughput", "requests", "rate"))
"""Per route: (name in the payload, the trace's metric, its stat per bucket)."""


def series(trace: Any, routes: list[str], queues: list[str]) -> dict[str, Any]:
    """One replication's series over simulated time: each route's latency percentiles,
    error rate and throughput, each queue's depth. `t` is each bucket's end, when it
    was measured (twin.scenario.plots draws them the same way)."""
    out: dict[str, Any] = {"interval": trace.interval, "t": [], "routes": {}, "queues": {}}
    for r in routes:
        got = {}
        for name, metric, stat in SERIES:
            m = f"route/{r}.{metric}"
            check = f"route/{r}.requests" if metric == "error_rate" else m
            if not trace.observable(check):
                continue
            t, v = trace.series(m, stat)
            out["t"] = _finite(t + trace.interval)
            got[name] = _finite(v)
        if got:
            out["routes"][r] = got
    for q in queues:
        m = f"queue/{q}.length"
        if trace.observable(m):
            t, v = trace.series(m, "mean")
            out["t"] = out["t"] or _finite(t + trace.interval)
            out["queues"][q] = _finite(v)
    return out


def payload(run: Any) -> dict[str, Any]:
    """A judged run as plain data: verdict, checks, timeline, faults, impact, series."""
    from twin.scenario.checks import NOT_APPLICABLE, fmt
    from twin.scenario.metrics import merged
    from twin.scenario.report import related

    scn, topo = run.scenario, run.loaded.topology
    events, hidden = related(run)
    events = merged(events)
    checks = [{"name": o.name, "status": o.status, "what": o.what, "bound": o.bound,
               "observed": "n/a" if o.status == NOT_APPLICABLE else fmt(o.shown, o.unit),
               "failed_in": o.failed_in, "replications": o.replications, "reason": o.reason}
              for o in run.outcomes]
    trace = run.observations[0] if run.observations else None
    queues = [q.name for s in topo.stores for q in getattr(s, "queues", [])]
    return {
        "scenario": scn.name, "description": scn.description or "", "backend": run.backend,
        "seed": run.seed, "replications": run.replications, "duration": scn.duration,
        "warmup": scn.warmup, "verdict": "passed" if run.passed else "failed",
        "checks": checks,
        "timeline": [{k: e.get(k) for k in ("t", "source", "event", "detail", "fault")}
                     for e in events[:MAX_EVENTS]],
        "hidden": hidden + max(0, len(events) - MAX_EVENTS),
        "faults": [{"id": a.id or a.action, "action": a.action, "at": a.at, "end": a.end}
                   for a in scn.faults],
        "impact": run.impact,
        "series": {**series(trace, [r.name for r in topo.routes], queues),
                   **canary_series(trace, scn.canary)} if trace else {},
    }


def canary_series(trace: Any, canary: Any) -> dict[str, Any]:
    """A canary's weight over time and each subset's p99 (nothing without a canary)."""
    if canary is None:
        return {}
    key = f"service/{canary.service}"
    out: dict[str, Any] = {"label": f"{canary.service} {canary.canary}"}
    t, v = trace.series(f"{key}/{canary.canary}.weight", "max")
    out["weight"] = _finite(v)
    for version in (canary.primary, canary.canary):
        m = f"{key}/{version}.p99"
        if trace.observable(m):
            out[f"{version} p99"] = _finite(trace.series(m, "p99")[1])
    return {"canary": out}


def _emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def child(argv: list[str]) -> int:
    """`python -m tui.runs FILE [--set P=V]... [--replications N]`: JSON lines out."""
    import argparse

    from twin.model.errors import ModelError
    from twin.result.backend import CannotRun
    from twin.scenario import loader
    from twin.scenario.runner import execute

    ap = argparse.ArgumentParser(prog="python -m tui.runs")
    ap.add_argument("file")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--replications", type=int)
    args = ap.parse_args(argv)
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no os.nice here
        os.nice(NICENESS)
    try:
        loaded = loader.load(args.file, args.set)
    except ModelError as e:
        _emit({"error": [str(p) for p in e.problems]})
        return 2
    last = [0.0]

    def progress(fraction: float, note: str) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY or fraction >= 1.0:
            last[0] = now
            _emit({"progress": round(max(0.0, min(1.0, fraction)), 4), "note": note})

    try:
        run = execute(loaded, "sim", None, args.replications, progress)
    except CannotRun as e:
        _emit({"error": [f"cannot run: {e.what}", e.how]})
        return 3
    _emit({"done": payload(run)})
    return 0


# ---------------------------------------------------------------- the parent


@dataclass
class Progress:
    fraction: float
    note: str


@dataclass
class Finished:
    data: dict[str, Any]


@dataclass
class Failed:
    lines: list[str]


Update = Progress | Finished | Failed


def command(path: Path, sets: Iterable[str] = (), replications: int | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "tui.runs", str(path)]
    for s in sets:
        cmd += ["--set", s]
    if replications is not None:
        cmd += ["--replications", str(replications)]
    return cmd


def _env() -> dict[str, str]:
    """The child imports this very copy of tui and twin, wherever it was started from."""
    here = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
    return env


CHILDREN: set[int] = set()
"""Process ids of the runs going now (each is killed when its run is closed)."""


def stop_all() -> None:
    """Kill every run still going: the UI is closing, and a run it started must not outlive it."""
    for pid in list(CHILDREN):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        CHILDREN.discard(pid)


atexit.register(stop_all)


async def run(path: Path, sets: Iterable[str] = (), replications: int | None = None
              ) -> AsyncIterator[Update]:
    """Run a scenario in a child process; yield its updates as they come. Closing the
    iterator (a cancelled run) kills the child."""
    proc = await asyncio.create_subprocess_exec(
        *command(path, sets, replications), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=_env(), limit=2**26)
    assert proc.stdout is not None and proc.stderr is not None
    CHILDREN.add(proc.pid)
    ended = False
    try:
        async for raw in proc.stdout:
            line = json.loads(raw)
            if "progress" in line:
                yield Progress(line["progress"], line.get("note", ""))
            elif "done" in line:
                ended = True
                yield Finished(line["done"])
            elif "error" in line:
                ended = True
                yield Failed([x for x in line["error"] if x])
        code = await proc.wait()
        if not ended:
            err = (await proc.stderr.read()).decode(errors="replace").strip().splitlines()
            yield Failed([f"the run stopped (exit {code})", *err[-8:]])
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        CHILDREN.discard(proc.pid)


class Latest:
    """Merges high-frequency updates: `offer` keeps the newest, `take` hands it out at
    most once per `every` seconds (and always the last one, `force`)."""

    def __init__(self, every: float, clock: Callable[[], float] = time.monotonic):
        self.every = every
        self.clock = clock
        self.pending: Any = None
        self.sent_at = -math.inf
        self.merged = 0

    def offer(self, update: Any) -> None:
        if self.pending is not None:
            self.merged += 1
        self.pending = update

    def take(self, force: bool = False) -> Any:
        now = self.clock()
        if self.pending is None or (not force and now - self.sent_at < self.every):
            return None
        out, self.pending, self.sent_at = self.pending, None, now
        return out


if __name__ == "__main__":
    sys.exit(child(sys.argv[1:]))
