"""Slots: the hot path's acquire and release, held against SimPy's own Resource.

The same arrivals and holding times through `Slots` and through `simpy.Resource`
must give every customer the same start time (FIFO, `capacity` at once); a
refused line answers False; a process that dies leaves its holders' releases
with the old slots.
"""

from __future__ import annotations

import random

import simpy

from twin.model.topology import Placement
from twin.sim.pod import Pod
from twin.sim.slots import Pool, Slots


def _starts(use_slots: bool, capacity: int = 3, n: int = 400, seed: int = 5) -> list[float]:
    """Each customer's wait for a slot (rho 0.83, so most wait now and then)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    starts: list[float] = [0.0] * n
    slots = Slots(capacity)
    resource = simpy.Resource(env, capacity=capacity)

    def customer(i: int, hold: float):  # noqa: ANN202 - a SimPy process
        arrived = env.now
        if use_slots:
            queued = slots.take(env)
            if queued is not None:
                assert (yield queued) is True
            starts[i] = env.now - arrived
            yield env.timeout(hold)
            slots.give()
        else:
            with resource.request() as req:
                yield req
                starts[i] = env.now - arrived
                yield env.timeout(hold)

    def source():  # noqa: ANN202
        for i in range(n):
            yield env.timeout(rng.expovariate(2.5))
            env.process(customer(i, rng.expovariate(1.0)))

    env.process(source())
    env.run()
    if use_slots:
        assert slots.busy == 0 and not slots.waiting
    return starts


def test_slots_make_each_customer_wait_as_long_as_simpy_resource_does() -> None:
    ours, theirs = _starts(True), _starts(False)
    assert ours == theirs
    assert sum(w > 0 for w in ours) > 50  # queues formed


def test_a_refused_line_answers_false_and_holders_keep_their_slots() -> None:
    env = simpy.Environment()
    slots = Slots(1)
    assert slots.take(env) is None and slots.busy == 1
    first, second = slots.take(env), slots.take(env)
    assert slots.load == 3
    slots.refuse()
    env.run()
    assert first.value is False and second.value is False
    assert slots.busy == 1 and slots.load == 1


def test_a_slot_given_back_goes_to_the_head_of_the_line() -> None:
    env = simpy.Environment()
    slots = Slots(1)
    slots.take(env)
    head, tail = slots.take(env), slots.take(env)
    slots.give()
    env.run()
    assert head.value is True and not tail.triggered
    assert slots.busy == 1 and list(slots.waiting) == [tail]


def test_try_take_never_queues() -> None:
    slots = Slots(2)
    assert slots.try_take() and slots.try_take()
    assert not slots.try_take()
    assert slots.busy == 2 and not slots.waiting


def test_a_dead_process_leaves_old_holders_with_the_old_slots() -> None:
    env = simpy.Environment()
    pod = Pod("api-0", "api", "service", {}, Placement(), 1.0, 2**30, concurrency=2)
    held = pod.slots
    held.take(env)
    held.take(env)
    waiting = held.take(env)
    pod.incarnation += 1
    pod.new_process()
    env.run()
    assert waiting.value is False
    assert pod.slots is not held and pod.slots.capacity == 2 and pod.busy == 0
    held.give()  # a request from before the crash ends
    assert pod.busy == 0 and pod.slots.take(env) is None and pod.busy == 1


def test_a_pool_of_no_connections_holds_nothing() -> None:
    env = simpy.Environment()
    pool = Pool(0)
    queued = pool.take(env)
    assert queued is not None and pool.busy == 0 and pool.load == 1
