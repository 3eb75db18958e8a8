"""Eco2 prod at its nominal load: speed against real time, peak memory of one hour.

Figures: simulated seconds per wall second on one core (target >= 100x real time),
and the peak resident memory of a process that simulates one hour of prod traffic
(target < 1 GiB), beside the same process's memory before it runs (the baseline).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROD = ROOT / "topologies" / "eco2-prod.yaml"

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from twin.sim.engine import Simulation
from twin.loading.files import load_topology
topo = load_topology(sys.argv[2])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
sim = Simulation(topo, duration=float(sys.argv[3]), seed=1, warmup=60.0)
result = sim.run()
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
done = sum(r.completed for r in result.routes.values())
print(json.dumps({"before_kib": before, "peak_kib": peak, "wall": wall, "requests": done,
                  "events": len(sim.events)}))
"""


def child(duration: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(PROD), str(duration)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    short = child(600.0)
    hour = child(3600.0)
    speed = 3600.0 / hour["wall"]
    print("Eco2 prod at nominal load (all routes at their topology rates), one core")
    print(f"  10 min simulated : {short['wall']:6.2f} s wall  ({600.0 / short['wall']:7.0f}x real time)")
    print(f"  1 h simulated    : {hour['wall']:6.2f} s wall  ({speed:7.0f}x real time; target >= 100x)")
    print(f"  requests in 1 h  : {hour['requests']}  ({hour['requests'] / hour['wall']:.0f} per wall second)")
    base, peak = hour["before_kib"] / 1024, hour["peak_kib"] / 1024
    print(f"  memory           : {base:6.0f} MiB before the run, {peak:6.0f} MiB peak "
          f"({peak / base:.2f}x the baseline; target < 1024 MiB)")
    print(f"  memory, 10 min   : {short['peak_kib'] / 1024:6.0f} MiB peak "
          "(bounded: an hour costs about what ten minutes do)")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"  (bench took {time.perf_counter() - t:.0f} s)")
