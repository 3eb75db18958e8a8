"""Why a request failed, and which failures a retry policy retries.

Causes are plain strings so that results stay readable; every cause a result
can report is listed here. RETRY_ON says which causes each Istio `retryOn`
condition covers (Envoy's router semantics).
"""

from __future__ import annotations

TIMEOUT = "timeout"  # a route or per-try timeout expired (504)
OVERFLOW = "overflow"  # connection-pool limit: Envoy answers 503 at once
NO_ENDPOINT = "no_endpoint"  # no ready, non-ejected endpoint (503 no healthy upstream)
CONNECT_FAILURE = "connect_failure"  # refused at once (listener closed) or timed out (node gone)
STORE_DOWN = "store_down"  # the data store cannot be reached or refuses the write
CONNECTION_LIMIT = "connection_limit"  # PostgreSQL max_connections: no connection for this pod
RATE_LIMITED = "rate_limited"  # an external dependency answered 429
SERVER_ERROR = "5xx"  # the application answered 5xx
RESET = "reset"  # the connection was reset (pod killed mid-request)
QUEUE_FULL = "queue_full"  # RabbitMQ x-max-length with reject-publish
MESSAGE_LOST = "message_lost"  # a task died with its worker (acks_late off) or was dropped
FAULT_ABORT = "fault_abort"  # a VirtualService fault injection aborted the request
PENDING = "pending"  # an asynchronous part was still running when the run ended

ALL = (TIMEOUT, OVERFLOW, NO_ENDPOINT, CONNECT_FAILURE, STORE_DOWN, CONNECTION_LIMIT,
       RATE_LIMITED, SERVER_ERROR, RESET, QUEUE_FULL, MESSAGE_LOST, FAULT_ABORT, PENDING)

# The cause a caller sees when the callee failed because of something further down:
# the callee answers 500, whatever the root cause was.
UPSTREAM_KIND = SERVER_ERROR

RETRY_ON: dict[str, frozenset[str]] = {
    "5xx": frozenset({SERVER_ERROR, TIMEOUT, RESET, CONNECT_FAILURE, OVERFLOW, NO_ENDPOINT}),
    "gateway-error": frozenset({TIMEOUT, OVERFLOW, NO_ENDPOINT, CONNECT_FAILURE}),
    "reset": frozenset({RESET, TIMEOUT, CONNECT_FAILURE}),
    "connect-failure": frozenset({CONNECT_FAILURE}),
    "refused-stream": frozenset({OVERFLOW}),
    "unavailable": frozenset({NO_ENDPOINT}),
    "cancelled": frozenset(),
    "retriable-4xx": frozenset(),
    "retriable-status-codes": frozenset(),
    "429": frozenset({RATE_LIMITED}),
    "503": frozenset({OVERFLOW, NO_ENDPOINT}),
    "500": frozenset({SERVER_ERROR}),
    "504": frozenset({TIMEOUT}),
}


def retried(retry_on: list[str]) -> frozenset[str]:
    """The causes a retryOn list retries (unknown conditions retry nothing)."""
    out: set[str] = set()
    for cond in retry_on:
        out |= RETRY_ON.get(cond.strip(), frozenset())
    return frozenset(out)


def from_error_kind(kind: str) -> str:
    """The cause for a model ErrorKind (`5xx`, `reset`, `timeout`)."""
    return {"5xx": SERVER_ERROR, "reset": RESET, "timeout": TIMEOUT}[kind]
