"""The one Result shape of every backend (simulator, local processes, kind replica).

Pure data. `result.json` holds only what the inputs and the seed decide; wall
clock, versions and host go to `run.json` (RunInfo). Per replication: the
events timeline and metrics per route, workload, pod, node, queue, store and
external, plus time series at a fixed interval; across replications: 95 %
confidence intervals; and the outcomes of checks a scenario runner judged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Event(Data):
    time: float
    source: str = Field(description="KIND/NAME of the component (pod/chat-api-v1-0, store/redis).")
    event: str = Field(description="What happened, in the system's own words (+sdown, Killed).")
    detail: str = ""


class Summary(Data):
    """A latency distribution: count, mean and quantiles in seconds."""

    count: int = 0
    mean: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0


class RouteMetrics(Data):
    arrivals: int
    completed: int
    ok: int
    errors: dict[str, int] = Field(description="Failed requests by root cause.")
    error_rate: float
    throughput: float = Field(description="Completed requests per second.")
    latency: Summary = Field(description="Gateway to response (the synchronous part).")
    in_flight: float = Field(description="Time-average requests in flight (Little's L).")
    degraded: int = 0
    end_to_end: Summary | None = Field(
        default=None, description="Asynchronous routes: accepted to last event delivered.")
    end_to_end_ok: int = 0
    end_to_end_errors: dict[str, int] = {}
    end_to_end_open: int = Field(default=0, description="Still running when the run ended (begun during the warm-up or after).")


class WorkloadMetrics(Data):
    kind: str
    pods_ready: int
    pods_pending: int = 0
    visits: int
    throughput: float
    errors: int
    mean_sojourn: float
    mean_wait: float
    utilisation: float = Field(description="Busy slots over concurrency, averaged over ready pods.")
    cpu_cores: float
    cpu_utilisation: float = Field(description="CPU used over CPU requested.")


class PodMetrics(Data):
    workload: str
    kind: str
    version: str = ""
    node: str | None
    phase: str
    visits: int = 0
    throughput: float = 0.0
    in_system: float = Field(default=0.0, description="Time-average requests in the pod (L).")
    mean_sojourn: float = Field(default=0.0, description="Mean time in the pod per visit (W).")
    mean_wait: float = 0.0
    p_wait: float = Field(default=0.0, description="Share of visits that queued for a slot.")
    wait_p95: float = 0.0
    utilisation: float = 0.0
    cpu_cores: float = 0.0
    cpu_request: float = 0.0
    cpu_utilisation: float = Field(default=0.0, description="CPU used over CPU requested.")
    errors: int = 0


class NodeMetrics(Data):
    pool: str
    ready: bool
    pods: int
    cpu_allocatable: float
    cpu_requested: float
    memory_allocatable: float
    memory_requested: float
    cpu_used: float
    cpu_utilisation: float = Field(description="CPU used over allocatable.")


class QueueMetrics(Data):
    published: int
    delivered: int
    dropped: int
    rejected: int
    lost: int
    requeued: int
    mean_depth: float
    max_depth: int
    final_depth: int
    mean_wait: float
    wait_p95: float


class StoreMetrics(Data):
    kind: str
    up: bool
    ops: int
    errors: dict[str, int]
    in_system: float
    mean_sojourn: float
    mean_wait: float
    utilisation: float
    connections: int = 0
    max_connections: int = 0


class ExternalMetrics(Data):
    calls: int
    errors: dict[str, int]
    latency: Summary


class Series(Data):
    """Values at the end of each interval: `t` and one list per metric, same length."""

    interval: float
    t: list[float] = []
    values: dict[str, list[float]] = {}


class CanaryStep(Data):
    t: float
    event: str
    message: str
    weight: int = Field(description="The canary's weight after the step.")


class CanaryOutcome(Data):
    """One replication's canary analysis (twin.canary): what was decided, when, at what cost."""

    service: str
    canary: str = Field(description="The canary's subset (version).")
    strategy: str
    judge: str
    decision: str | None = Field(description="promoted, rolled back, detected (a fixed split's "
                                 "checks reached the threshold), or null: undecided at the end.")
    decided_at: float | None = None
    detected_at: float | None = Field(default=None, description="When the failed checks "
                                      "reached the threshold (the rollback, or the fixed "
                                      "split's alert).")
    first_failure: float | None = Field(default=None, description="The first failed check.")
    canary_tries: int = Field(description="Tries the canary served until the decision (or the end).")
    failed_tries: int = Field(description="Of them, failed: users the canary hurt.")
    slow_tries: int = Field(description="Of them, slower than the request-duration bound.")
    steps: list[CanaryStep] = []


