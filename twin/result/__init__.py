"""The one Result shape of every backend (pure data): see twin.result.model."""

from twin.result.model import (
    CheckOutcome,
    Estimate,
    Event,
    ReplicationResult,
    Result,
    RunInfo,
    Saturation,
    Summary,
)

__all__ = ["CheckOutcome", "Estimate", "Event", "ReplicationResult", "Result", "RunInfo", "Saturation",
           "Summary"]
