"""A scenario's timeline: one class per fault or operator action, told apart by `action:`.

Each class carries exactly its own fields, what it acts on (`acts_on`, and the
store kind when it needs one) and whether it is over when it happens. Every
backend keeps one table from the action's name to the function that applies it
(twin.scenario.sim_backend, twin.replica.local_backend, twin.replica.kind_backend),
so a new action is one class here, one entry in ACTIONS and one per backend.

`Action(...)` and `Action.model_validate(...)` build the class that `action:`
names; a timeline item read from a file goes through the same union (AnyAction).
A field of another action is not a typo, so it is said in the action's words
("node-down takes no replicas", "kill-pod needs target") rather than "unknown field".
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from twin.model.base import Strict
from twin.model.units import Duration

For = Annotated[Duration | None, Field(alias="for", gt=0)]
Count = Annotated[int | None, Field(ge=1)]


class Action(Strict):
    """A fault or an operator action at time `at`, lasting `for` when it has an end.

    Targets are `KIND/NAME` (`service/chat-api`, `store/redis`, `node/k8s-storage`)
    or a bare unique name.
    """

    id: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]*$",
                           description="Lower case; not ending in -NUMBER (that reads as an offset).")
    at: Duration
    action: str

    acts_on: ClassVar[tuple[str, ...]] = ()
    """The component kinds its target may name."""
    store_kind: ClassVar[str | None] = None
    """The store it needs (redis, rabbitmq, postgres), when a store of any kind will not do."""
    momentary: ClassVar[bool] = False
    """Over when it happens (a kill, a scale), unless a `for` says how long it lasts."""

    def __new__(cls, *args: Any, **data: Any) -> Action:  # noqa: PYI034 - the class `action` names
        if cls is Action:
            return ANY_ACTION.validate_python(data)
        return super().__new__(cls)

    def __init__(self, /, **data: Any) -> None:
        if getattr(self, "__pydantic_fields_set__", None) is None:  # not built by __new__ already
            super().__init__(**data)

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Action:  # type: ignore[override]
        if cls is Action:
            return ANY_ACTION.validate_python(obj, **kwargs)
        return super().model_validate(obj, **kwargs)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and re.search(r"-\d+(\.\d+)?(ms|s|m|h)?$", value):
            raise ValueError(f"{value!r} ends like a time offset (kill-10s); pick another id")
        return value

    @model_validator(mode="before")
    @classmethod
    def _fields(cls, data: Any) -> Any:
        """What this action needs and what it cannot take, before the fields' own checks."""
        if cls is Action or not isinstance(data, dict):
            return data
        own = _keys(cls)
        given = {"for" if k == "for_" else k for k, v in data.items() if v is not None}
        missing = sorted(k for k, required in own.items() if required and k not in given)
        extra = sorted((given & _ALL_KEYS) - own.keys())
        name = _name(cls)
        if missing:
            raise ValueError(f"{name} needs {', '.join(missing)}")
        if extra:
            raise ValueError(f"{name} takes no {', '.join(extra)}")
        return data

    @property
    def end(self) -> float | None:
        lasts = getattr(self, "for_", None)
        return None if lasts is None else self.at + lasts

    @property
    def instant(self) -> bool:
        """Over when it happens (a kill, a scale), rather than lasting until `for` ends."""
        return self.momentary and self.end is None


_BASE = frozenset({"id", "at", "action"})


def _name(cls: type[Action]) -> str:
    """The `action:` a class answers to (its Literal)."""
    return cls.model_fields["action"].annotation.__args__[0]


def _keys(cls: type[Action]) -> dict[str, bool]:
    """An action's own fields as a file spells them, and whether each is required."""
    return {f.alias or n: f.is_required() for n, f in cls.model_fields.items() if n not in _BASE}


# ------------------------------------------------------------- Kubernetes


class KillPod(Action):
    """Pods deleted at once; the ReplicaSet starts new ones after their startup time."""

    action: Literal["kill-pod"]
    target: str
    count: Count = None
    for_: For = None
    acts_on: ClassVar = ("service", "worker")
    momentary: ClassVar = True


class Scale(Action):
    """The Deployment scaled, as `kubectl scale`."""

    action: Literal["scale"]
    target: str
    replicas: int = Field(ge=0)
    acts_on: ClassVar = ("service", "worker")
    momentary: ClassVar = True


