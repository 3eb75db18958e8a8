"""The SimPy engine: a topology under load, many times faster than real time.

`import twin.sim` stays light; import the pieces where they are used.

Running:
    twin.sim.api.simulate(path, loads, duration, seed, replications, sets, progress) -> Result
    twin.sim.api.run_replications(topology, loads, ..., setup=fn) -> Result
    twin.sim.engine.Simulation(topology, loads, duration, seed, replication, warmup,
                               interval).run() -> ReplicationResult

Hooks for scenarios, faults and controllers (all on a Simulation `sim`):
    sim.env                      the SimPy Environment (time in seconds)
    sim.schedule(t, fn)          fn(sim) at simulated time t
    sim.component("store/redis") components by DESIGN.md name: pod/, node/, store/,
                                 queue/, external/, route/, deployment/, service/, worker/
    sim.kill("pod/x"), sim.node_down("node/x"), sim.node_up(...)      pod lifecycle
    sim.crash("pod/x")           the container exits: restarted in place (CrashLoopBackOff)
    sim.cluster.deployments[name].scale(n)                            HPA, rollouts
    sim.stores[name].crash(reason, restart) / .restore() / .use(access)
    sim.externals[name].slow = 3.0 (or .down = True)
    sim.emit(time, source, event, detail)   record into the events timeline

Modules: engine (build and run), cluster (nodes, pods, lifecycle), scheduler,
mesh (VirtualService, DestinationRule), flows (route steps), stores, broker
(RabbitMQ and workers), externals, load (arrivals), stats (histograms), report
(meters -> Result), causes (error causes, retryOn), sampling, rng.
"""
