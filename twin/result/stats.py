"""Output analysis over independent replications: mean and 95 % t confidence interval."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from twin.result.model import Estimate, ReplicationResult

# t_{df, 0.975} for df = 1..30 (scipy.stats.t.ppf); beyond, the Cornish-Fisher
# expansion below is within 2e-6. A table, because importing scipy.stats takes seconds.
_T975 = (12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
         2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.13145, 2.119905,
         2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
         2.059539, 2.055529, 2.051831, 2.048407, 2.04523, 2.042272)
_Z975 = 1.959963984540054


def t975(df: int) -> float:
    """The 0.975 quantile of Student's t with df degrees of freedom."""
    if df < 1:
        raise ValueError("a t quantile needs at least one degree of freedom")
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def estimate(values: Sequence[float]) -> Estimate:
    """mean +- t_{R-1, 0.975} S / sqrt(R)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if n < 2:
        return Estimate(mean=mean, half_width=None, low=None, high=None, n=n)
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    hw = t975(n - 1) * math.sqrt(var / n)
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
