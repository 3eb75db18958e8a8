"""Output analysis over independent replications: mean and 95 % t confidence interval."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from twin.result.model import Estimate, ReplicationResult


def t_quantile(df: int, p: float = 0.975) -> float:
    from scipy import stats

    return float(stats.t.ppf(p, df))


def estimate(values: Sequence[float]) -> Estimate:
    """mean +- t_{R-1, 0.975} S / sqrt(R)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if n < 2:
        return Estimate(mean=mean, half_width=None, low=None, high=None, n=n)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    hw = t_quantile(n - 1) * math.sqrt(var / n)
    return Estimate(mean=mean, half_width=hw, low=mean - hw, high=mean + hw, n=n)


def _flatten(prefix: str, data: object, out: dict[str, float]) -> None:
    if isinstance(data, bool):
        out[prefix] = float(data)
    elif isinstance(data, int | float):
        out[prefix] = float(data)
    elif isinstance(data, dict):
        for k, v in data.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)


def scalars(run: ReplicationResult) -> dict[str, float]:
    """Every numeric metric of a replication as KIND/NAME/metric (route/chat/latency.p95)."""
    out: dict[str, float] = {}
    for kind, table in (("route", run.routes), ("workload", run.workloads), ("node", run.nodes),
                        ("queue", run.queues), ("store", run.stores), ("external", run.externals)):
        for name, metrics in table.items():
            flat: dict[str, float] = {}
            _flatten("", metrics.model_dump(), flat)
            for k, v in flat.items():
                out[f"{kind}/{name}/{k}"] = v
    out["streams/open"] = run.streams_open
    return out


def aggregate(runs: Iterable[ReplicationResult]) -> dict[str, Estimate]:
    """Per metric over replications; a metric missing in a replication counts as 0 for
    counters (errors by cause) so that every key has one value per replication."""
    per = [scalars(r) for r in runs]
    keys: list[str] = []
    seen: set[str] = set()
    for s in per:
        for k in s:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    return {k: estimate([s.get(k, 0.0) for s in per]) for k in sorted(keys)}