class RollingUpdate(Action):
    """A Deployment rollout; without a preStop delay, pods close their listener before
    the endpoints update."""

    action: Literal["rolling-update"]
    target: str
    pre_stop: Duration | None = Field(
        default=None, ge=0, description="preStop sleep of the old pods; unset: the workload's.")
    acts_on: ClassVar = ("service", "worker")
    momentary: ClassVar = True


class NodeDown(Action):
    """The kubelet stops: NotReady after the grace period, evictions after tolerationSeconds."""

    action: Literal["node-down"]
    target: str
    for_: For = None
    acts_on: ClassVar = ("node",)


class Drain(Action):
    """`kubectl drain`: evictions a PodDisruptionBudget refuses are retried; uncordoned
    when `for` ends."""

    action: Literal["drain"]
    target: str
    for_: For = None
    acts_on: ClassVar = ("node",)


class ControlPlaneDown(Action):
    """Running pods go on; nothing is rescheduled, the HPAs stop, endpoints go stale."""

    action: Literal["control-plane-down"]
    for_: For = None


# ------------------------------------------------------------------ stores


class _StoreFault(Action):
    """A fault of one store: the one named, else the topology's only store of its kind."""

    target: str | None = None
    for_: For = None
    acts_on: ClassVar = ("store",)


class RedisMasterCrash(_StoreFault):
    """The master process dies; Sentinel fails over."""

    action: Literal["redis-master-crash"]
    store_kind: ClassVar = "redis"


class RedisRestartEmpty(_StoreFault):
    """The master's pod restarts before down-after, without persistence: empty."""

    action: Literal["redis-restart-empty"]
    store_kind: ClassVar = "redis"


class SentinelDown(Action):
    """Sentinels stop (they still count as voters)."""

    action: Literal["sentinel-down"]
    target: str | None = None
    count: Count = None
    for_: For = None
    acts_on: ClassVar = ("store",)
    store_kind: ClassVar = "redis"


class Partition(Action):
    """The components under `isolate` cut off from everything else. Inside a Redis
    store, `master` (whichever server is master at that moment), the servers
    `redis-0`, `redis-1`, ... and the sentinels `sentinel/0`, ... name its members;
    `service/NAME`, `node/NAME` or `pool/NAME` put those clients on the isolated side.
    Without a target, every store is cut."""

    action: Literal["partition"]
    isolate: list[str] = Field(min_length=1)
    target: str | None = None
    for_: For = None
    acts_on: ClassVar = ("store",)


class StoreDown(Action):
    """A store unreachable."""

    action: Literal["store-down"]
    target: str
    for_: For = None
    acts_on: ClassVar = ("store",)


class PostgresPrimaryDown(_StoreFault):
    """The primary stops: Patroni fails over (HA) or the store waits for someone (single)."""

    action: Literal["postgres-primary-down"]
    store_kind: ClassVar = "postgres"


class BrokerDown(_StoreFault):
    """RabbitMQ stops; consumers lose their channels."""

    action: Literal["broker-down"]
    store_kind: ClassVar = "rabbitmq"


class RabbitmqMemoryAlarm(_StoreFault):
    """The broker's memory alarm: publishers blocked (a publish hangs, it does not fail)."""

    action: Literal["rabbitmq-memory-alarm"]
    store_kind: ClassVar = "rabbitmq"


# ----------------------------------------------------------------- workers


class WorkerCrash(Action):
    """The worker containers holding the most tasks SIGKILLed (an OOM kill); the broker
    requeues or loses their tasks by `acks_late`."""

    action: Literal["worker-crash"]
    target: str
    count: Count = None
    acts_on: ClassVar = ("worker",)
    momentary: ClassVar = True


class PoisonMessage(Action):
    """A task that crashes the worker container (`pod`) or the pool process (`process`)
    that runs it."""

    action: Literal["poison-message"]
    target: str
    count: Count = None
    delay: Duration | None = Field(default=None, gt=0, description="Task time before the crash (1s).")
    kills: Literal["pod", "process"] | None = Field(
        default=None,
        description="The worker container (pod, default) or one prefork child "
                    "(process: the pod lives on, reject_on_worker_lost decides the message).")
    acts_on: ClassVar = ("worker",)
    momentary: ClassVar = True


