"""HPA timing and arithmetic as FACTS.md gives it, on a small stand-in workload.

The stand-in spreads a CPU demand (cores) evenly over its ready pods; pods take
`startup` seconds to become ready, and past `capacity` pods stay Pending.
Each rule has a test that a model without the rule fails.
"""

from __future__ import annotations

import math

import simpy

from twin.model.topology import HPA
from twin.sim.hpa import HPAController, PodSample

REQUEST = 0.5  # cores per pod


class StandIn:
    """Pods of one Deployment: started by scale_to, ready after startup, Pending past capacity."""

    def __init__(self, env: simpy.Environment, replicas: int, demand: float,
                 startup: float = 5.0, capacity: int = 1000):
        self.env = env
        self.demand = demand
        self.startup = startup
        self.capacity = capacity
        self.started: list[float] = []  # creation time of each pod, oldest first
        for _ in range(replicas):
            self.started.append(-1000.0)

    def replicas(self) -> int:
        return len(self.started)

    def scale_to(self, n: int) -> None:
        while len(self.started) < n:
            self.started.append(self.env.now)
        del self.started[n:]  # scale-down removes the newest pods

    def pods(self) -> list[PodSample]:
        now = self.env.now
        ready = [
            i for i, t in enumerate(self.started)
            if i < self.capacity and now - t >= self.startup
        ]
        share = self.demand / max(len(ready), 1) / REQUEST * 100.0
        out = []
        for i, t in enumerate(self.started):
            if i >= self.capacity:
                out.append(PodSample(f"p{i}", phase="Pending", ready=False))
            elif i in ready:
                out.append(PodSample(f"p{i}", ready=True, ready_since=t + self.startup,
                                     utilisation=share))
            else:
                out.append(PodSample(f"p{i}", ready=False, utilisation=None))
        return out

    def ready(self) -> int:
        return sum(1 for p in self.pods() if p.ready)


def run(hpa: HPA, replicas: int, demand: float, until: float, **kw):
    env = simpy.Environment()
    w = StandIn(env, replicas, demand, **kw)
    events: list[tuple[float, str, str, str]] = []
    c = HPAController(env, hpa, "chat-api", w.pods, w.replicas, w.scale_to,
                      lambda *e: events.append(e))
    return env, w, c, events


def test_settles_at_ceil_current_times_metric_over_target():
    # 3 cores of demand on 0.5-core pods at 50 % target: ceil(1 x 600 / 50) = 12 pods
    hpa = HPA(min=1, max=20, target=50)
    env, w, c, _ = run(hpa, 1, demand=3.0, until=0)
    env.run(until=400)
    assert w.replicas() == math.ceil(3.0 / (REQUEST * 0.5)) == 12
    # and stays there: the last syncs propose no change
    assert all(cur == des == 12 for _, cur, des in c.history[-5:])


def test_settles_within_max_bound():
    hpa = HPA(min=1, max=6, target=50)
    env, w, _, _ = run(hpa, 1, demand=3.0, until=0)
    env.run(until=400)
    assert w.replicas() == 6


def test_tolerance_band_keeps_replicas():
    # 4 pods at 54 % against 50 %: ratio 1.08 is within 0.1, no change;
    # without the band the HPA would go to ceil(4 x 1.08) = 5
    hpa = HPA(min=1, max=20, target=50)
    env, w, _, events = run(hpa, 4, demand=4 * REQUEST * 0.54, until=0)
    env.run(until=200)
    assert w.replicas() == 4
    assert not events
    # at 56 % (ratio 1.12, outside the band) it scales to ceil(4 x 1.12) = 5
    env, w, _, _ = run(hpa, 4, demand=4 * REQUEST * 0.56, until=0)
    env.run(until=200)
    assert w.replicas() == 5


def test_scale_up_at_most_max_double_or_four_pods_per_period():
    # a huge demand: every step may at most double or add 4, whichever is more
    hpa = HPA(min=1, max=100, target=50, initial_readiness_delay=0.0)
    env, w, c, events = run(hpa, 1, demand=40.0, until=0, startup=0.0)
    env.run(until=200)
    sizes = [1] + [int(e[3].split(";")[0].split()[-1]) for e in events]
    assert sizes[:5] == [1, 5, 10, 20, 40]
    for a, b in zip(sizes, sizes[1:], strict=False):
        assert b <= max(2 * a, a + 4)
    assert w.replicas() == 100


def test_scale_down_waits_for_the_stabilisation_window():
    hpa = HPA(min=1, max=20, target=50)
    env, w, c, events = run(hpa, 1, demand=3.0, until=0)
    env.run(until=400)
    assert w.replicas() == 12
    w.demand = 1.0  # load drops at t=400; 1 core at 50 % of 0.5 = 4 pods
    # the last sync that recommended 12 ran at t=390; the 4s win once it is 300 s old
    env.run(until=390 + 300 - 1)
    assert w.replicas() == 12, "scaled down inside the 300 s window"
    env.run(until=390 + 300 + 1)
    assert w.replicas() == 4
    assert [t for t, cur, des in c.history if des < cur] == [690.0]


