"""The cluster as pure data: the one model every engine reads.

Field defaults are the real systems' own defaults (Kubernetes, Sentinel, Patroni, RabbitMQ);
a topology file only says where Eco2 differs from them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from twin.model.base import (
    API_VERSION,
    Distribution,
    DnsLabel,
    ErrorKind,
    Named,
    Probability,
    Strict,
    constant,
    exponential,
)
from twin.model.steps import (  # noqa: F401 - where the model's users import steps from
    Branch,
    BranchStep,
    CallStep,
    EmitStep,
    ExternalStep,
    OnFailure,
    PublishStep,
    Step,
    StepBase,
    StoreStep,
    StreamStep,
)
from twin.model.units import Cpu, Duration, Memory, Rate

PART_OF = "ecoeco-backend"
MAX_REPLICAS = 5000
"""Pods one workload may ask for: Kubernetes' own scalability envelope is 110 pods a node and
5000 nodes, and this cluster has 16; a larger number is a typo, and every view and engine
would enumerate its pods."""

# --------------------------------------------------------------------- cluster


class GitOps(Strict):
    tool: Literal["argocd", "flux", "none"] = "argocd"
    repo: str | None = None
    branch: str = "develop"
    path: str | None = None


class Cluster(Strict):
    name: DnsLabel
    region: str = "ap-northeast-2"
    kubernetes_version: str = Field(default="1.33", pattern=r"^1\.\d+$")
    environment: DnsLabel = "dev"
    gitops: GitOps = GitOps()
    network_policy: Literal["loose", "strict"] = "loose"
    node_monitor_grace_period: Duration | None = Field(
        default=None, description="Unset: kube-controller-manager's default, 40s before Kubernetes 1.32, 50s from 1.32."
    )
    default_toleration_seconds: Duration = 300.0
    storage_classes: list[StorageClass] = []

    @property
    def grace_period(self) -> float:
        if self.node_monitor_grace_period is not None:
            return self.node_monitor_grace_period
        minor = int(self.kubernetes_version.split(".")[1])
        return 50.0 if minor >= 32 else 40.0


class StorageClass(Named):
    provisioner: str = "ebs.csi.aws.com"
    parameters: dict[str, str] = {}
    volume_binding_mode: Literal["Immediate", "WaitForFirstConsumer"] = "WaitForFirstConsumer"
    reclaim_policy: Literal["Delete", "Retain"] = "Delete"
    default: bool = False


# ------------------------------------------------------------------ placement


class Taint(Strict):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class Toleration(Strict):
    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: Duration | None = None

    def tolerates(self, taint: Taint) -> bool:
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key is None:  # empty key with Exists tolerates everything
            return self.operator == "Exists"
        if self.key != taint.key:
            return False
        return self.operator == "Exists" or self.value == taint.value


class NodeRequirement(Strict):
    """One matchExpression of a required node affinity."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] = []


class PodAffinityTerm(Strict):
    """Co-locate with (affinity) or keep away from (anti-affinity) other workloads."""

    workloads: list[str] = Field(description="Workload names; empty means this workload itself.")
    topology_key: str = "kubernetes.io/hostname"
    required: bool = True


class TopologySpread(Strict):
    max_skew: int = Field(default=1, ge=1)
    topology_key: str = "kubernetes.io/hostname"
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"


class Placement(Strict):
    node_selector: dict[str, str] = {}
    tolerations: list[Toleration] = []
    node_affinity: list[NodeRequirement] = []
    pod_affinity: list[PodAffinityTerm] = []
    pod_anti_affinity: list[PodAffinityTerm] = []
    topology_spread: list[TopologySpread] = []


class NodeSpec(Named):
    cpu: Cpu | None = Field(default=None, description="Allocatable CPU; unset: the pool's.")
    memory: Memory | None = Field(default=None, description="Allocatable memory; unset: the pool's.")
    labels: dict[str, str] = {}
    zone: str | None = None


