"""What users do to the cluster: open arrivals with a rate profile, or closed users.

Open arrivals are Poisson; a rate that changes over time (ramp, step, spike,
diurnal) is drawn by thinning a Poisson stream at the profile's peak rate, so
that the arrival stream of a route depends only on its own random stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from twin.model.errors import ModelError, Problem, no_such
from twin.model.units import parse_duration, parse_rate

PROFILES = ("constant", "ramp", "step", "spike", "diurnal")


@dataclass(frozen=True)
class Load:
    """Open arrivals on one route.

    constant: `rate`. ramp: from `start` to `rate` between `at` and `at + length`.
    step: `start` until `at`, then `rate`. spike: `rate`, times `factor` during
    [`at`, `at + length`). diurnal: `rate` x (1 + `amplitude` sin(2 pi t / `period`)).
    """

    route: str
    rate: float
    profile: str = "constant"
    start: float = 0.0
    at: float = 0.0
    length: float = 60.0
    factor: float = 3.0
    amplitude: float = 0.5
    period: float = 86400.0

    def rate_at(self, t: float) -> float:
        p = self.profile
        if p == "constant":
            return self.rate
        if p == "ramp":
            if t <= self.at:
                return self.start
            if t >= self.at + self.length:
                return self.rate
            return self.start + (self.rate - self.start) * (t - self.at) / self.length
        if p == "step":
            return self.start if t < self.at else self.rate
        if p == "spike":
            return self.rate * (self.factor if self.at <= t < self.at + self.length else 1.0)
        return max(0.0, self.rate * (1 + self.amplitude * math.sin(2 * math.pi * t / self.period)))

    @property
    def peak(self) -> float:
        p = self.profile
        if p in ("ramp", "step"):
            return max(self.start, self.rate)
        if p == "spike":
            return self.rate * max(1.0, self.factor)
        if p == "diurnal":
            return self.rate * (1 + abs(self.amplitude))
        return self.rate


@dataclass(frozen=True)
class ClosedUsers:
    """`users` users each sending one request, waiting for the answer, then thinking
    for an exponential time of mean `think` seconds."""

    route: str
    users: int
    think: float = 1.0


@dataclass
class Loads:
    open: dict[str, Load] = field(default_factory=dict)
    closed: dict[str, ClosedUsers] = field(default_factory=dict)

    def describe(self) -> dict[str, str]:
        out = {n: (f"{ld.rate:g}/s" if ld.profile == "constant" else f"{ld.rate:g}/s {ld.profile}")
               for n, ld in self.open.items()}
        out.update({n: f"{c.users} users, think {c.think:g}s" for n, c in self.closed.items()})
        return out


LoadInput = Mapping[str, "float | str | Load | ClosedUsers"] | list | None


def resolve(topology, loads: LoadInput = None) -> Loads:
    """Every route at its nominal rate, with the given routes overridden.

    `loads` maps a route to a rate (`300`, `"300/s"`, `"5/m"`), a Load or ClosedUsers;
    a list of `ROUTE=RATE` strings (the CLI's --load) is accepted too.
    """
    if isinstance(loads, Loads):
        return loads
    given: dict = {}
    problems: list[Problem] = []
    if isinstance(loads, list | tuple):
        for text in loads:
            try:
                given.update(parse_load(text))
            except ModelError as e:  # every --load's problem at once
                problems += e.problems
    elif loads:
        given = dict(loads)
    names = [r.name for r in topology.routes]
    problems += [Problem(f"--load {k}", 0, 0, k, no_such("route", k, names))
                 for k in given if k not in names]
    if problems:
        raise ModelError(problems)
    out = Loads()
    for r in topology.routes:
        spec = given.get(r.name, r.rate)
        if isinstance(spec, ClosedUsers):
            out.closed[r.name] = spec
        elif isinstance(spec, Load):
            out.open[r.name] = spec
        else:
            out.open[r.name] = Load(r.name, parse_rate(spec))
    return out


def parse_load(text: str) -> dict[str, Load | ClosedUsers]:
    """`ROUTE=RATE`, optionally `ROUTE=RATE:PROFILE:key=value,...`, or `ROUTE=users:N:think=2s`.

    Examples: `chat=300`, `chat=5/m`, `chat=30:spike:at=60s,length=30s,factor=4`,
    `login=users:50:think=2s`.
    """
    where = Problem(f"--load {text}", 0, 0, "", "")
    if "=" not in text:
        raise ModelError([Problem(where.file, 0, 0, "", "expected ROUTE=RATE (e.g. chat=300/s)")])
    route, spec = text.split("=", 1)
    route = route.strip()
    parts = spec.split(":")
    try:
        if parts[0] == "users":
            opts = _options(parts[2] if len(parts) > 2 else "")
            return {route: ClosedUsers(route, int(parts[1]), parse_duration(opts.get("think", "1s")))}
        rate = parse_rate(parts[0])
        if len(parts) == 1:
            return {route: Load(route, rate)}
        profile = parts[1]
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r} (use {', '.join(PROFILES)})")
        opts = _options(parts[2] if len(parts) > 2 else "")
        kw: dict = {}
        for key in ("at", "length", "period"):
            if key in opts:
                kw[key] = parse_duration(opts[key])
        if "start" in opts:
            kw["start"] = parse_rate(opts["start"])
        for key in ("factor", "amplitude"):
            if key in opts:
                kw[key] = float(opts[key])
        return {route: Load(route, rate, profile, **kw)}
    except (ValueError, IndexError) as e:
        raise ModelError([Problem(where.file, 0, 0, route, str(e))]) from None


def _options(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


def thinning(load: Load, draw: Callable[[], float]) -> Callable[[float], bool] | None:
    """Accept an arrival at time t with probability rate(t) / peak; None: a constant
    rate accepts every arrival (no call per arrival)."""
    if load.profile == "constant":
        return None
    peak = load.peak or 1.0
    return lambda t: draw() * peak < load.rate_at(t)
