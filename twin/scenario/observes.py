"""What a backend can observe: the event names it records and the metrics it measures.

DESIGN.md: a check a backend cannot observe is "not applicable", never passed,
and does not change the exit status. A trace that merely lacks an event proves
nothing when the backend could never have recorded it (`NodeNotReady, max: 0`
would "hold" on real Redis processes), so every backend declares what it sees,
as an `observes` attribute, or by name in BY_BACKEND for the built-in ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from twin.sim import events as names


@dataclass(frozen=True)
class Observes:
    """events: the names it records (None: any); metrics: fnmatch patterns of the
    canonical metrics it measures (None: any it puts in a trace)."""

    events: frozenset[str] | None = None
    metrics: tuple[str, ...] | None = None

    def event(self, name: str) -> bool:
        return self.events is None or name in self.events

    def metric(self, metric: str) -> bool:
        return self.metrics is None or any(fnmatchcase(metric, p) for p in self.metrics)


EVERYTHING = Observes()
"""The simulator: every event and metric of the model."""

LOCAL = Observes(
    # real redis-server and redis-sentinel processes on 127.0.0.1: Sentinel's Pub/Sub
    # events and what the writers measure (twin.replica.local_backend)
    events=names.SENTINEL | names.BACKENDS,
    metrics=tuple(f"store/*.{m}" for m in ("writes", "write_errors", "writes_lost",
                                            "write_failing", "write_error_rate")),
)

KIND = Observes(
    # the kind replica: the faults it applied and the load generator's requests
    # (twin.replica.kind_backend)
    events=frozenset({"Killed", "Scaled", "NodeDown"}) | names.BACKENDS,
    metrics=tuple(f"route/*.{m}" for m in ("requests", "failed", "error_rate", "latency",
                                            "p50", "p95", "p99")),
)

BY_BACKEND: dict[str, Observes] = {"sim": EVERYTHING, "local": LOCAL, "kind": KIND}


def of(backend: object, name: str) -> Observes:
    """The backend's own declaration, else the built-in one for its name, else everything."""
    declared = getattr(backend, "observes", None)
    if isinstance(declared, Observes):
        return declared
    return BY_BACKEND.get(name, EVERYTHING)
