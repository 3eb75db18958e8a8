"""The canary detection sweep's speed: replications per wall second on one core and on two
workers, and the two-worker speed-up against the one-core run measured here (target >= 1.5
on two idle cores).

Each replication is canary-bad-errors (prod, 7 simulated minutes at 3 chats/s, the
progressive analysis with its threshold judge), the unit `twin canary` repeats."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "canary-bad-errors.yaml"


def rate(workers: int, replications: int) -> float:
    from twin.scenario import canary_questions as q

    variants = q.side_by_side(["fixed", "progressive"], ["2%", "10%"])
    t = time.perf_counter()
    q.run(SCENARIO, variants, replications, 1, "local", workers)
    return len(variants) * replications / (time.perf_counter() - t)


def main() -> None:
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    one = rate(1, reps)
    two = rate(2, reps)
    print("canary detection sweep: 4 variants x", reps, "replications of canary-bad-errors")
    print(f"  one core    : {one:6.2f} replications per wall second (baseline, 1.00x)")
    print(f"  two workers : {two:6.2f} replications per wall second ({two / one:.2f}x; "
          "target >= 1.5 on two idle cores)")


if __name__ == "__main__":
    main()
