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

Modules: engine (build and run), pod (a pod and its parts, a node), slots (a
pod's or store's slots and a connection pool), cluster (the pod lifecycle),
scheduler, mesh (VirtualService, DestinationRule), flows (route steps: meters,
interpreter, plans, delivery), stores, broker (RabbitMQ and workers), externals,
redis, redis_server, sentinel, redis_clients, patroni, hpa, node_lifecycle, load
(arrivals), stats (histograms, levels, stations), report (meters -> Result),
causes (error causes, retryOn), sampling, rng.

Three choices the rest rests on; keep them:

- One random stream per component name (rng): a stream depends on the seed and
  the name only, so the same seed gives the same bytes and what-if variants that
  add or remove components keep every other stream (common random numbers).
  A new source of randomness asks `sim.streams("KIND/NAME/what")`, never a
  shared generator.
- One pod lifecycle (cluster): faults, the HPA, drains, rollouts and the
  scheduler all move pods through `Cluster` and `Deployment`, and watchers hear
  every readiness change; nothing else sets a pod's phase.
- Controllers behind small interfaces (hpa): the HPA reads pod samples and
  writes a replica count through callables, so tests/sim/test_hpa.py holds each
  of its rules against a stand-in workload, without the engine.
"""
