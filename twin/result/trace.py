"""What one replication shows of the metrics checks can name, in fixed time buckets.

A metric is `KIND/NAME.metric` (`route/chat.error_rate`, `store/redis.writes_lost`,
`service/chat-api.ready`). A replication's `Trace` holds them in buckets of
`interval` seconds: counters (summed over a window), gauges (sampled,
summarised by a stat) and latency histograms (merged over a window, so a
window's p99 is the p99 of its requests, not an average of p99s). Every backend
fills one per replication (twin.result.backend); a backend that cannot see a
metric leaves it out, and checks on it are "not applicable".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from twin.result.backend import EVERYTHING, Observes

COUNTERS = {
    "route": ("requests", "failed", "turns_incomplete", "events_lost", "events_duplicated"),
    "store": ("writes", "write_errors", "writes_lost", "reads", "read_errors", "readonly_errors",
              "connection_errors", "reconnects", "connections_opened", "sentinel_queries",
              "subscriptions_dropped"),
    "service": ("requests", "failed"),
    "worker": ("tasks", "failed"),
    "queue": ("published", "dropped", "requeued", "lost"),
}
GAUGES = {
    "route": ("in_flight",),
    "store": ("write_failing", "unavailable", "connections"),
    "service": ("ready", "replicas", "utilisation", "in_flight", "open_streams", "weight"),
    "worker": ("ready", "replicas", "utilisation"),
    "queue": ("length",),
    "node": ("ready",),
}
RATIOS = {"error_rate": ("failed", "requests"), "write_error_rate": ("write_errors", "writes")}
# a kind whose ratio counts out of another counter: a worker's error rate is out of its tasks
RATIO_OF = {("worker", "error_rate"): ("failed", "tasks")}
HISTOGRAMS = {"route": ("latency",), "service": ("latency",), "worker": ("latency", "queue_wait")}
# a failure count's exact outages, where the backend keeps them (Trace.spans): the
# failing spans that refine it, from the operations' own times
OUTAGES = {"failed": "failing", "error_rate": "failing",
           "write_errors": "write_failing", "write_error_rate": "write_failing"}
# shorthands: route/chat.p99 is route/chat.latency with stat p99
QUANTILE_ALIASES = {"p50": "p50", "p95": "p95", "p99": "p99"}


def ratio(kind: str, name: str) -> tuple[str, str]:
    """(numerator, denominator) counters of a ratio metric on a component of `kind`."""
    return RATIO_OF.get((kind, name), RATIOS[name])


def vocabulary(kind: str) -> list[str]:
    names = [*COUNTERS.get(kind, ()), *GAUGES.get(kind, ()), *HISTOGRAMS.get(kind, ())]
    counted = COUNTERS.get(kind, ())
    names += [r for r in RATIOS if all(c in counted for c in ratio(kind, r))]
    if kind in HISTOGRAMS:
        names += list(QUANTILE_ALIASES)
    return names


def split(metric: str) -> tuple[str, str]:
    """`route/chat.error_rate` as ("route/chat", "error_rate")."""
    comp, _, name = metric.rpartition(".")
    return comp, name


class LatencyHistogram(Protocol):
    """What a trace needs of a backend's latency histogram (twin.sim.stats.Histogram):
    windows merge their buckets' histograms, of whatever type the backend recorded."""

    count: int
    total: float
    max: float

    @property
    def mean(self) -> float: ...

    def quantile(self, q: float) -> float: ...

    def merge(self, other: Any) -> None: ...


