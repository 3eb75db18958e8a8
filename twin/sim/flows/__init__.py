"""Route steps compiled into plans, and the interpreter that runs them per request.

    meters       Request (one in flight) and RouteRuntime (a route's plans and meters)
    interpreter  Plan (what every plan is) and Flows: steps in order, a route's
                 request, a store operation, a worker's task
    plans        the synchronous path: CallPlan (mesh, retries, timeouts, a pod's
                 slot), StorePlan, PublishPlan, ExternalPlan, BranchPlan
    delivery     SSE: StreamPlan (a stream held open), EmitPlan (events to it)

The engine (twin.sim.engine) compiles a topology's steps into these plans.
"""

from twin.sim.flows.delivery import EmitPlan, StreamPlan
from twin.sim.flows.interpreter import Flows, Plan
from twin.sim.flows.meters import Request, RouteRuntime
from twin.sim.flows.plans import BranchPlan, CallPlan, ExternalPlan, PublishPlan, StorePlan

__all__ = [
    "BranchPlan", "CallPlan", "EmitPlan", "ExternalPlan", "Flows", "Plan", "PublishPlan",
    "Request", "RouteRuntime", "StorePlan", "StreamPlan",
]
