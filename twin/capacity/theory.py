"""Queueing theory the simulator is held against, and the what-if screen answers with.

Erlang C (M/M/c), Pollaczek-Khinchine (M/G/1), the Allen-Cunneen approximation
for M/G/c (exact for M/G/1 and M/M/c), Jackson networks, exact Mean Value
Analysis of closed networks, Seidmann's multi-server stations for MVA and
Schweitzer's approximate MVA for many users (formulas: Kleinrock, Queueing Systems vol. 1; Lazowska et al.,
Quantitative System Performance, ch. 6-7). Times in seconds, rates per second.
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


def mgc_wait(lam: float, mean: float, scv: float, c: int, ca2: float = 1.0) -> float:
    """Mean wait in a GI/G/c queue by Allen-Cunneen: Wq(M/M/c) x (ca^2 + cs^2) / 2.

    scv: the squared coefficient of variation of the service time (1 exponential,
    0 constant); ca2 that of the inter-arrival times (1 for Poisson). Exact for
    M/G/1 (it is Pollaczek-Khinchine) and for M/M/c; inf when rho >= 1.
    """
    if lam <= 0:
        return 0.0
    a = lam * mean
    if a >= c:
        return math.inf
    return erlang_c(c, a) / (c / mean - lam) * (ca2 + scv) / 2


def servers_for(offered: float, servers_per_queue: int, most: float = 1.0) -> int:
    """The fewest queues of `servers_per_queue` servers that keep the utilisation of each,
    offered / (k c), below `most` (strictly below when most is 1: a queue at rho 1 grows)."""
    if offered <= 0:
        return 1
    k = math.ceil(offered / (servers_per_queue * most) - 1e-12)
    if most >= 1.0 and offered / (k * servers_per_queue) >= 1.0:
        k += 1
    return max(1, k)


@dataclass(frozen=True)
class Station:
    """A station of a closed network: demand D_k = visits x service time, c servers
    (c = 0: a delay station, no queue)."""

    demand: float
    servers: int = 1


def seidmann(stations: Sequence[Station]) -> tuple[list[float], float]:
    """Seidmann's approximation: a c-server station of demand D as a single server of
    demand D / c and a delay of D (c - 1) / c. Returns (queueing demands, total delay)."""
    queueing: list[float] = []
    delay = 0.0
    for s in stations:
        if s.servers <= 0:
            delay += s.demand
        else:
            queueing.append(s.demand / s.servers)
            delay += s.demand * (s.servers - 1) / s.servers
    return queueing, delay


def mva_stations(stations: Sequence[Station], users: int, think: float = 0.0,
                 exact_up_to: int = 2000) -> MVAResult:
    """MVA of a closed network with multi-server and delay stations (Seidmann).

    Exact MVA for up to `exact_up_to` users; beyond, Schweitzer's fixed point
    Q_k(n-1) ~ (n-1)/n Q_k(n), which costs the same at any population. The
    response includes the delay stations' time; residence lists the queueing ones.
    """
    queueing, delay = seidmann(stations)
    if users <= exact_up_to:
        res = mva(queueing, users, think + delay)
    else:
        res = schweitzer(queueing, users, think + delay)
    return MVAResult(throughput=res.throughput, response=res.response + delay,
                     residence=res.residence, queue=res.queue)


def schweitzer(demands: Sequence[float], users: int, think: float = 0.0,
               tolerance: float = 1e-9, rounds: int = 10_000) -> MVAResult:
    """Schweitzer-Bard approximate MVA for a closed network of single-server stations."""
    k = len(demands)
    n = float(users)
    q = [n / max(1, k)] * k
    x = 0.0
    r = [0.0] * k
    for _ in range(rounds):
        r = [d * (1 + (n - 1) / n * qk) for d, qk in zip(demands, q, strict=True)]
        x = n / (think + sum(r)) if think + sum(r) > 0 else 0.0
        new = [x * rk for rk in r]
        if max((abs(a - b) for a, b in zip(new, q, strict=True)), default=0.0) < tolerance * n:
            q = new
            break
        q = new
    return MVAResult(throughput=x, response=sum(r), residence=r, queue=q)


def retry_failure(p: float, attempts: int) -> float:
    """P(a request fails) when each of 1 + attempts independent tries fails with p."""
    return p ** (1 + attempts)


def expected_tries(p: float, attempts: int) -> float:
    """Mean tries per request: 1 + p + ... + p^attempts."""
    return sum(p**k for k in range(attempts + 1))
