"""Queueing theory the simulator is held against, and the what-if screen answers with.

Erlang C (M/M/c), Pollaczek-Khinchine (M/G/1), Jackson networks and exact
Mean Value Analysis of closed networks (formulas: FACTS.md). Times in seconds,
rates per second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def erlang_c(c: int, a: float) -> float:
    """P(wait) in an M/M/c queue with offered load a = lambda / mu (needs a < c)."""
    if a <= 0:
        return 0.0
    if a >= c:
        return 1.0
    # sum_{k<c} a^k/k! and a^c/c!, computed as ratios to avoid overflow
    term = 1.0
    total = 1.0
    for k in range(1, c):
        term *= a / k
        total += term
    top = term * a / c / (1 - a / c)
    return top / (total + top)


@dataclass(frozen=True)
class MMc:
    """An M/M/c queue: arrival rate, service rate per server, servers."""

    lam: float
    mu: float
    c: int

    @property
    def a(self) -> float:
        return self.lam / self.mu

    @property
    def rho(self) -> float:
        return self.a / self.c

    @property
    def p_wait(self) -> float:
        return erlang_c(self.c, self.a)

    @property
    def wq(self) -> float:
        """Mean wait in the queue."""
        return self.p_wait / (self.c * self.mu - self.lam)

    @property
    def w(self) -> float:
        return self.wq + 1 / self.mu

    @property
    def lq(self) -> float:
        return self.lam * self.wq

    @property
    def l(self) -> float:  # noqa: E743 (Little's L)
        return self.lam * self.w

    def wait_above(self, t: float) -> float:
        """P(Wq > t) = C(c, a) exp(-(c mu - lambda) t)."""
        return self.p_wait * math.exp(-(self.c * self.mu - self.lam) * t)

    def wait_quantile(self, q: float) -> float:
        """The q-quantile of the wait (0 when P(wait) <= 1 - q)."""
        tail = 1 - q
        if self.p_wait <= tail:
            return 0.0
        return math.log(self.p_wait / tail) / (self.c * self.mu - self.lam)


def pollaczek_khinchine(lam: float, mean: float, second_moment: float) -> float:
    """Mean wait in an M/G/1 queue: lambda E[S^2] / (2 (1 - rho))."""
    rho = lam * mean
    if rho >= 1:
        return math.inf
    return lam * second_moment / (2 * (1 - rho))


@dataclass(frozen=True)
class JacksonResult:
    rates: list[float]  # arrival rate at each node
    utilisation: list[float]
    in_system: list[float]  # L_i
    sojourn: list[float]  # W_i per visit
    response: float  # end to end W = sum L_i / sum gamma_i


def jackson(gamma: Sequence[float], routing: Sequence[Sequence[float]], mu: Sequence[float],
            servers: Sequence[int]) -> JacksonResult:
    """Open Jackson network: lambda = gamma (I - P)^-1, each node M/M/c_i at lambda_i."""
    import numpy as np

    n = len(gamma)
    p = np.asarray(routing, dtype=float).reshape(n, n)
    lam = np.linalg.solve((np.eye(n) - p).T, np.asarray(gamma, dtype=float))
    nodes = [MMc(float(lam[i]), mu[i], servers[i]) for i in range(n)]
    ls = [q.l for q in nodes]
    return JacksonResult(
        rates=[float(x) for x in lam], utilisation=[q.rho for q in nodes], in_system=ls,
        sojourn=[q.w for q in nodes], response=sum(ls) / sum(gamma))


@dataclass(frozen=True)
class MVAResult:
    throughput: float
    response: float  # sum of R_k
    residence: list[float]
    queue: list[float]


def mva(demands: Sequence[float], users: int, think: float = 0.0) -> MVAResult:
    """Exact MVA for a closed network of single-server queueing stations:
    R_k(n) = D_k (1 + Q_k(n-1)), X(n) = n / (Z + sum R_k(n)), Q_k(n) = X(n) R_k(n)."""
    q = [0.0] * len(demands)
    x = 0.0
    r = [0.0] * len(demands)
    for n in range(1, users + 1):
        r = [d * (1 + qk) for d, qk in zip(demands, q, strict=True)]
        x = n / (think + sum(r))
        q = [x * rk for rk in r]
    return MVAResult(throughput=x, response=sum(r), residence=r, queue=q)


def retry_failure(p: float, attempts: int) -> float:
    """P(a request fails) when each of 1 + attempts independent tries fails with p."""
    return p ** (1 + attempts)


def expected_tries(p: float, attempts: int) -> float:
    """Mean tries per request: 1 + p + ... + p^attempts."""
    return sum(p**k for k in range(attempts + 1))
