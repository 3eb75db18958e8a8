"""The SimPy engine: a topology under load, many times faster than real time.

`import twin.sim` stays light; the pieces are imported where used:
twin.sim.engine.Simulation (one replication), twin.sim.api (replications,
`simulate` for the CLI and the demo).
"""