@dataclass
class Trace:
    """One replication in time buckets of `interval` seconds from t = 0."""

    interval: float
    counters: dict[str, np.ndarray] = field(default_factory=dict)
    gauges: dict[str, np.ndarray] = field(default_factory=dict)
    histograms: dict[str, list[LatencyHistogram | None]] = field(default_factory=dict)
    event_list: list[dict] = field(default_factory=list)  # {t, source, event, detail}
    records_events: bool = True
    aliases: dict[str, str] = field(default_factory=dict)  # bare metric -> canonical
    observes: Observes = EVERYTHING  # what the backend that made it can see at all
    # exact outages where the backend knows each operation's time: `route/chat.failing`
    # and `store/redis.write_failing`, each (first failure, first success after)
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def _name(self, metric: str) -> str:
        return self.aliases.get(metric, metric)

    def _span(self, t0: float, t1: float, n: int) -> tuple[int, int]:
        a = int(math.floor(t0 / self.interval + 1e-9))
        b = int(math.ceil(t1 / self.interval - 1e-9))
        return max(0, min(a, n)), max(0, min(max(b, a + 1), n))

    def observable(self, metric: str) -> bool:
        m = self._name(metric)
        if not self.observes.metric(m):
            return False
        comp, name = split(m)
        if name in RATIOS:
            num, den = ratio(comp.partition("/")[0], name)
            return f"{comp}.{num}" in self.counters and f"{comp}.{den}" in self.counters
        if name in QUANTILE_ALIASES:
            return f"{comp}.latency" in self.histograms
        return m in self.counters or m in self.gauges or m in self.histograms

    def value(self, metric: str, stat: str, t0: float, t1: float) -> float | None:
        m = self._name(metric)
        comp, name = split(m)
        if name in RATIOS:
            num, den = ratio(comp.partition("/")[0], name)
            a, b = self.counters[f"{comp}.{num}"], self.counters[f"{comp}.{den}"]
            i, j = self._span(t0, t1, len(b))
            if stat in ("mean", "sum", "rate", "last"):
                total = float(b[i:j].sum())
                return None if total == 0 else float(a[i:j].sum()) / total
            per = [float(x) / float(y) for x, y in zip(a[i:j], b[i:j], strict=True) if y > 0]
            return _summary(np.asarray(per), stat) if per else None
        if name in QUANTILE_ALIASES:
            stat, m = QUANTILE_ALIASES[name], f"{comp}.latency"
        if m in self.histograms:
            return self._histogram(m, stat, t0, t1)
        if m in self.counters:
            arr = self.counters[m]
            i, j = self._span(t0, t1, len(arr))
            total = float(arr[i:j].sum())
            if stat == "rate":
                return total / max(t1 - t0, 1e-9)
            if stat in ("sum", "mean", "last"):
                return total  # a counter's natural summary over a window is its total
            return _summary(arr[i:j].astype(float), stat)
        arr = self.gauges[m]
        i, j = self._span(t0, t1, len(arr))
        vals = arr[i:j].astype(float)
        vals = vals[~np.isnan(vals)]
        return _summary(vals, stat) if len(vals) else None

    def _histogram(self, m: str, stat: str, t0: float, t1: float) -> float | None:
        hs = self.histograms[m]
        i, j = self._span(t0, t1, len(hs))
        present = [h for h in hs[i:j] if h is not None]
        if not present:
            return None
        merged = type(present[0])()
        for h in present:
            merged.merge(h)
        if merged.count == 0:
            return None
        if stat == "mean":
            return merged.mean
        if stat == "max":
            return merged.max
        if stat in ("sum",):
            return merged.total
        if stat in ("p50", "p95", "p99"):
            return merged.quantile(int(stat[1:]) / 100)
        if stat == "min":
            return merged.quantile(0.0)
        return merged.mean

    def outages(self, metric: str) -> list[tuple[float, float]] | None:
        """The exact outages behind a failure metric (`route/chat.error_rate`), or None
        where this backend keeps only buckets."""
        comp, name = split(self._name(metric))
        return self.spans.get(f"{comp}.{OUTAGES[name]}") if name in OUTAGES else None

    def events(self, name: str, source: str | None = None) -> list[float]:
        return [e["t"] for e in self.event_list if e["event"] == name
                and (source is None or e.get("source") == source
                     or e.get("source", "").startswith(source.rstrip("/") + "/"))]

    def observes_event(self, name: str) -> bool:
        """False when the backend could not have recorded `name`: its absence proves nothing."""
        return self.records_events and self.observes.event(name)

    def series(self, metric: str, stat: str = "mean") -> tuple[np.ndarray, np.ndarray]:
        """Bucket start times and the metric per bucket, for plots and recovery."""
        m = self._name(metric)
        n = self._length()
        t = np.arange(n) * self.interval
        v = np.array([self.value(m, stat, ti, ti + self.interval) if self.observable(m) else None
                      for ti in t], dtype=float)
        return t, v

    def _length(self) -> int:
        for group in (self.counters, self.gauges):
            for arr in group.values():
                return len(arr)
        for hs in self.histograms.values():
            return len(hs)
        return 0


def _summary(vals: np.ndarray, stat: str) -> float | None:
    if not len(vals):
        return None
    if stat == "mean":
        return float(vals.mean())
    if stat == "max":
        return float(vals.max())
    if stat == "min":
        return float(vals.min())
    if stat == "sum":
        return float(vals.sum())
    if stat == "last":
        return float(vals[-1])
    if stat in ("p50", "p95", "p99"):
        return float(np.percentile(vals, int(stat[1:])))
    return float(vals.mean())


__all__ = ["COUNTERS", "GAUGES", "HISTOGRAMS", "OUTAGES", "QUANTILE_ALIASES", "RATIOS", "RATIO_OF", "LatencyHistogram", "Trace",
           "ratio", "split", "vocabulary"]
