"""Bounded-memory metric primitives: log-bucket histograms, time-averaged levels, stations.

A run of any length keeps a few thousand numbers per metric, never a list per
request. Histogram buckets are 1 % wide (relative), so quantiles are within
1 % of the exact order statistics; count, sum and max are exact.
"""

from __future__ import annotations

import math

_K = 1.0 / math.log1p(0.01)  # bucket index = floor(ln(x) / ln(1.01))
_log = math.log


class Histogram:
    """Durations (seconds) in relative-width buckets; zeros counted apart."""

    __slots__ = ("buckets", "count", "total", "max", "zeros", "total_sq")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.zeros = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.max = 0.0

    def add(self, x: float) -> None:
        self.count += 1
        if x <= 1e-12:
            self.zeros += 1
            return
        self.total += x
        self.total_sq += x * x
        if x > self.max:
            self.max = x
        i = int(_log(x) * _K)
        b = self.buckets
        b[i] = b.get(i, 0) + 1

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    def quantile(self, q: float) -> float:
        """The q-quantile (0..1), at the geometric middle of its bucket."""
        if not self.count:
            return 0.0
        rank = q * self.count
        seen = self.zeros
        if seen >= rank:
            return 0.0
        for i in sorted(self.buckets):
            seen += self.buckets[i]
            if seen >= rank:
                return min(math.exp((i + 0.5) / _K), self.max)
        return self.max

    def fraction_above(self, t: float) -> float:
        """P(X > t), with t inside a bucket counted by linear share."""
        if not self.count:
            return 0.0
        if t <= 0:
            return (self.count - self.zeros) / self.count
        j = _log(t) * _K
        above = 0.0
        for i, n in self.buckets.items():
            if i >= j:
                above += n
            elif i + 1 > j:
                above += n * (i + 1 - j)
        return above / self.count

    def copy(self) -> Histogram:
        out = Histogram()
        out.merge(self)
        return out

    def since(self, earlier: Histogram) -> Histogram:
        """What was added after `earlier` (a copy of this one taken then)."""
        out = Histogram()
        out.count = self.count - earlier.count
        out.zeros = self.zeros - earlier.zeros
        out.total = self.total - earlier.total
        out.total_sq = self.total_sq - earlier.total_sq
        eb = earlier.buckets
        out.buckets = {k: v - eb.get(k, 0) for k, v in self.buckets.items() if v > eb.get(k, 0)}
        out.max = min(self.max, math.exp((max(out.buckets) + 1) / _K)) if out.buckets else 0.0
        return out

    def merge(self, other: Histogram) -> None:
        for i, n in other.buckets.items():
            self.buckets[i] = self.buckets.get(i, 0) + n
        self.count += other.count
        self.zeros += other.zeros
        self.total += other.total
        self.total_sq += other.total_sq
        self.max = max(self.max, other.max)


class Level:
    """A count that goes up and down (requests in a pod, messages in a queue),
    with its time average and maximum since the last reset."""

    __slots__ = ("n", "area", "last", "since", "peak")

    def __init__(self, now: float = 0.0) -> None:
        self.n = 0
        self.area = 0.0
        self.last = now
        self.since = now
        self.peak = 0

    def move(self, now: float, delta: int) -> None:
        self.area += self.n * (now - self.last)
        self.last = now
        self.n += delta
        if self.n > self.peak:
            self.peak = self.n

    def reset(self, now: float) -> None:
        self.area = 0.0
        self.last = now
        self.since = now
        self.peak = self.n

    def mean(self, now: float) -> float:
        span = now - self.since
        if span <= 0:
            return float(self.n)
        return (self.area + self.n * (now - self.last)) / span


class Station:
    """What a queueing station (a pod, a store) measured since the last reset: the number
    inside (L), the visits that left, their total time inside (W = sojourn / visits) and
    their waits for a slot (Wq)."""

    __slots__ = ("inside", "visits", "sojourn", "wait")

    def __init__(self) -> None:
        self.inside = Level()
        self.wait = Histogram()
        self.visits = 0
        self.sojourn = 0.0

    def reset(self, now: float) -> None:
        self.inside.reset(now)
        self.wait.reset()
        self.visits = 0
        self.sojourn = 0.0

    def leave(self, now: float, arrived: float) -> None:
        """A visit that arrived at `arrived` ends now."""
        self.inside.move(now, -1)
        self.visits += 1
        self.sojourn += now - arrived


class Outages:
    """When operations were failing, from their own times: each outage runs from its first
    failure to the first success after it (a trace's exact `failing for`, not a count of
    buckets that held a failure). Never reset at the warm-up: checks window it."""

    __slots__ = ("spans", "failing")

    def __init__(self) -> None:
        self.spans: list[list[float]] = []  # [first failure, last failure, first success after]
        self.failing = False

    def failed(self, now: float) -> None:
        if self.failing:
            self.spans[-1][1] = now
        else:
            self.spans.append([now, now, math.inf])
            self.failing = True

    def ok(self, now: float) -> None:
        """A success; the caller tests `failing` first, so that the hot path pays one test."""
        self.spans[-1][2] = now
        self.failing = False

    def time(self, t0: float, t1: float) -> float:
        """Seconds of [t0, t1] during which operations were failing."""
        total = 0.0
        for start, _last, end in reversed(self.spans):
            if end <= t0:
                break
            total += max(0.0, min(end, t1) - max(start, t0))
        return total

    def until(self, end: float) -> list[tuple[float, float]]:
        """(first failure, first success after) of each outage; one still failing ends at `end`."""
        return [(a, min(c, end)) for a, _b, c in self.spans]
