"""A route's steps, one class per kind, and the one walk over them.

A step says what a request does next: `call` a service, use a `store`, `publish`
to a queue, wait on an `external` dependency, hold a `stream` open, `emit`
events, or take one `branch`. The key present in the file picks the kind, so a
step is written as before (`- call: chat-api`); a step with none of these keys,
or two, is an error naming both.

Which steps run where (a call's inside the callee, a publish's later in the
queue's consumer, a fallback's where its step failed, a branch's for a share of
requests) is decided once, by `walk`; every consumer (reference checks, call
paths, the dependency graph, blast radius, the stand-ins' work, the simulator's
plans) reads the same contexts from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BeforeValidator, Discriminator, Field, Tag, model_validator

from twin.model.base import Distribution, ErrorKind, Probability, Strict
from twin.model.units import Duration

if TYPE_CHECKING:
    from twin.model.topology import Route, Topology

OnFailure = Literal["fail", "degrade", "fallback"]
StoreOp = Literal["read", "write", "xadd", "publish", "subscribe", "query"]
Slot = Literal["steps", "branch", "fallback"]
"""A step's inner lists: a call's or a publish's `steps`, a branch's choices, its fallback."""

TARGETS = ("call", "store", "publish", "external", "stream", "emit", "branch")
"""The keys that pick a step's kind, in the order errors name them."""


class StepBase(Strict):
    """What every kind of step shares: what a failure of it does to the request."""

    target_field: ClassVar[str]
    """The key that picks this kind (`call`, `store`, ...)."""

    on_failure: OnFailure = "fail"
    fallback: list[Step] = []

    @model_validator(mode="after")
    def _fallback_given(self) -> StepBase:
        if self.on_failure == "fallback" and not self.fallback:
            raise ValueError("on_failure fallback needs fallback steps")
        return self


class CallStep(StepBase):
    """A service, synchronously through the mesh; its `steps` run inside it."""

    target_field: ClassVar[str] = "call"
    call: str
    service_time: Distribution | None = None
    error_rate: Probability | None = None
    error_kind: ErrorKind | None = None
    timeout: Duration | None = None
    steps: list[Step] = []


class StoreStep(StepBase):
    """An operation on a data store."""

    target_field: ClassVar[str] = "store"
    store: str
    op: StoreOp | None = None
    service_time: Distribution | None = None
    error_rate: Probability | None = None
    error_kind: ErrorKind | None = None

    @model_validator(mode="after")
    def _op_given(self) -> StoreStep:
        if self.op is None:
            raise ValueError("a store step needs an op")
        return self


class PublishStep(StepBase):
    """A message to a queue; its `steps` run later, in the worker that consumes it."""

    target_field: ClassVar[str] = "publish"
    publish: str
    steps: list[Step] = []


class ExternalStep(StepBase):
    """A call to a dependency outside the cluster (the LLM provider)."""

    target_field: ClassVar[str] = "external"
    external: str
    service_time: Distribution | None = None
    error_rate: Probability | None = None
    error_kind: ErrorKind | None = None
    timeout: Duration | None = None


class StreamStep(StepBase):
    """A long-lived SSE connection held open on a service: on an asynchronous route
    until the reply's last event, at most `duration` (the client gives up)."""

    target_field: ClassVar[str] = "stream"
    stream: str
    duration: Distribution | None = None
    service_time: Distribution | None = Field(
        default=None, description="Read as the duration when duration is unset.")


class EmitStep(StepBase):
    """`count` events to a service through Redis Streams, the event router and
    Pub/Sub (the chat reply stream)."""

    target_field: ClassVar[str] = "emit"
    emit: str
    count: int = Field(default=1, ge=1)
    via: list[str] = Field(default=[], description="The services and stores events pass through.")


class Branch(Strict):
    """One choice of a branch step, taken by `probability` of the requests."""

    probability: Probability
    steps: list[Step] = []


class BranchStep(StepBase):
    """One of several step lists, chosen by probability (none, if they add up to less than 1)."""

    target_field: ClassVar[str] = "branch"
    branch: list[Branch]

    @model_validator(mode="after")
    def _probabilities(self) -> BranchStep:
        total = sum(b.probability for b in self.branch)
        if total > 1.0 + 1e-9:
            raise ValueError(f"branch probabilities add up to {total:g}, more than 1")
        return self


KINDS: dict[str, type[StepBase]] = {
    cls.target_field: cls
    for cls in (CallStep, StoreStep, PublishStep, ExternalStep, StreamStep, EmitStep, BranchStep)
}
"""Each kind's class by the key that picks it, in TARGETS' order."""


def _present(value: dict) -> list[str]:
    return [f for f in TARGETS if value.get(f) is not None]


def _kind(value: Any) -> str | None:
    """The union's tag: the class named by the one target key (None: not a step)."""
    if isinstance(value, StepBase):
        return type(value).__name__
    if isinstance(value, dict):
        present = _present(value)
        if len(present) == 1:
            return KINDS[present[0]].__name__
    return None


