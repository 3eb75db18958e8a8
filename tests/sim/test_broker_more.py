"""RabbitMQ channels under worker failures: when unacked messages come back.

Each test publishes a handful of messages straight into a queue of a small
topology (one API node, two worker nodes, one worker Deployment) and reads the
broker's own counters and events at exact simulated times, so a requeue at the
wrong moment (when the dead task would have ended, at NotReady instead of the
heartbeat) or a prefetch that does not hold fails the assertion.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load_topology
from twin.model.topology import Topology
from twin.sim import load as sim_load
from twin.sim.engine import Simulation
from twin.sim.flows import Request, RouteRuntime

TOPOLOGY = """
apiVersion: twin.eco2/v1
kind: Topology
cluster: {{name: broker-test}}
pools:
  - name: control-plane
    role: control-plane
    taints: [{{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}}]
    cpu: "2"
    memory: 4Gi
    nodes: [{{name: master}}]
  - name: app
    cpu: "8"
    memory: 16Gi
    nodes: [{{name: worker-1}}, {{name: worker-2}}]
namespaces:
  - {{name: demo, tier: business-logic, domain: demo}}
workers:
  - name: w
    namespace: demo
    queue: jobs
    replicas: {replicas}
    concurrency: 1
    prefetch: {prefetch}
    acks_late: {acks_late}
    startup: 5s
    service_time: {{dist: constant, value: 10ms}}
stores:
  - name: rabbitmq
    kind: rabbitmq
    namespace: demo
    consumer_timeout: {consumer_timeout}
    queues: [{{name: jobs}}]
