"""The metrics checks can name, and what one replication shows of them.

A metric is `KIND/NAME.metric` (`route/chat.error_rate`, `store/redis.writes_lost`,
`service/chat-api.ready`). A replication's `Trace` holds them in fixed time
buckets: counters (summed over a window), gauges (sampled, summarised by a
stat) and latency histograms (merged over a window, so a window's p99 is the
p99 of its requests, not an average of p99s). Backends that cannot see a metric
leave it out, and checks on it are "not applicable".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.model.topology import Topology
from twin.scenario.observes import EVERYTHING, Observes

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
    "service": ("ready", "replicas", "utilisation", "in_flight", "open_streams"),
    "worker": ("ready", "replicas", "utilisation"),
    "queue": ("length",),
    "node": ("ready",),
}
RATIOS = {"error_rate": ("failed", "requests"), "write_error_rate": ("write_errors", "writes")}
HISTOGRAMS = {"route": ("latency",), "service": ("latency",)}
# shorthands: route/chat.p99 is route/chat.latency with stat p99
QUANTILE_ALIASES = {"p50": "p50", "p95": "p95", "p99": "p99"}


def vocabulary(kind: str) -> list[str]:
    names = [*COUNTERS.get(kind, ()), *GAUGES.get(kind, ()), *HISTOGRAMS.get(kind, ())]
    if "failed" in COUNTERS.get(kind, ()) and "requests" in COUNTERS.get(kind, ()):
        names.append("error_rate")
    if kind == "store":
        names.append("write_error_rate")
    if kind in HISTOGRAMS:
        names += list(QUANTILE_ALIASES)
    return names


def split(metric: str) -> tuple[str, str]:
    """`route/chat.error_rate` as ("route/chat", "error_rate")."""
    comp, _, name = metric.rpartition(".")
    return comp, name


def metric_problem(topo: Topology, metric: str) -> str | None:
    """Why a metric name is wrong, or None."""
    from twin.graph.naming import UnknownComponent, resolve

    comp, name = split(metric)
    if not comp:
        return f"{metric!r} is not a metric: use KIND/NAME.metric, e.g. route/chat.error_rate"
    try:
        c = resolve(topo, comp)
    except UnknownComponent as e:
        return e.message
    vocab = vocabulary(c.kind)
    if not vocab:
        return f"{c.key} has no metrics"
    if name not in vocab:
        return f"{c.key} has no metric {name!r} (have: {', '.join(vocab)})"
    return None


def canonical(topo: Topology | None, metric: str) -> str:
    """Bare names resolved: `chat.error_rate` -> `route/chat.error_rate`."""
    comp, name = split(metric)
    if "/" in comp or topo is None:
        return metric
    from twin.graph.naming import UnknownComponent, resolve

    try:
        return f"{resolve(topo, comp).key}.{name}"
    except UnknownComponent:
        return metric


# ------------------------------------------------------------------ traces


@dataclass
class Trace:
    """One replication in time buckets of `interval` seconds from t = 0."""

    interval: float
    counters: dict[str, np.ndarray] = field(default_factory=dict)
    gauges: dict[str, np.ndarray] = field(default_factory=dict)
    histograms: dict[str, list[Any]] = field(default_factory=dict)  # twin.sim.stats.Histogram
    event_list: list[dict] = field(default_factory=list)  # {t, source, event, detail}
    records_events: bool = True
    aliases: dict[str, str] = field(default_factory=dict)  # bare metric -> canonical
    observes: Observes = EVERYTHING  # what the backend that made it can see at all

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
            num, den = RATIOS[name]
            return f"{comp}.{num}" in self.counters and f"{comp}.{den}" in self.counters
        if name in QUANTILE_ALIASES:
            return f"{comp}.latency" in self.histograms
        return m in self.counters or m in self.gauges or m in self.histograms

    def value(self, metric: str, stat: str, t0: float, t1: float) -> float | None:
        m = self._name(metric)
        comp, name = split(m)
        if name in RATIOS:
            num, den = RATIOS[name]
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
        from twin.sim.stats import Histogram

        hs = self.histograms[m]
        i, j = self._span(t0, t1, len(hs))
        merged = Histogram()
        for h in hs[i:j]:
            if h is not None:
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


# ---------------------------------------------------------- from a Result


def observations(result: Any, scn: Any) -> list[Trace]:
    """One Trace per replication, whatever the backend returned."""
    if isinstance(result, list) and all(isinstance(r, Trace) for r in result):
        return result
    traces = getattr(result, "traces", None)
    if callable(traces):
        return list(traces())
    from twin.scenario.sim_backend import traces_of

    return traces_of(result, scn)


def _detail(detail: Any) -> str:
    if isinstance(detail, dict):
        detail = " ".join(f"{k}={v}" for k, v in detail.items())
    text = "" if detail is None else str(detail)
    # Sentinel's own words, without what every line repeats; an instance that is not
    # the master says so as Sentinel does (`+sdown slave ...`): the old master, down
    # after a failover, is a replica by then, not a second master failing
    words = []
    for w in text.split():
        if w.startswith("type="):
            if w != "type=master":
                words.append(w.removeprefix("type="))
        elif not w.startswith(("master=", "run_id=")):
            words.append(w)
    return " ".join(words)


def timeline(obs: list[Trace], scn: Any) -> list[dict]:
    """The first replication's events with the scenario's own actions, in time order."""
    rows = [{"t": a.at, "source": a.target or "", "event": a.action,
             "detail": f"id={a.id}" + (f" for={a.for_:g}s" if a.for_ else "") if a.id else "",
             "fault": True} for a in scn.timeline]
    rows += [{"t": a.end, "source": a.target or "", "event": f"{a.action} ends",
              "detail": f"id={a.id}" if a.id else "", "fault": True}
             for a in scn.timeline if a.end is not None and a.end < scn.duration]
    if obs:
        rows += [{"t": float(e["t"]), "source": str(e.get("source", "")), "event": str(e["event"]),
                  "detail": _detail(e.get("detail"))} for e in obs[0].event_list]
    rows.sort(key=lambda r: (r["t"], not r.get("fault", False)))
    return rows


def merged(rows: list[dict], within: float = 2.0) -> list[dict]:
    """For display only: the same event about the same thing from several sentinels,
    within a couple of seconds, as one row naming them all (`sentinel/1,0,2`) at the
    first one's time. result.json keeps every event with its own time."""
    out: list[dict] = []
    open_: dict[tuple, dict] = {}
    for r in rows:
        kind, _, ident = r["source"].partition("/")
        key = (kind, r["event"], r["detail"])
        g = open_.get(key)
        if g is not None and ident and r["t"] - g["t"] <= within and not r.get("fault"):
            g["source"] += f",{ident}"
            continue
        out.append(dict(r))
        if ident and not r.get("fault"):
            open_[key] = out[-1]
    return out


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def impact(obs: list[Trace], topo: Topology, scn: Any) -> dict:
    """User impact, mean over replications: per route requests failed and for how
    long; chat turns never completed; SSE events lost or duplicated; acknowledged
    writes lost; connections a reconnect burst re-opened."""
    if not obs:
        return {}
    routes: dict[str, dict] = {}
    for r in topo.routes:
        key = f"route/{r.name}"
        if not all(f"{key}.requests" in o.counters for o in obs):
            continue
        req = [float(o.counters[f"{key}.requests"].sum()) for o in obs]
        if not any(req):
            continue
        failed = [float(o.counters[f"{key}.failed"].sum()) if f"{key}.failed" in o.counters else 0.0
                  for o in obs]
        failing = [float((o.counters[f"{key}.failed"] > 0).sum() * o.interval)
                   if f"{key}.failed" in o.counters else 0.0 for o in obs]
        notes = []
        for name, label in (("turns_incomplete", "accepted, then failed"),
                            ("events_lost", "SSE events lost"),
                            ("events_duplicated", "SSE events duplicated")):
            vals = [float(o.counters[f"{key}.{name}"].sum()) for o in obs if f"{key}.{name}" in o.counters]
            if vals and _mean(vals) > 0:
                notes.append(f"{_mean(vals):.1f} {label}")
        routes[r.name] = {"requests": _mean(req), "failed": _mean(failed),
                          "failing_for": _mean(failing), "notes": ", ".join(notes)}
    totals: dict[str, str] = {}
    for s in topo.stores:
        key = f"store/{s.name}"
        for name, label, unit in (("writes_lost", f"acknowledged {s.name} writes lost", ""),
                                  ("write_errors", f"{s.name} writes refused", ""),
                                  ("write_failing", f"{s.name} writes failing for", "s"),
                                  ("connections_opened",
                                   f"{s.name} connections re-opened at once (reconnect burst)", "")):
            vals = []
            for o in obs:
                if f"{key}.{name}" in o.counters:
                    vals.append(float(o.counters[f"{key}.{name}"].sum()))
                elif f"{key}.{name}" in o.gauges:
                    g = o.gauges[f"{key}.{name}"]
                    vals.append(float(np.nansum(g) * o.interval))
            if vals and (name == "writes_lost" or _mean(vals) > 0):
                totals[label] = f"{_mean(vals):.1f}{unit}" if unit else f"{_mean(vals):.1f}"
    for r in topo.routes:  # asynchronous routes: a 202 and then nothing (a chat turn, a scan)
        key = f"route/{r.name}.turns_incomplete"
        vals = [float(o.counters[key].sum()) for o in obs if key in o.counters]
        if vals and _mean(vals) > 0:
            totals[f"{r.name} requests accepted, then failed"] = f"{_mean(vals):.1f}"
    return {"routes": routes, "totals": totals}