class NodePool(Named):
    role: Literal["control-plane", "worker"] = "worker"
    labels: dict[str, str] = {}
    taints: list[Taint] = []
    cpu: Cpu = Field(description="Allocatable CPU of each node, in cores.")
    memory: Memory = Field(description="Allocatable memory of each node.")
    nodes: list[NodeSpec] = Field(min_length=1)


# ------------------------------------------------------------------ namespaces

Tier = Literal[
    "business-logic", "worker", "integration", "data", "observability", "infrastructure", "platform"
]


class Namespace(Named):
    tier: Tier
    domain: str | None = None
    labels: dict[str, str] = {}
    sidecar_injection: bool = True
    part_of: bool = Field(
        default=True,
        description="Carries the ecoeco-backend labels; false for system namespaces (kube-system).",
    )


# ------------------------------------------------------------------- workloads


class ResourceAmounts(Strict):
    cpu: Cpu = 0.1
    memory: Memory = 128 * 2**20


class Resources(Strict):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts | None = None


class HPA(Strict):
    """HorizontalPodAutoscaler, with kube-controller-manager's defaults (15 s sync, 10 % tolerance)."""

    min: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    max: int = Field(ge=1, le=MAX_REPLICAS)
    metric: Literal["cpu", "queue_length"] = "cpu"
    target: float = Field(
        gt=0, description="CPU utilisation in percent of requests, or messages per pod."
    )
    queue: str | None = Field(default=None, description="The queue, for metric queue_length.")
    sync_period: Duration = 15.0
    tolerance: float = Field(default=0.1, ge=0)
    scale_down_stabilization: Duration = 300.0
    scale_up_pods: int = Field(default=4, ge=1)
    scale_up_percent: float = Field(default=100.0, gt=0)
    initial_readiness_delay: Duration = 30.0

    @model_validator(mode="after")
    def _bounds(self) -> HPA:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        if self.metric == "queue_length" and not self.queue:
            raise ValueError("metric queue_length needs a queue")
        return self


class PDB(Strict):
    min_available: int | None = Field(default=None, ge=0)
    max_unavailable: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one(self) -> PDB:
        if (self.min_available is None) == (self.max_unavailable is None):
            raise ValueError("a PodDisruptionBudget sets exactly one of min_available, max_unavailable")
        return self


class StoreClient(Strict):
    """How a workload reaches a data store, and its connection pool per pod."""

    store: str
    via: Literal["sentinel", "service"] = "service"
    target: Literal["master", "all"] = Field(
        default="master",
        description="With via=service: a Service selecting only the master, or every server.",
    )
    pool: int = Field(default=10, ge=1, description="Connections per pod.")


class Version(Named):
    """A subset of a service's pods (v1, v2, ...) with what differs in it.

    Each version is its own Deployment (`chat-api-v2`) labelled `version: NAME`;
    unset replicas means the workload's replicas.
    """

    labels: dict[str, str] = {}
    replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS)
    image: str | None = None
    service_time: Distribution | None = None
    error_rate: Probability | None = None


class Workload(Named):
    namespace: DnsLabel
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    replicas: int = Field(default=1, ge=0, le=MAX_REPLICAS)
    image: str | None = Field(default=None, description="Unset: the twin's stand-in service.")
    resources: Resources = Resources()
    hpa: HPA | None = None
    placement: Placement = Placement()
    pdb: PDB | None = None
    service_time: Distribution = exponential(0.05)
    cpu_share: Probability = Field(
        default=0.5, description="Share of service time spent on CPU; the rest waits on I/O."
    )
    error_rate: Probability = 0.0
    error_kind: ErrorKind = "5xx"
    startup: Duration = Field(default=5.0, description="Pod start to ready (stateless p99 SLO 5s).")
    termination_grace: Duration = 30.0
    pre_stop: Duration = 0.0
    clients: list[StoreClient] = []
    versions: list[Version] = []
    labels: dict[str, str] = {}