def _one_target(value: Any) -> Any:
    """Exactly one target key (a key set to null counts as absent, as it always did)."""
    if not isinstance(value, dict):
        return value
    present = _present(value)
    if len(present) != 1:
        raise ValueError(f"a step sets exactly one of {', '.join(TARGETS)}; this one sets "
                         + (", ".join(present) or "none"))
    if len(present) != sum(1 for f in TARGETS if f in value):
        value = {k: v for k, v in value.items() if not (k in TARGETS and v is None)}
    return value


Step = Annotated[
    Union[tuple(Annotated[cls, Tag(cls.__name__)] for cls in KINDS.values())],  # noqa: UP007
    Discriminator(_kind, custom_error_type="step_type",
                  custom_error_message="Input should be a valid dictionary or instance of Step"),
    BeforeValidator(_one_target),
]
"""Any kind of step; its tag in a pydantic error location is the class's name (`CallStep`)."""


# ------------------------------------------------------------------------ walk


@dataclass(frozen=True, slots=True)
class StepContext:
    """Where a step sits in its route and how a request reaches it."""

    path: tuple[str | int, ...]
    """Its location under the route, as in the file: ("steps", 0, "fallback", 1)."""
    runs_in: str | None
    """The component that runs it (`route/chat` for a route's own steps, `service/chat-api`
    inside a call, `worker/chat-worker` after a publish); None after a publish to a queue
    that no worker consumes."""
    depth: int = 0
    """How many steps enclose it."""
    sync: bool = True
    """False once a publish has handed the rest to a worker: the caller does not wait."""
    share: float = 1.0
    """The share of the route's requests that take it (the branch probabilities on the way)."""
    in_fallback: bool = False
    """Inside some step's fallback: run only when that step failed."""
    parent: StepContext | None = None
    """The enclosing step's context (None for the route's own steps)."""
    slot: Slot | None = None
    """Which of the enclosing step's lists it is in."""
    choice: int | None = None
    """In slot `branch`: the index of the choice."""

    @property
    def index(self) -> int:
        """Its position in its own list."""
        last = self.path[-1]
        assert isinstance(last, int)
        return last


class Walk(Iterator[tuple[StepBase, StepContext]]):
    """Depth first in file order: a step, then its inner steps (a call's or a publish's
    `steps`, a branch's choices in order), then its fallback.

    `prune()` after a step leaves out its inner lists (or only the slots named), as
    `os.walk` lets a caller cut directories: blast radius stops where a request stops.
    """

    def __init__(self, topology: Topology, steps: Sequence[StepBase], runs_in: str | None):
        self._topology = topology
        self._stack: list[tuple[StepBase, StepContext]] = list(reversed(
            [(s, StepContext(("steps", i), runs_in)) for i, s in enumerate(steps)]))
        self._last: tuple[StepBase, StepContext] | None = None
        self._pruned: frozenset[str] = frozenset()

    def __iter__(self) -> Walk:
        return self

    def __next__(self) -> tuple[StepBase, StepContext]:
        if self._last is not None:
            step, ctx = self._last
            self._stack.extend(reversed([c for c in self._inner(step, ctx)
                                         if c[1].slot not in self._pruned]))
            self._last = None
        if not self._stack:
            raise StopIteration
        self._last = self._stack.pop()
        self._pruned = frozenset()
        return self._last

    def prune(self, *slots: Slot) -> None:
        """Do not enter the last step's inner lists: all of them, or the slots named."""
        self._pruned = frozenset(slots or ("steps", "branch", "fallback"))

    def _inner(self, step: StepBase, ctx: StepContext) -> Iterator[tuple[StepBase, StepContext]]:
        if isinstance(step, CallStep):
            yield from _inside(step.steps, ctx, "steps", runs_in=f"service/{step.call}")
        elif isinstance(step, PublishStep):
            worker = self._topology.consumer(step.publish)
            yield from _inside(step.steps, ctx, "steps", sync=False,
                               runs_in=f"worker/{worker.name}" if worker is not None else None)
        elif isinstance(step, BranchStep):
            for bi, b in enumerate(step.branch):
                yield from _inside(b.steps, ctx, "branch", choice=bi,
                                   share=ctx.share * b.probability)
        yield from _inside(step.fallback, ctx, "fallback", in_fallback=True)


def _inside(steps: Sequence[StepBase], parent: StepContext, slot: Slot,
            choice: int | None = None, **changes: Any) -> Iterator[tuple[StepBase, StepContext]]:
    where = (*parent.path, "branch", choice, "steps") if slot == "branch" else (*parent.path, slot)
    base = {"runs_in": parent.runs_in, "sync": parent.sync, "share": parent.share,
            "in_fallback": parent.in_fallback, **changes}
    for i, s in enumerate(steps):
        yield s, StepContext((*where, i), depth=parent.depth + 1, parent=parent, slot=slot,
                             choice=choice, **base)


def walk(topology: Topology, steps: Sequence[StepBase], runs_in: str | None = None) -> Walk:
    """Every step under `steps` with its context; `runs_in` names who runs the first ones."""
    return Walk(topology, steps, runs_in)


def route_walk(topology: Topology, route: Route) -> Walk:
    """A route's steps, its own first ones run by `route/NAME`."""
    return Walk(topology, route.steps, f"route/{route.name}")


for _cls in (*KINDS.values(), Branch):
    _cls.model_rebuild()