routes: []
"""


class Sleep:
    """A task step that takes `seconds` (the long or short part of a task)."""

    on_failure = "fail"

    def __init__(self, env, seconds: float):  # noqa: ANN001 - a simpy Environment
        self.env = env
        self.seconds = seconds

    def run(self, req: Request, pod: object):  # noqa: ANN201 - a SimPy generator
        yield self.env.timeout(self.seconds)
        return None


class Message:
    """What a PublishPlan carries: the steps the worker runs."""

    def __init__(self, steps: list):
        self.steps = steps


def topo(tmp_path: Path, *, replicas: int = 1, prefetch: int = 4, acks_late: bool = True,
         consumer_timeout: str = "30m") -> Topology:
    path = tmp_path / "t.yaml"
    path.write_text(TOPOLOGY.format(replicas=replicas, prefetch=prefetch,
                                    acks_late=str(acks_late).lower(),
                                    consumer_timeout=consumer_timeout))
    return load_topology(str(path))


def publish(sim: Simulation, t: float, seconds: float, done: dict[str, float], key: str) -> None:
    """At time t, one message whose task takes `seconds`; done[key] = when it settled."""
    route = RouteRuntime(key, asynchronous=True)

    def put(s: Simulation) -> None:
        req = Request(route, s.env.now)
        req.pending = 1
        req.synced = True
        s.queues["jobs"].publish([req, Message([Sleep(s.env, seconds)]), s.env.now])

    sim.schedule(t, put)
    original = sim.flows.done

    def done_hook(req: Request) -> None:
        done.setdefault(req.route.name, sim.env.now)
        original(req)

    sim.flows.done = done_hook


def events(sim: Simulation, event: str) -> list[float]:
    return [t for t, _, e, _ in sim.events if e == event]


def sim_of(t: Topology, duration: float) -> Simulation:
    return Simulation(t, sim_load.Loads(), duration=duration, seed=5)


def test_killed_worker_requeues_its_unacked_at_once(tmp_path: Path) -> None:
    sim = sim_of(topo(tmp_path), 60)
    done: dict[str, float] = {}
    publish(sim, 1, 20, done, "a")
    q = sim.queues["jobs"]
    seen: dict[str, int] = {}
    sim.schedule(10, lambda s: s.kill("pod/w-0"))
    sim.schedule(10.001, lambda s: seen.setdefault("requeued", q.requeued))
    sim.run()
    assert seen["requeued"] == 1  # at the kill, not when the task would have ended (t=21)
    assert events(sim, "ChannelClosed") == [pytest.approx(10)]
    # the replacement pod (ready 5 s later) runs it again from the start: 10 + 5 + 20
    assert done["a"] == pytest.approx(35, abs=0.1)
    assert q.lost == 0


def test_killed_worker_acks_early_loses_the_running_task_at_once(tmp_path: Path) -> None:
    sim = sim_of(topo(tmp_path, acks_late=False), 60)
    done: dict[str, float] = {}
    publish(sim, 1, 20, done, "a")
    q = sim.queues["jobs"]
    sim.schedule(10, lambda s: s.kill("pod/w-0"))
    seen: dict[str, int] = {}
    sim.schedule(10.001, lambda s: seen.setdefault("lost", q.lost))
    sim.run()
    assert seen["lost"] == 1 and q.requeued == 0
    assert done["a"] == pytest.approx(10)  # settled as lost at the crash


def test_vanished_node_requeues_after_the_heartbeat(tmp_path: Path) -> None:
    t = topo(tmp_path)
    sim = sim_of(t, 150)
    done: dict[str, float] = {}
    publish(sim, 1, 200, done, "a")
    q = sim.queues["jobs"]
    node = sim.pods("w")[0].node.name
    seen: dict[float, int] = {}
    sim.schedule(10, lambda s: s.node_down(f"node/{node}"))
    for at in (65.0, 69.9, 70.1):  # NotReady comes at ~50-65 s: the broker does not care
        sim.schedule(at, lambda s, at=at: seen.setdefault(at, q.requeued))
    sim.run()
    heartbeat = t.stores[0].heartbeat
    assert heartbeat == 60
    assert seen[65.0] == 0 and seen[69.9] == 0 and seen[70.1] == 1
    assert events(sim, "ChannelClosed") == [pytest.approx(10 + heartbeat)]


def test_consumer_timeout_closes_the_channel_and_requeues_all_its_unacked(tmp_path: Path) -> None:
    sim = sim_of(topo(tmp_path, consumer_timeout="100s"), 200)
    done: dict[str, float] = {}
    for i in range(3):  # one runs, two wait prefetched behind it
        publish(sim, 1 + i * 0.1, 500, done, f"m{i}")
    q = sim.queues["jobs"]
    seen: dict[str, int] = {}
    sim.schedule(119, lambda s: seen.setdefault("before", q.requeued))
    sim.run()
    closed = events(sim, "ChannelClosed")
    # checked once a minute: the first check past 1 + 100 s is at 120 s
    assert closed[0] == pytest.approx(120)
    assert seen["before"] == 0
    assert q.requeued >= 3
    pod = sim.pods("w")[0]
    assert pod.phase == "Ready" and pod in q.consumers  # the worker opens a new channel


def test_consumer_timeout_counts_prefetched_messages_with_acks_early(tmp_path: Path) -> None:
    sim = sim_of(topo(tmp_path, acks_late=False, consumer_timeout="100s"), 200)
    done: dict[str, float] = {}
    for i in range(3):
        publish(sim, 1 + i * 0.1, 500, done, f"m{i}")
    q = sim.queues["jobs"]
    seen: dict[str, int] = {}
    sim.schedule(120.001, lambda s: seen.setdefault("at", q.requeued))
    sim.run()
    assert events(sim, "ChannelClosed")[0] == pytest.approx(120)
    assert seen["at"] == 2  # the two prefetched; the running one was acked at start
    assert q.lost == 0


@pytest.mark.parametrize(("prefetch", "acks_late", "held"), [
    (4, False, True),   # Celery's default: the busy worker reserves the next messages
    (1, False, True),   # acked at start, so one more is reserved while the long task runs
    (1, True, False),   # acks_late + prefetch 1: nothing waits behind the long task
])
def test_prefetch_holds_short_tasks_behind_a_long_one(tmp_path: Path, prefetch: int,
                                                      acks_late: bool, held: bool) -> None:
    sim = sim_of(topo(tmp_path, replicas=2, prefetch=prefetch, acks_late=acks_late), 200)
    done: dict[str, float] = {}
    publish(sim, 1.0, 100, done, "long")
    for i in range(4):  # short tasks, one every 2 s: the other worker is idle for each
        publish(sim, 2.0 + 2 * i, 0.5, done, f"short{i}")
    sim.run()
    waits = [done[f"short{i}"] - (2.0 + 2 * i) for i in range(4)]
    if held:
        assert max(waits) > 90  # one short task ran only after the 100 s one
    else:
        assert max(waits) < 1.0
    assert done["long"] == pytest.approx(101, abs=0.1)
