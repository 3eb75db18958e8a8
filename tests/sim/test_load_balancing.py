"""DestinationRule load balancers over two pods, one four times slower (two-speeds.yaml).

ROUND_ROBIN alternates exactly; RANDOM is Binomial(n, 1/2); LEAST_REQUEST (Envoy's
power of two choices) sends the slow pod less than half, but never less than the
quarter it gets when both random choices land on it.
"""

from __future__ import annotations

from pathlib import Path

from theory_helpers import binomial_ok

from twin.loading.files import load_topology
from twin.sim.engine import Simulation

HERE = Path(__file__).resolve().parent


def split(lb: str, seed: int = 3) -> tuple[int, int, int]:
    """(visits to the fast pod, visits to the slow pod, arrivals)."""
    topo = load_topology(HERE / "two-speeds.yaml", sets=[f"mesh.destination_rules.web.load_balancer={lb}"])
    run = Simulation(topo, duration=300.0, seed=seed).run()
    return run.pods["web-v1-0"].visits, run.pods["web-v2-0"].visits, run.routes["page"].arrivals


def test_round_robin_alternates_exactly() -> None:
    fast, slow, n = split("ROUND_ROBIN")
    assert n > 15_000
    # visits count completed requests: the difference is the alternation (1) plus the few in flight
    assert abs(fast - slow) <= 1 + 4, (fast, slow)
    assert fast + slow >= n - 8


def test_random_is_binomial_one_half() -> None:
    fast, slow, _ = split("RANDOM")
    ok, why = binomial_ok(slow, fast + slow, 0.5)
    assert ok, why
    # and a balancer that favoured one pod 55/45 would have failed
    assert not binomial_ok(slow, fast + slow, 0.45)[0]


def test_least_request_sends_the_slow_pod_less() -> None:
    fast, slow, _ = split("LEAST_REQUEST")
    n = fast + slow
    # RANDOM's interval excludes it: the balancer, not chance, sends less to the slow pod
    assert slow < 0.5 * n and not binomial_ok(slow, n, 0.5)[0], (fast, slow)
    # two choices: the slow pod is chosen whenever both draws land on it (1/4)
    assert slow > 0.25 * n, (fast, slow)
    # and the effect is large: the slow pod takes well under 45 %
    assert slow < 0.45 * n, (fast, slow)
