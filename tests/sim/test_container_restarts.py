"""A crashed container restarts in its pod under CrashLoopBackOff (kubelet defaults)."""

from __future__ import annotations

from theory_helpers import topology

from twin.sim.engine import Simulation


def _sim(duration: float) -> Simulation:
    topo = topology("one-service.yaml", "services.api.replicas=2", "services.api.startup=5s",
                    "routes.req.rate=20", "services.api.concurrency=4")
    return Simulation(topo, duration=duration, seed=3)


def _crash_whenever_ready(sim: Simulation, pod: str, until: float) -> None:
    """Crash the container each time it is Ready again (a crash at startup, every time)."""
    def check(s: Simulation) -> None:
        p = s.cluster.pod(pod)
        if p is not None and p.phase == "Ready" and s.env.now < until:
            s.crash(f"pod/{pod}", "test crash")

    for t in range(20, int(until)):
        sim.schedule(float(t), check)


def test_backoff_doubles_from_10s_and_is_capped_at_300s_the_pod_stays_put() -> None:
    sim = _sim(2400.0)
    node = sim.cluster.pod("api-0").node.name
    _crash_whenever_ready(sim, "api-0", 2000.0)
    run = sim.run()
    backoffs = [float(e.detail.split()[1].rstrip("s")) for e in run.events
                if e.source == "pod/api-0" and e.event == "BackOff"]
    # first restart at once (no BackOff event), then 10, 20, 40, ... capped at 300
    assert backoffs[:7] == [10, 20, 40, 80, 160, 300, 300]
    crashes = 1 + len(backoffs)
    assert f"restartCount {crashes}" in [e for e in run.events if e.source == "pod/api-0"
                                         and e.event == "Started"][-1].detail
    pod = sim.cluster.pod("api-0")
    assert pod.restarts == crashes and pod.node.name == node  # same pod, same node
    assert not [e for e in run.events if e.event in ("Killed", "Scheduled", "Deleted")]
    assert sorted(p.name for p in sim.pods("api")) == ["api-0", "api-1"]  # no replacement
    # NotReady while waiting and starting: the other pod served; reset in flight
    assert run.routes["req"].errors.get("reset", 0) > 0
    assert run.routes["req"].ok > 0.95 * run.routes["req"].completed


def test_backoff_resets_after_the_container_ran_10_minutes() -> None:
    sim = _sim(1000.0)
    for t in (20.0, 27.0, 45.0):  # crashes 1..3: restarts at once, after 10 s, after 20 s
        sim.schedule(t, lambda s: s.crash("pod/api-0"))
    sim.schedule(45.0 + 20 + 599, lambda s: s.crash("pod/api-0"))  # started at 65: ran 599 s
    run = sim.run()
    backoffs = [e.detail.split()[1] for e in run.events
                if e.source == "pod/api-0" and e.event == "BackOff"]
    assert backoffs == ["10s", "20s", "40s"]

    sim = _sim(1000.0)
    for t in (20.0, 27.0, 45.0):
        sim.schedule(t, lambda s: s.crash("pod/api-0"))
    sim.schedule(45.0 + 20 + 600, lambda s: s.crash("pod/api-0"))  # started at 65: ran 600 s
    run = sim.run()
    events = [e for e in run.events if e.source == "pod/api-0"]
    assert [e.detail.split()[1] for e in events if e.event == "BackOff"] == ["10s", "20s"]
    # the fourth crash restarts at once again, as if it were the first
    assert [e.time for e in events if e.event == "Started"][-1] == 665.0
    assert sim.cluster.pod("api-0").restarts == 4
