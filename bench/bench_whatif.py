"""What-if compute time against a trivial baseline, and the sweep speed-up on two workers.

Prints, for Eco2 prod at 3x chat: the answer's time (queues only, and with the
placement questions: HPA maximum and N-1), as milliseconds and as a ratio to a
baseline measured in the same run (one Erlang C per station, the least any
analytical answer costs); target: the answer under 100 ms. Then a small sweep on
one local worker and on two: the speed-up (target >= 1.5 on two idle cores).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best(fn, rounds: int = 7) -> float:
    out = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def whatif() -> None:
    from twin.capacity.theory import MMc
    from twin.capacity.traffic import compile_network
    from twin.capacity.whatif import answer
    from twin.loading.files import load_topology

    topo = load_topology(ROOT / "topologies/eco2-prod.yaml")
    net = compile_network(topo)
    answer(topo, ["chat=x3"])  # imports and caches warm

    def baseline() -> float:
        return sum(MMc(1.0, 1.0 / max(s.work.mean, 1e-6) * s.servers, s.servers).wq
                   for s in net.stations.values() if s.servers)

    base = best(baseline)
    queues = best(lambda: answer(topo, ["chat=x3"], placement=False))
    full = best(lambda: answer(topo, ["chat=x3"]))
    print(f"what-if on Eco2 prod, chat x3 ({len(net.stations)} stations)")
    print(f"  baseline (Erlang C per station) : {base * 1000:8.2f} ms")
    print(f"  answer, queues and HPAs         : {queues * 1000:8.2f} ms  ({queues / base:6.0f}x baseline)")
    print(f"  answer with fit, N-1, HPA max   : {full * 1000:8.2f} ms  ({full / base:6.0f}x baseline)"
          f"  target < 100 ms")


SWEEP = """\
apiVersion: twin.eco2/v1
kind: Sweep
name: bench
topology: {topology}
axes:
  - {{path: load.req, values: [4/s, 6/s, 8/s]}}
  - {{path: services.api.concurrency, values: [1, 2]}}
duration: 1500s
replications: 2
"""


def sweep() -> None:
    from twin.capacity import sweep as sweeps

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(SWEEP.format(topology=ROOT / "topologies/examples/one-service.yaml"))
        spec, doc = sweeps.load(path)
        points = sweeps.plan(spec, doc)
        walls = {}
        for workers in (1, 2):
            t = time.perf_counter()
            sweeps.run(spec, points, "local", workers)
            walls[workers] = time.perf_counter() - t
    n = len(points) * spec.replications
    print(f"sweep of {n} runs on the local pool")
    print(f"  1 worker  : {walls[1]:6.1f} s")
    print(f"  2 workers : {walls[2]:6.1f} s")
    print(f"  speed-up  : {walls[1] / walls[2]:6.2f}  (target >= 1.5 on two idle cores)")


if __name__ == "__main__":
    whatif()
    sweep()
