"""What one request carries while in flight, and what a route measures of its requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from twin.sim.stats import Histogram, Level, Outages

if TYPE_CHECKING:
    from twin.sim.pod import Pod


class Request:
    """One user request in flight: what the end-to-end measurement needs, nothing more."""

    __slots__ = ("route", "t0", "pending", "failed", "stream_pod", "synced", "last", "degraded",
                 "accepted", "closed")

    def __init__(self, route: RouteRuntime, t0: float):
        self.route = route
        self.t0 = t0
        self.pending = 0
        self.failed: str | None = None
        self.stream_pod: Pod | None = None
        self.synced = False
        self.accepted = False  # the synchronous part answered without error
        self.last = t0
        self.degraded = 0
        self.closed: simpy.Event | None = None  # fires when an asynchronous request ends


class RouteRuntime:
    """A route's plans (twin.sim.flows.interpreter.Plan) and its meters (reset at the end
    of the warm-up)."""

    def __init__(self, name: str, asynchronous: bool, plans: list | None = None):
        self.name = name
        self.component = f"route/{name}"
        self.asynchronous = asynchronous
        self.plans = plans or []
        self.inflight = Level()
        self.latency = Histogram()
        self.e2e = Histogram()
        self.interval = Histogram()
        self.open = 0  # asynchronous requests begun and not yet ended: a level, never reset
        self.outages = Outages()  # when its requests were failing, by their own times; never reset
        self.reset_meters(0.0)

    def reset_meters(self, now: float) -> None:
        self.inflight.reset(now)
        self.latency.reset()
        self.e2e.reset()
        self.arrivals = 0
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.e2e_ok = 0
        self.e2e_errors: dict[str, int] = {}
        self.turns_failed = 0  # accepted (the API answered), then failed in an asynchronous part
        self.degraded = 0
        self.iv_errors = 0
        self.events_lost = 0        # SSE events that never reached the user's stream
        self.events_duplicated = 0  # SSE events delivered twice (stream entries redelivered)