class Service(Workload):
    """An API or integration service behind a Kubernetes Service and the mesh."""

    role: Literal["api", "integration"] = "api"
    protocol: Literal["http", "grpc"] = "http"
    port: int = Field(default=8000, ge=1, le=65535)
    concurrency: int = Field(default=8, ge=1, description="Requests one pod serves at once.")

    @property
    def tier(self) -> str:
        """The pod's `tier` label, which the document's scripts select on."""
        return "business-logic" if self.role == "api" else "integration"


class Worker(Workload):
    """A Celery-style consumer of one RabbitMQ queue."""

    queue: str
    concurrency: int = Field(default=4, ge=1)
    prefetch: int = Field(
        default=4, ge=0, description="Celery worker_prefetch_multiplier (x concurrency)."
    )
    acks_late: bool = False
    reject_on_worker_lost: bool = False

    @property
    def tier(self) -> str:
        return "worker"


class PlatformComponent(Named):
    """What else takes room on nodes: istiod, gateways, ArgoCD, Prometheus, ESO."""

    namespace: DnsLabel
    replicas: int = Field(default=1, ge=0, le=MAX_REPLICAS)
    resources: Resources = Resources()
    placement: Placement = Placement()
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"


class DaemonSet(Named):
    namespace: DnsLabel
    resources: Resources = Resources()
    placement: Placement = Placement()


# ----------------------------------------------------------------------- mesh


class Retries(Strict):
    attempts: int = Field(default=2, ge=0, description="Retries after the first try.")
    per_try_timeout: Duration | None = Field(default=None, description="Unset: the route timeout.")
    retry_on: list[str] = ["connect-failure", "refused-stream", "unavailable", "cancelled"]
    backoff: Duration = 0.025


class Destination(Strict):
    host: str = Field(description="A service name.")
    subset: str | None = None
    weight: int = Field(default=100, ge=0)
    port: int | None = None


class Match(Strict):
    uri_prefix: str | None = None
    uri_exact: str | None = None
    headers: dict[str, str] = {}


class FaultInjection(Strict):
    delay: Duration | None = None
    delay_percent: float = Field(default=100.0, ge=0, le=100)
    abort_status: int | None = None
    abort_percent: float = Field(default=100.0, ge=0, le=100)


class HTTPRoute(Strict):
    name: str | None = None
    match: list[Match] = []
    route: list[Destination] = Field(min_length=1)
    timeout: Duration | None = None
    retries: Retries | None = None
    fault: FaultInjection | None = None


class VirtualService(Named):
    namespace: DnsLabel
    hosts: list[str] = []
    gateways: list[str] = []
    http: list[HTTPRoute] = Field(min_length=1)


class Subset(Strict):
    name: DnsLabel
    labels: dict[str, str]


class OutlierDetection(Strict):
    consecutive_5xx_errors: int = Field(default=5, ge=0)
    interval: Duration = 10.0
    base_ejection_time: Duration = 30.0
    max_ejection_percent: float = Field(default=10.0, ge=0, le=100)


class ConnectionPool(Strict):
    max_connections: int | None = Field(default=None, ge=1)
    http1_max_pending_requests: int | None = Field(default=None, ge=1)
    http2_max_requests: int | None = Field(default=None, ge=1)


class DestinationRule(Named):
    namespace: DnsLabel
    host: str
    subsets: list[Subset] = []
    load_balancer: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"] = "LEAST_REQUEST"
    outlier_detection: OutlierDetection | None = None
    connection_pool: ConnectionPool | None = None


class Gateway(Named):
    namespace: DnsLabel = "istio-system"
    hosts: list[str] = ["*"]
    port: int = 80
    node_port: int = Field(default=30080, ge=30000, le=32767)
    workload: str = Field(
        default="istio-ingressgateway",
        description="The platform component whose pods serve this gateway.",
    )


class Sidecar(Strict):
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu=0.1, memory=128 * 2**20),
        limits=ResourceAmounts(cpu=2.0, memory=1024 * 2**20),
    )
    latency: Duration = Field(default=0.0005, description="Added per hop by each Envoy.")


