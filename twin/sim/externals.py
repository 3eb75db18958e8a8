"""Dependencies outside the cluster (the LLM provider): latency, 429s and errors.

The rate limit is a token bucket refilled at `rate_limit` per second holding at
most one second's worth; a call finding it empty is answered 429 at once.
`slow` multiplies the latency, for faults such as "the provider is slow".
"""

from __future__ import annotations

from collections.abc import Callable

import simpy

from twin.model.topology import External as ExternalModel
from twin.sim import causes
from twin.sim.sampling import sampler, uniform
from twin.sim.stats import Histogram


class External:
    def __init__(self, env: simpy.Environment, model: ExternalModel, streams: Callable):
        self.env = env
        self.model = model
        self.name = model.name
        self.component = f"external/{model.name}"
        self.sample = sampler(model.latency, streams(f"{self.component}/latency"))
        self.draw = uniform(streams(f"{self.component}/errors"))
        self.rate = model.rate_limit or 0.0
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.last = 0.0
        self.error_rate = model.error_rate
        self.error_cause = causes.from_error_kind(model.error_kind)
        self.timeout = model.timeout
        self.slow = 1.0
        self.down = False
        self.calls = 0
        self.errors: dict[str, int] = {}
        self.latency = Histogram()

    def admit(self) -> bool:
        """Take a token; False means 429."""
        if not self.rate:
            return True
        now = self.env.now
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def call(self, sample: Callable[[], float] | None = None,
             error_rate: float | None = None, error_cause: str | None = None,
             timeout: float | None = None):
        """One call (a SimPy generator): None on success, else the cause."""
        self.calls += 1
        if self.down:
            return self._count(causes.CONNECT_FAILURE)
        if not self.admit():
            return self._count(causes.RATE_LIMITED)
        latency = (sample or self.sample)() * self.slow
        limit = timeout if timeout is not None else self.timeout
        if limit is not None and latency > limit:
            yield self.env.timeout(limit)
            return self._count(causes.TIMEOUT)
        yield self.env.timeout(latency)
        self.latency.add(latency)
        rate = self.error_rate if error_rate is None else error_rate
        if rate and self.draw() < rate:
            return self._count(error_cause or self.error_cause)
        return None

    def _count(self, cause: str) -> str:
        self.errors[cause] = self.errors.get(cause, 0) + 1
        return cause

    def reset_meters(self) -> None:
        self.calls = 0
        self.errors = {}
        self.latency.reset()