def test_stabilisation_takes_the_highest_recommendation_in_the_window():
    hpa = HPA(min=1, max=20, target=50)
    env, w, c, _ = run(hpa, 1, demand=3.0, until=0)
    env.run(until=400)
    w.demand = 1.0
    env.run(until=500)
    w.demand = 2.0  # recommends 8 from t=500 on; 12 leaves the window at ~700
    env.run(until=590)
    w.demand = 1.0  # recommends 4 again; the 8s of 500..590 rule until ~890
    env.run(until=750)
    assert w.replicas() == 8
    env.run(until=905)
    assert w.replicas() == 4


def test_new_pods_cpu_ignored_during_readiness_delay():
    # one pod at 400 %, scaled to 5 at t=0; the new pods are ready at t=5 and the load
    # spreads to 80 % each. While their CPU is ignored (till t=35) the HPA sees one pod
    # at 80 % plus four unready pods counted as 0 %: no change. From t=45 it sees 80 % on 5.
    hpa = HPA(min=1, max=20, target=50)
    env, w, c, events = run(hpa, 1, demand=2.0, until=0)
    env.run(until=1)
    assert w.replicas() == 5
    env.run(until=31)
    assert w.replicas() == 5, "the new pods' CPU counted before the readiness delay"
    env.run(until=46)
    assert w.replicas() == 8


def test_pending_pods_count_as_desired_but_not_ready():
    # the pool holds 3 pods; the HPA wants 12 and keeps the Pending ones in its count
    hpa = HPA(min=1, max=12, target=50)
    env, w, c, _ = run(hpa, 1, demand=3.0, until=0, capacity=3)
    env.run(until=600)
    assert w.replicas() == 12
    assert w.ready() == 3
    assert sum(1 for p in w.pods() if p.phase == "Pending") == 9


def test_queue_length_metric():
    hpa = HPA(min=2, max=10, metric="queue_length", queue="scan-tasks", target=20)
    env = simpy.Environment()
    n = [2]
    messages = [150.0]
    c = HPAController(env, hpa, "scan-worker", lambda: messages[0], lambda: n[0],
                      lambda k: n.__setitem__(0, k), lambda *e: None)
    env.run(until=1)
    assert n[0] == 6  # ceil(150 / 20) = 8, but at most 2 + 4 per period
    env.run(until=16)
    assert n[0] == 8  # 150 / (20 x 6) = 1.25: on to 8
    messages[0] = 175.0  # 175 / (20 x 8) = 1.09: inside the tolerance, stays 8
    env.run(until=100)
    assert n[0] == 8
    assert c.desired == 8


def test_stops_while_the_control_plane_is_down():
    class CP:
        available = True

    cp = CP()
    hpa = HPA(min=1, max=20, target=50)
    env = simpy.Environment()
    w = StandIn(env, 1, 3.0)
    HPAController(env, hpa, "chat-api", w.pods, w.replicas, w.scale_to, lambda *e: None,
                  control_plane=cp)
    cp.available = False
    env.run(until=300)
    assert w.replicas() == 1
    cp.available = True
    env.run(until=700)
    assert w.replicas() == 12


def test_on_the_core_pods_settles_and_leaves_pending_pods():
    """The HPA on a core Deployment: CPU from the pods' meters, Pending pods past the pool."""
    from twin.graph.placement import Node
    from twin.model.topology import Placement
    from twin.sim.cluster import Cluster, Deployment
    from twin.sim.hpa import attach
    from twin.sim.pod import Pod

    env = simpy.Environment()
    events: list = []
    nodes = [Node("w1", "app", "worker", {"kubernetes.io/hostname": "w1"}, (), 2.0, 2**34)]
    cluster = Cluster(env, nodes, lambda *e: events.append(e))

    def make(name: str) -> Pod:
        return Pod(name, "chat-api", "service", {}, Placement(), REQUEST, 2**28)

    dep = Deployment(cluster, "chat-api", "chat-api", "service", "Deployment", 1, make, startup=5)
    cluster.deployments = {"chat-api": dep}
    dep.reconcile(startup=0.0)
    demand = [1.5]  # cores, spread over ready pods

    def burn():
        while True:
            ready = dep.ready
            for p in ready:
                p.meters.cpu_seconds += demand[0] / len(ready) * 1.0
            yield env.timeout(1.0)

    env.process(burn())
    hpa = HPA(min=1, max=10, target=50)
    attach(env, hpa, dep, lambda *e: events.append(e))
    env.run(until=400)
    # 1.5 cores at 50 % of 0.5 wants 6 pods; the node holds 4 (2 cores / 0.5)
    assert dep.desired == 6
    assert len(dep.ready) == 4
    assert sum(1 for p in dep.pods if p.phase == "Pending") == 2
    demand[0] = 0.75  # wants 3; the Pending pods go first, after the 300 s window
    env.run(until=1200)
    assert dep.desired == 3 and len(dep.ready) == 3


def test_install_on_the_prod_topology():
    from twin.loading.files import load_topology
    from twin.sim.engine import Simulation
    from twin.sim.hpa import install

    topo = load_topology("topologies/eco2-prod.yaml")
    sim = Simulation(topo, loads={"chat": 2}, duration=120, seed=1)
    hpas = install(sim)
    with_hpa = {w.name for w in topo.workloads if w.hpa is not None}
    assert {sim.cluster.deployments[c.name].workload for c in hpas} == with_hpa
    sim.run()
    assert all(c.history for c in hpas)