class Mesh(Strict):
    mtls: Literal["STRICT", "PERMISSIVE", "DISABLE"] = "STRICT"
    gateway: Gateway
    sidecar: Sidecar = Sidecar()
    default_retries: Retries = Retries()
    virtual_services: list[VirtualService] = []
    destination_rules: list[DestinationRule] = []


# ---------------------------------------------------------------- data stores


class Persistence(Strict):
    enabled: bool = True
    size: Memory = 10 * 2**30
    storage_class: str | None = None


class StoreBase(Named):
    namespace: DnsLabel
    service_name: DnsLabel | None = Field(default=None, description="Unset: the store's name.")
    port: int = Field(ge=1, le=65535)
    image: str | None = None
    resources: Resources = Resources()
    placement: Placement = Placement()
    concurrency: int = Field(default=64, ge=1, description="Operations served at once.")
    service_time: Distribution = exponential(0.001)
    restart: Duration = Field(default=10.0, description="A crashed server back and serving.")
    persistence: Persistence = Persistence()

    @property
    def service(self) -> str:
        return self.service_name or self.name


class PatroniTiming(Strict):
    ttl: Duration = 30.0
    loop_wait: Duration = 10.0
    retry_timeout: Duration = 10.0

    @model_validator(mode="after")
    def _rule(self) -> PatroniTiming:
        if self.loop_wait + 2 * self.retry_timeout > self.ttl:
            raise ValueError("Patroni needs loop_wait + 2 x retry_timeout <= ttl")
        return self


class Postgres(StoreBase):
    kind: Literal["postgres"]
    port: int = 5432
    mode: Literal["single", "ha"] = "single"
    replicas: int = Field(default=1, ge=1, description="Servers; HA needs at least 2.")
    max_connections: int = Field(default=100, ge=1)
    failover: PatroniTiming = PatroniTiming()
    service_time: Distribution = exponential(0.004)
    concurrency: int = 32

    @model_validator(mode="after")
    def _ha(self) -> Postgres:
        if self.mode == "ha" and self.replicas < 2:
            raise ValueError("mode ha needs at least 2 replicas")
        return self


class Sentinel(Strict):
    """Redis Sentinel's settings, with sentinel.conf's defaults."""

    master_name: str = "mymaster"
    sentinels: int = Field(default=3, ge=1)
    quorum: int = Field(default=2, ge=1)
    down_after: Duration = 30.0
    failover_timeout: Duration = 180.0
    parallel_syncs: int = Field(default=1, ge=1)
    port: int = 26379
    ping_period: Duration = 1.0
    info_period: Duration = 10.0
    hello_period: Duration = 2.0


class Redis(StoreBase):
    kind: Literal["redis"]
    port: int = 6379
    mode: Literal["single", "sentinel"] = "single"
    servers: int = Field(default=1, ge=1, description="Redis servers: one master, the rest replicas.")
    sentinel: Sentinel | None = None
    replica_priorities: list[int] = Field(
        default=[], description="replica-priority per server in order; unset: 100 each."
    )
    min_replicas_to_write: int = Field(default=0, ge=0)
    min_replicas_max_lag: Duration = 10.0
    replication_lag: Distribution = exponential(0.002)
    demote_after: Duration = Field(default=8.0, description="A returning old master is demoted.")
    persistence: Persistence = Persistence(enabled=False)
    service_time: Distribution = exponential(0.0002)

    @model_validator(mode="after")
    def _sentinel(self) -> Redis:
        if self.mode == "sentinel" and self.sentinel is None:
            raise ValueError("mode sentinel needs a sentinel section")
        if self.mode == "sentinel" and self.servers < 2:
            raise ValueError("mode sentinel needs at least 2 servers (a master and a replica)")
        return self

    def priority(self, index: int) -> int:
        if index < len(self.replica_priorities):
            return self.replica_priorities[index]
        return 100


