"""Shared building blocks of every file kind: strict models, names, distributions."""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from twin.model.errors import closest
from twin.model.units import Duration

API_VERSION = "twin.eco2/v1"

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a valid DNS-1123 label "
            "(lower-case letters, digits and '-', starting and ending alphanumeric, at most 63)"
        )
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Strict(BaseModel):
    """Unknown fields are errors: a typo must not pass silently, and one close to a known
    field says which (`concurency`: did you mean 'concurrency'?). YAML's .inf and .nan are
    no numbers a cluster has (a run of .inf seconds would never end)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _spelling(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(data)
        except ValidationError as e:
            names = [n for name, f in cls.model_fields.items() for n in (name, f.alias) if n]
            errors = e.errors()
            hints = {i: match for i, err in enumerate(errors)
                     if err["type"] == "extra_forbidden" and len(err["loc"]) == 1
                     and (match := closest(str(err["loc"][0]), names)) is not None}
            if not hints:
                raise
            raise ValidationError.from_exception_data(e.title, [
                _unknown(err, hints[i]) if i in hints else _again(err)
                for i, err in enumerate(errors)]) from None


_PYDANTIC_ERRORS = frozenset(typing.get_args(ErrorType))


def _unknown(err: Any, match: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(
        "unknown_field", f"unknown field (check the spelling; did you mean {match!r}?)"),
        loc=err["loc"], input=err["input"])


def _again(err: Any) -> InitErrorDetails:
    """An error as it was, to raise once more beside a spelling hint."""
    if err["type"] in _PYDANTIC_ERRORS:
        detail = InitErrorDetails(type=err["type"], loc=err["loc"], input=err["input"])
        if "ctx" in err:
            detail["ctx"] = err["ctx"]
        return detail
    return InitErrorDetails(type=PydanticCustomError(err["type"], err["msg"]),
                            loc=err["loc"], input=err["input"])


class Named(Strict):
    name: DnsLabel


ErrorKind = Literal["5xx", "reset", "timeout"]


class Distribution(Strict):
    """A service-time or latency distribution.

    exponential: `mean`. lognormal: `mean` and `cv` (coefficient of variation),
    or `median` and `p99`. constant: `value`. empirical: `samples`, drawn with
    replacement. uniform: `low` and `high`.
    """

    dist: Literal["exponential", "lognormal", "constant", "empirical", "uniform"]
    mean: Duration | None = None
    cv: float | None = Field(default=None, gt=0)
    median: Duration | None = None
    p99: Duration | None = None
    value: Duration | None = None
    samples: list[Duration] | None = None
    low: Duration | None = None
    high: Duration | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        need = {
            "exponential": [("mean",)],
            "lognormal": [("mean", "cv"), ("median", "p99")],
            "constant": [("value",)],
            "empirical": [("samples",)],
            "uniform": [("low", "high")],
        }[self.dist]
        if not any(all(getattr(self, f) is not None for f in group) for group in need):
            wanted = " or ".join(" and ".join(g) for g in need)
            raise ValueError(f"a {self.dist} distribution needs {wanted}")
        if self.dist == "empirical" and not self.samples:
            raise ValueError("an empirical distribution needs at least one sample")
        if self.dist == "lognormal" and self.median is not None and self.p99 is not None:
            if self.p99 <= self.median:
                raise ValueError("p99 must be larger than the median")
        if self.dist == "uniform" and self.high is not None and self.low is not None:
            if self.high < self.low:
                raise ValueError("high must not be below low")
        return self

    @property
    def expected(self) -> float:
        """Mean in seconds, for analytical models."""
        import math

        if self.dist == "exponential":
            return float(self.mean)
        if self.dist == "constant":
            return float(self.value)
        if self.dist == "uniform":
            return (self.low + self.high) / 2
        if self.dist == "empirical":
            return sum(self.samples) / len(self.samples)
        if self.mean is not None:
            return float(self.mean)
        sigma = math.log(self.p99 / self.median) / 2.3263478740408408
        return self.median * math.exp(sigma**2 / 2)

    @property
    def second_moment(self) -> float:
        """E[S^2], for Pollaczek-Khinchine."""
        import math

        m = self.expected
        if self.dist == "exponential":
            return 2 * m * m
        if self.dist == "constant":
            return m * m
        if self.dist == "uniform":
            return (self.low**2 + self.low * self.high + self.high**2) / 3
        if self.dist == "empirical":
            return sum(s * s for s in self.samples) / len(self.samples)
        if self.cv is not None:
            return m * m * (1 + self.cv**2)
        sigma = math.log(self.p99 / self.median) / 2.3263478740408408
        return m * m * math.exp(sigma**2)


def exponential(mean: float) -> Distribution:
    return Distribution(dist="exponential", mean=mean)


def constant(value: float) -> Distribution:
    return Distribution(dist="constant", value=value)
