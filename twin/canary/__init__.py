"""Canary releases as Flagger runs them: the `canary:` section of a scenario, the analysis
that moves a VirtualService's weights, and the judges that score a canary against its
primary. Pure: the simulator's controller (twin.sim.canary) drives it with its meters."""
