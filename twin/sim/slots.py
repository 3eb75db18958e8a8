"""Slots with one line in front: the one acquire and release of the simulator's hot path.

The shape of SimPy's `Resource` (a capacity, the users in it, a FIFO queue of
requests), cut down to what a request needs, because it runs for every try at
every pod and store: `take` grants a free slot without creating an event, and a
slot given back goes straight to the head of the line. A waiter's event fires
with True when a slot is handed to it, with False when the line is refused.

A pod's slots belong to its container's process. When the process dies the
cluster refuses the line and gives the pod new slots (`Pod.new_process`), so a
request that held one of the old slots gives it back there, where nobody looks
any more: the identity of the `Slots` object is the incarnation check of every
release. A connection pool works the same way: closing it refuses its line, and
a reconnect opens a new one.
"""

from __future__ import annotations

from collections import deque

import simpy


class Slots:
    """`capacity` slots and the FIFO line of those waiting for one."""

    __slots__ = ("capacity", "busy", "waiting")

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.busy = 0
        self.waiting: deque[simpy.Event] = deque()

    def take(self, env: simpy.Environment) -> simpy.Event | None:
        """None: a slot was free and is yours. Otherwise your place in the line: an event
        that fires True when a slot is handed to you, False when the line is refused."""
        if self.busy < self.capacity:
            self.busy += 1
            return None
        ev = simpy.Event(env)
        self.waiting.append(ev)
        return ev

    def try_take(self) -> bool:
        """A free slot now, or none: for holders with a line of their own (a worker's
        prefetch buffer)."""
        if self.busy < self.capacity:
            self.busy += 1
            return True
        return False

    def give(self) -> None:
        """Hand the slot to the head of the line, or free it."""
        waiting = self.waiting
        if waiting:
            waiting.popleft().succeed(True)
        else:
            self.busy -= 1

    def refuse(self) -> None:
        """Everyone in line is turned away (the holder died, the pool closed)."""
        for ev in self.waiting:
            ev.succeed(False)
        self.waiting.clear()

    @property
    def load(self) -> int:
        """Slots in use and requests in line: what a least-request balancer compares."""
        return self.busy + len(self.waiting)


class Pool(Slots):
    """A client pod's connections to one store (`clients[].pool`): an operation holds one
    for its whole time at the store. A capacity of 0 means the server had none left to
    give (PostgreSQL's max_connections)."""

    __slots__ = ()
