"""A backend whose replications are made up from the scenario, for testing the
scenario machinery without the simulator: chat fails during each fault (more
in odd replications), Sentinel events follow down-after, writes are lost."""

from __future__ import annotations

import numpy as np

from twin.result.trace import Trace
from twin.sim.rng import Streams

INTERVAL = 1.0


class FakeBackend:
    name = "fake"

    def __init__(self, error_during_fault: float = 0.4, recover_after: float = 5.0):
        self.error = error_during_fault
        self.recover_after = recover_after

    def run(self, scenario, topology, seed, replications, progress):
        traces = []
        for rep in range(replications):
            progress(rep / replications, f"replication {rep + 1}")
            rng = Streams(seed, rep)("fake/chat")
            n = int(np.ceil(scenario.duration / INTERVAL))
            t = np.arange(n) * INTERVAL
            requests = np.full(n, 10.0)
            failed = np.zeros(n)
            events = []
            for a in scenario.faults:
                end = (a.end if a.end is not None else a.at + 20.0) + self.recover_after
                share = self.error + (0.2 if rep % 2 else 0.0)
                window = (t >= a.at) & (t < end)
                failed[window] = np.round(requests[window] * share)
                down_after = topology.store("redis").sentinel.down_after if topology.store(
                    "redis").sentinel else 30.0
                jitter = float(rng.uniform(0, 0.1))
                for i in range(3):
                    events.append({"t": a.at + down_after + jitter + 0.01 * i, "source": f"sentinel/{i}",
                                   "event": "+sdown", "detail": {"master": "mymaster"}})
                events.append({"t": a.at + down_after + 0.5, "source": "sentinel/0",
                               "event": "+odown", "detail": {}})
                events.append({"t": a.at + down_after + 4.0, "source": "sentinel/0",
                               "event": "+switch-master", "detail": {"to": "redis-1"}})
            util = 0.5 + 0.01 * rng.standard_normal(n)
            traces.append(Trace(
                INTERVAL,
                counters={"route/chat.requests": requests, "route/chat.failed": failed,
                          "store/redis.writes_lost": np.where(failed > 0, 1.0, 0.0)},
                gauges={"service/chat-api.utilisation": util},
                event_list=events))
        progress(1.0, "done")
        return traces
