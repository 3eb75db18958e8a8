"""Twin's M/M/c against a minimal hand-written SimPy M/M/c, in the same process.

Prints customers per wall second of both and their ratio (target >= 0.5, aim 1.0).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LAM, MU, C, HORIZON = 32.0, 10.0, 4, 20000.0  # rho 0.8


def minimal(seed: int = 1) -> int:
    """The textbook SimPy M/M/c: a process per customer, a Resource with c servers."""
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=C)
    served = [0]

    def customer():
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(MU))
        served[0] += 1

    def source():
        while True:
            yield env.timeout(rng.expovariate(LAM))
            env.process(customer())

    env.process(source())
    env.run(until=HORIZON)
    return served[0]


def twin(seed: int = 1) -> int:
    from twin.loading.files import load_topology
    from twin.sim.engine import Simulation

    topo = load_topology(ROOT / "topologies/examples/one-service.yaml",
                         sets=[f"services.api.concurrency={C}", f"routes.req.rate={LAM}"])
    result = Simulation(topo, duration=HORIZON, seed=seed).run()
    return result.routes["req"].completed


def rate(fn, seed: int) -> float:
    start = time.perf_counter()
    n = fn(seed)
    return n / (time.perf_counter() - start)


def main() -> None:
    # alternate the two, best of three each: a burst of other work on the machine then
    # slows one round of both rather than one side of the ratio
    base = ours = 0.0
    for seed in (1, 2, 3):
        base = max(base, rate(minimal, seed))
        ours = max(ours, rate(twin, seed))
    print(f"M/M/{C} at rho {LAM / (C * MU):.1f}, {HORIZON:g} simulated seconds")
    print(f"  minimal SimPy : {base:10.0f} customers/s")
    print(f"  twin.sim      : {ours:10.0f} customers/s")
    print(f"  ratio         : {ours / base:10.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
