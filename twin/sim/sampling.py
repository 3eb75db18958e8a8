"""Fast draws from the model's distributions.

Numpy draws one value slowly and a thousand quickly, so every sampler draws a
block at a time and hands values out through a generator's `__next__`: a
sample costs about as much as a function call, and the sequence depends only
on the stream (the component's name and the seed), never on who else draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from twin.model.base import Distribution

BLOCK = 2048
Z99 = 2.3263478740408408


def _blocks(draw: Callable[[int], np.ndarray]) -> Iterator[float]:
    while True:
        yield from draw(BLOCK).tolist()


def lognormal_parameters(dist: Distribution) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal, from mean and cv or median and p99."""
    if dist.median is not None and dist.p99 is not None:
        return math.log(dist.median), math.log(dist.p99 / dist.median) / Z99
    sigma2 = math.log(1.0 + (dist.cv or 1.0) ** 2)
    return math.log(float(dist.mean)) - sigma2 / 2, math.sqrt(sigma2)


def sampler(dist: Distribution, gen: np.random.Generator, scale: float = 1.0) -> Callable[[], float]:
    """A zero-argument function returning the next duration in seconds."""
    if dist.dist == "constant":
        value = float(dist.value) * scale
        return lambda: value
    if dist.dist == "exponential":
        mean = float(dist.mean) * scale
        return _blocks(lambda n: gen.exponential(mean, n)).__next__
    if dist.dist == "uniform":
        low, high = float(dist.low) * scale, float(dist.high) * scale
        return _blocks(lambda n: gen.uniform(low, high, n)).__next__
    if dist.dist == "empirical":
        values = np.asarray(dist.samples, dtype=float) * scale
        return _blocks(lambda n: gen.choice(values, n)).__next__
    mu, sigma = lognormal_parameters(dist)
    mu += math.log(scale) if scale > 0 else 0.0
    return _blocks(lambda n: gen.lognormal(mu, sigma, n)).__next__


def uniform(gen: np.random.Generator) -> Callable[[], float]:
    """Uniform [0, 1) draws, for error rates, branches and weighted choices."""
    return _blocks(lambda n: gen.random(n)).__next__


def exponential(gen: np.random.Generator, mean: float) -> Callable[[], float]:
    """Exponential draws with a fixed mean (Poisson inter-arrival times)."""
    return _blocks(lambda n: gen.exponential(mean, n)).__next__