# --------------------------------------------------- the mesh and the LLM


class ExternalSlow(Action):
    """The provider's latency times `factor`."""

    action: Literal["external-slow"]
    target: str
    factor: float = Field(gt=0, description="Latency multiplier (10: ten times slower).")
    for_: For = None
    acts_on: ClassVar = ("external",)


class ExternalRateLimit(Action):
    """The provider answers 429 above `rate` calls per second."""

    action: Literal["external-rate-limit"]
    target: str
    rate: float = Field(gt=0, description="Calls per second before 429s.")
    for_: For = None
    acts_on: ClassVar = ("external",)


class MeshFault(Action):
    """Istio fault injection on the routes to the service, spent in the caller's sidecar."""

    action: Literal["mesh-fault"]
    target: str
    delay: Duration | None = Field(default=None, gt=0, description="Injected delay.")
    abort_status: int | None = Field(default=None, ge=200, le=599, description="Injected HTTP status.")
    percent: float | None = Field(default=None, ge=0, le=100,
                                  description="Share of requests hit (default 100).")
    abort_percent: float | None = Field(
        default=None, ge=0, le=100, description="Share of requests aborted, when it differs from `percent`.")
    subset: str | None = Field(default=None, description="Only tries bound for this subset (e.g. v2).")
    for_: For = None
    acts_on: ClassVar = ("service",)

    @model_validator(mode="after")
    def _fault(self) -> MeshFault:
        if self.delay is None and self.abort_status is None:
            raise ValueError("mesh-fault needs delay, abort_status or both")
        return self


class ServiceSlow(Action):
    """The service's own pods take `delay` longer per request (a dependency it waits on,
    a long GC), so the callers' per-try timeouts fire and retries multiply."""

    action: Literal["service-slow"]
    target: str
    delay: Duration = Field(gt=0, description="Time each request takes longer.")
    for_: For = None
    acts_on: ClassVar = ("service", "worker")


# ------------------------------------------------------------------ the union

ACTIONS: tuple[type[Action], ...] = (
    KillPod, RedisMasterCrash, RedisRestartEmpty, SentinelDown, Partition, NodeDown, StoreDown,
    Scale, ControlPlaneDown, WorkerCrash, BrokerDown, RabbitmqMemoryAlarm, PostgresPrimaryDown,
    ExternalSlow, ExternalRateLimit, MeshFault, ServiceSlow, Drain, RollingUpdate, PoisonMessage,
)
NAMES: tuple[str, ...] = tuple(_name(c) for c in ACTIONS)
ActionName = Literal[NAMES]  # type: ignore[valid-type]
_ALL_KEYS = frozenset(k for c in ACTIONS for k in _keys(c))


def _named(value: Any) -> Any:
    """A missing or unknown `action:` is the action field's problem, with a "did you mean"
    (the union alone would blame the whole item)."""
    if not isinstance(value, dict):
        return value
    if "action" not in value:
        raise ValidationError.from_exception_data("Action", [InitErrorDetails(
            type="missing", loc=("action",), input=value)])
    name = value["action"]
    if name in NAMES:
        return value
    close = difflib.get_close_matches(str(name), NAMES, n=3, cutoff=0.6)
    hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f" (the actions: {', '.join(NAMES)})")
    raise ValidationError.from_exception_data("Action", [InitErrorDetails(
        type=PydanticCustomError("unknown_action", f"no action named {name!r}{hint}"),
        loc=("action",), input=name)])


AnyAction = Annotated[Union[ACTIONS], Field(discriminator="action"), BeforeValidator(_named)]  # noqa: UP007
ANY_ACTION: TypeAdapter[Action] = TypeAdapter(AnyAction)


__all__ = ["ACTIONS", "NAMES", "Action", "ActionName", "AnyAction", "BrokerDown", "ControlPlaneDown",
           "Drain", "ExternalRateLimit", "ExternalSlow", "KillPod", "MeshFault", "NodeDown",
           "Partition", "PoisonMessage", "PostgresPrimaryDown", "RabbitmqMemoryAlarm",
           "RedisMasterCrash", "RedisRestartEmpty", "RollingUpdate", "Scale", "SentinelDown",
           "ServiceSlow", "StoreDown", "WorkerCrash"]
