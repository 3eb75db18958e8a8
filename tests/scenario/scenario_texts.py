"""Texts the scenario tests share, under a name no other test folder uses
(`from conftest import` finds whichever conftest was imported first)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "topologies" / "eco2-prod.yaml"

CRASH = """\
name: crash
duration: 120s
warmup: 10s
replications: 2
timeline:
  - {id: kill, at: 40s, action: redis-master-crash, for: 20s}
checks:
  - name: failover within 40s
    event: +switch-master
    stat: delay
    window: kill..end
    max: 40s
  - name: chat errors during the crash
    metric: route/chat.error_rate
    window: kill..kill.end
    max: 0.5
  - name: chat recovers
    recovery: route/chat.error_rate
    after: kill
    within: 10s
    max: 0.01
"""