class Queue(Named):
    durable: bool = True
    max_length: int | None = Field(default=None, ge=0)
    overflow: Literal["drop-head", "reject-publish"] = "drop-head"


class RabbitMQ(StoreBase):
    kind: Literal["rabbitmq"]
    port: int = 5672
    management_port: int = 15672
    queues: list[Queue] = []
    memory_high_watermark: float = Field(default=0.4, gt=0, le=1)
    memory_limit: Memory = Field(default=2 * 2**30, description="Memory the broker may see.")
    message_size: Memory = 4096
    consumer_timeout: Duration = 1800.0
    heartbeat: Duration = 60.0
    service_time: Distribution = exponential(0.0005)


Store = Annotated[Union[Postgres, Redis, RabbitMQ], Field(discriminator="kind")]  # noqa: UP007


class External(Named):
    """A dependency outside the cluster, such as the LLM provider."""

    latency: Distribution
    rate_limit: Rate | None = Field(default=None, description="Requests per second; over it: 429.")
    error_rate: Probability = 0.0
    error_kind: ErrorKind = "5xx"
    timeout: Duration | None = None


# --------------------------------------------------------------------- routes


class Route(Named):
    """What users do (`chat`, `scan`, `login`): its entry, nominal rate and steps."""

    entry: str = Field(description="The VirtualService the gateway routes it to.")
    rate: Rate = Field(description="Nominal arrival rate.")
    match: str | None = Field(default=None, description="URI prefix, for the gateway's match.")
    steps: list[Step] = Field(min_length=1)
    asynchronous: bool = Field(
        default=False, description="End-to-end is accepted to last event delivered."
    )


# ------------------------------------------------------------------- topology


class Topology(Strict):
    api_version: Literal["twin.eco2/v1"] = Field(alias="apiVersion")
    kind: Literal["Topology"]
    extends: str | None = None
    description: str | None = None
    cluster: Cluster
    pools: list[NodePool] = Field(min_length=1)
    namespaces: list[Namespace] = []
    services: list[Service] = []
    workers: list[Worker] = []
    platform: list[PlatformComponent] = []
    daemonsets: list[DaemonSet] = []
    mesh: Mesh | None = None
    stores: list[Store] = []
    externals: list[External] = []
    routes: list[Route] = []

    # lookups by name; the lists keep file order for stable output
    def namespace(self, name: str) -> Namespace | None:
        return next((n for n in self.namespaces if n.name == name), None)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def worker(self, name: str) -> Worker | None:
        return next((w for w in self.workers if w.name == name), None)

    def workload(self, name: str) -> Workload | None:
        return self.service(name) or self.worker(name)

    def store(self, name: str) -> Postgres | Redis | RabbitMQ | None:
        return next((s for s in self.stores if s.name == name), None)

    def external(self, name: str) -> External | None:
        return next((e for e in self.externals if e.name == name), None)

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)

    def queue(self, name: str) -> tuple[RabbitMQ, Queue] | None:
        for s in self.stores:
            if isinstance(s, RabbitMQ):
                for q in s.queues:
                    if q.name == name:
                        return s, q
        return None

    def consumer(self, queue: str) -> Worker | None:
        return next((w for w in self.workers if w.queue == queue), None)

    @property
    def workloads(self) -> list[Workload]:
        return [*self.services, *self.workers]

    @property
    def nodes(self) -> list[tuple[NodePool, NodeSpec]]:
        return [(p, n) for p in self.pools for n in p.nodes]

    def namespace_labels(self, ns: Namespace) -> dict[str, str]:
        """The labels the architecture document selects namespaces by."""
        labels: dict[str, str] = {}
        if ns.part_of:
            labels = {"app.kubernetes.io/part-of": PART_OF, "tier": ns.tier}
            if ns.domain:
                labels["domain"] = ns.domain
            labels["environment"] = self.cluster.environment
        labels.update(ns.labels)
        return labels


Cluster.model_rebuild()

__all__ = ["API_VERSION", "Topology", "constant"]
