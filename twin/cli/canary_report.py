"""The canary's part of `twin run`'s report: each replication's decision, when, and the
users the canary served badly until then (twin.result.model.CanaryOutcome)."""

from __future__ import annotations

from typing import Any

from twin.model.units import format_duration


def _at(t: float | None) -> str:
    return "-" if t is None else format_duration(t)


def print_canary(run: Any, console: Any) -> None:
    """Nothing when the scenario has no canary."""
    from rich.table import Table

    outcomes = [r.canary for r in getattr(run.result.result, "runs", []) if r.canary is not None]
    if not outcomes:
        return
    first = outcomes[0]
    t = Table(title=f"Canary {first.service} {first.canary} ({first.strategy}, "
                    f"{first.judge} judge)", title_justify="left", box=None, pad_edge=False)
    for col in ("rep", "decision", "at", "first failed check", "canary tries", "failed", "slow"):
        t.add_column(col, justify="left" if col == "decision" else "right")
    for i, o in enumerate(outcomes, start=1):
        t.add_row(str(i), o.decision or "undecided", _at(o.decided_at or o.detected_at),
                  _at(o.first_failure), str(o.canary_tries), str(o.failed_tries), str(o.slow_tries))
    console.print(t)
    console.print("  [dim]failed and slow: the canary's tries until the decision (slow: over "
                  "the request-duration bound), the users it hurt meanwhile[/]")