class ReplicationResult(Data):
    replication: int
    seed: int
    duration: float
    warmup: float
    events: list[Event] = []
    events_dropped: int = 0
    routes: dict[str, RouteMetrics] = {}
    workloads: dict[str, WorkloadMetrics] = {}
    pods: dict[str, PodMetrics] = {}
    nodes: dict[str, NodeMetrics] = {}
    queues: dict[str, QueueMetrics] = {}
    stores: dict[str, StoreMetrics] = {}
    externals: dict[str, ExternalMetrics] = {}
    streams_open: float = Field(default=0.0, description="Time-average open SSE streams.")
    pending_pods: list[str] = Field(default=[], description="Pods no node could take.")
    series: Series | None = None
    canary: CanaryOutcome | None = None


class Estimate(Data):
    """Mean over replications with a 95 % t confidence interval (null with one replication)."""

    mean: float
    half_width: float | None
    low: float | None
    high: float | None
    n: int


class Saturation(Data):
    """A component whose backlog grew through the measured window: the load exceeds its
    capacity, so its latency and backlog figures depend on how long the run was."""

    component: str = Field(
        description="KIND/NAME: queue/chat-tasks, workload/chat-worker, pod/NAME, route/chat.")
    evidence: str = Field(description="One sentence: the levels, the growth, the utilisation.")
    metric: str = Field(default="", description="What grew: depth, in_flight, e2e_p95, p95, "
                        "or utilisation when only the busy share says so.")
    start: float | None = Field(default=None, description="Level at the window's start.")
    end: float | None = Field(default=None, description="Level at the window's end.")
    growth_per_minute: float | None = Field(default=None, description="Least-squares slope.")
    utilisation: float | None = Field(default=None, description="Busy slots over concurrency "
                                      "of the component (or of the queue's consumer).")
    replications: int = Field(default=1, description="Replications in which it was flagged.")


class CheckOutcome(Data):
    """A check judged in every replication (filled by the scenario runner)."""

    name: str
    status: Literal["held", "failed", "not_applicable"]
    observed: float | None = None
    bound: str = ""
    failed_in: int = 0
    replications: int = 0
    detail: str = ""


class Result(Data):
    schema_version: int = SCHEMA_VERSION
    backend: Literal["sim", "local", "kind"] = "sim"
    topology: str
    description: str | None = None
    scenario: str | None = None
    seed: int
    replications: int
    duration: float
    warmup: float
    interval: float
    loads: dict[str, str] = {}
    sets: list[str] = []
    runs: list[ReplicationResult] = []
    aggregate: dict[str, Estimate] = Field(
        default={}, description="KIND/NAME/metric (route/chat/latency.p95) over replications.")
    checks: list[CheckOutcome] = []
    saturated: list[Saturation] = Field(
        default=[], description="Unstable components (backlog growing through the run).")

    @property
    def passed(self) -> bool:
        return all(c.status != "failed" for c in self.checks)


class RunInfo(Data):
    """run.json: what the seed does not decide."""

    started: str
    wall_seconds: float
    simulated_seconds: float
    speed: float = Field(description="Simulated seconds per wall second.")
    python: str
    versions: dict[str, str] = {}
    host: str = ""
    command: list[str] = []
