"""Random streams keyed by component name, spawned from the scenario seed.

A stream depends on the seed and the component's stable name only, never on the
order in which components are created, so what-if variants that add or remove
components still share every other stream (common random numbers). This is what
makes a seed reproducible byte for byte: keep every draw on a named stream.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream(seed: int, name: str, replication: int = 0) -> np.random.Generator:
    """The Generator for one source of randomness (`pod/chat-api-0`, `sentinel/1`)."""
    digest = hashlib.blake2b(name.encode("utf-8"), digest_size=16).digest()
    key = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, replication, *key])))


class Streams:
    """One Generator per name, created on first use."""

    def __init__(self, seed: int, replication: int = 0):
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            gen = self._cache[name] = stream(self.seed, name, self.replication)
        return gen
