"""The metrics a scenario's checks name, checked against its topology, and what the
report shows of a run's traces: the timeline and the user impact.

A metric is `KIND/NAME.metric` (`route/chat.error_rate`); its vocabulary and a
replication's `Trace` of it live beneath every backend, in twin.result.trace.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from twin.model.topology import Topology
from twin.result.trace import Trace, split, vocabulary


def metric_problem(topo: Topology, metric: str) -> str | None:
    """Why a metric name is wrong, or None."""
    from twin.graph.naming import UnknownComponent, resolve

    comp, name = split(metric)
    if not comp:
        return f"{metric!r} is not a metric: use KIND/NAME.metric, e.g. route/chat.error_rate"
    comp, version = _version(comp)
    try:
        c = resolve(topo, comp)
    except UnknownComponent as e:
        return e.message
    if version is not None:
        have = [v.name for v in getattr(c.obj, "versions", None) or []]
        if version not in have:
            return (f"{c.key} has no version {version!r} "
                    f"({'have: ' + ', '.join(have) if have else 'it has no versions'})")
    vocab = vocabulary(c.kind)
    if not vocab:
        return f"{c.key} has no metrics"
    if name not in vocab:
        from twin.model.errors import did_you_mean

        return (f"{c.key} has no metric {name!r}"
                + (did_you_mean(name, vocab) or f" (have: {', '.join(vocab)})"))
    return None


def _version(comp: str) -> tuple[str, str | None]:
    """`service/chat-api/v2` as ("service/chat-api", "v2"): a workload's version is its
    own component of metrics (routes' names have slashes of their own)."""
    kind, _, rest = comp.partition("/")
    name, slash, version = rest.partition("/")
    if kind in ("service", "worker") and slash:
        return f"{kind}/{name}", version
    return comp, None


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


# ---------------------------------------------------------- from a Result


def observations(result: Any) -> list[Trace]:
    """One Trace per replication: a BackendRun's, or the list a test's backend returned."""
    if isinstance(result, list) and all(isinstance(r, Trace) for r in result):
        return result
    traces = getattr(result, "traces", None)
    if callable(traces):
        return list(traces())
    raise TypeError(f"cannot read checks' metrics from a {type(result).__name__}")


def _detail(detail: Any) -> str:
    """An event's detail as text (Sentinel's events already carry Sentinel's own words)."""
    if isinstance(detail, dict):
        detail = " ".join(f"{k}={v}" for k, v in detail.items())
    return "" if detail is None else str(detail)


def timeline(obs: list[Trace], scn: Any) -> list[dict]:
    """The first replication's events with the scenario's own actions, in time order."""
    rows = []
    for a in scn.timeline:  # not every action has a target or a `for`
        source, lasts = getattr(a, "target", None) or "", getattr(a, "for_", None)
        rows.append({"t": a.at, "source": source, "event": a.action,
                     "detail": f"id={a.id}" + (f" for={lasts:g}s" if lasts else "") if a.id else "",
                     "fault": True})
        if a.end is not None and a.end < scn.duration:
            rows.append({"t": a.end, "source": source, "event": f"{a.action} ends",
                         "detail": f"id={a.id}" if a.id else "", "fault": True})
    if obs:
        rows += [{"t": float(e["t"]), "source": str(e.get("source", "")), "event": str(e["event"]),
                  "detail": _detail(e.get("detail"))} for e in obs[0].event_list]
    rows.sort(key=lambda r: (r["t"], not r.get("fault", False)))
    return rows


def merged(rows: list[dict], within: float = 2.0) -> list[dict]:
    """For display only: the same event about the same thing from several sentinels,
    within a couple of seconds, as one row naming them all (`sentinel/1,0,2`) with the
    span of their times (`t` the first, `t_last` the last, `n` how many): each
    sentinel's own time stays in result.json and in the row's span."""
    out: list[dict] = []
    open_: dict[tuple, dict] = {}
    for r in rows:
        kind, _, ident = r["source"].partition("/")
        key = (kind, r["event"], r["detail"])
        g = open_.get(key)
        if g is not None and ident and r["t"] - g["t"] <= within and not r.get("fault"):
            g["source"] += f",{ident}"
            g["t_last"] = r["t"]
            g["n"] += 1
            continue
        out.append({**r, "t_last": r["t"], "n": 1})
        if ident and not r.get("fault"):
            open_[key] = out[-1]
    return out


def when(row: dict, origin: float = 0.0, sign: str = "") -> str:
    """A row's time, or a merged row's span (`90.07-90.11s`), from `origin`."""
    t, last = row["t"] - origin, row.get("t_last", row["t"]) - origin
    return f"{t:{sign}.2f}-{last:.2f}s" if round(last, 2) != round(t, 2) else f"{t:{sign}.2f}s"


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _back_after(obs: list[Trace], metric: str, scn: Any) -> tuple[str, float] | None:
    """(the first fault, seconds from it to the first success after the last failure),
    mean over replications whose writes failed after it and came back before the end."""
    faults = getattr(scn, "faults", None) or []
    if not faults:
        return None
    fault = faults[0]
    delays = []
    for o in obs:
        spans = [(a, b) for a, b in o.spans.get(metric, ()) if b > fault.at]
        if spans and spans[-1][1] < getattr(scn, "duration", float("inf")):
            delays.append(spans[-1][1] - fault.at)
    if not delays:
        return None
    return fault.id or fault.action, _mean(delays)


def _failing_for(o: Trace, key: str) -> float:
    """Seconds a route's requests were failing: from a failure to the first success after,
    by the requests' own times where the backend keeps them, else its failing buckets."""
    spans = o.outages(f"{key}.failed")
    if spans is not None:
        return float(sum(b - a for a, b in spans))
    if f"{key}.failed" not in o.counters:
        return 0.0
    return float((o.counters[f"{key}.failed"] > 0).sum() * o.interval)


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
        failing = [_failing_for(o, key) for o in obs]
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
                if f"{key}.{name}" in o.spans:  # the writes' own times, not buckets
                    vals.append(sum(b - a for a, b in o.spans[f"{key}.{name}"]))
                elif f"{key}.{name}" in o.counters:
                    vals.append(float(o.counters[f"{key}.{name}"].sum()))
                elif f"{key}.{name}" in o.gauges:
                    g = o.gauges[f"{key}.{name}"]
                    vals.append(float(np.nansum(g) * o.interval))
            if vals and (name == "writes_lost" or _mean(vals) > 0):
                totals[label] = f"{_mean(vals):.3f}{unit}" if unit else f"{_mean(vals):.1f}"
        back = _back_after(obs, f"{key}.write_failing", scn)
        if back is not None:
            totals[f"{s.name} writes back after {back[0]}"] = f"{back[1]:.3f}s"
    for r in topo.routes:  # asynchronous routes: a 202 and then nothing (a chat turn, a scan)
        key = f"route/{r.name}.turns_incomplete"
        vals = [float(o.counters[key].sum()) for o in obs if key in o.counters]
        if vals and _mean(vals) > 0:
            totals[f"{r.name} requests accepted, then failed"] = f"{_mean(vals):.1f}"
    return {"routes": routes, "totals": totals}
