"""Every place a name is checked says which known name a misspelling probably meant:
fields (topology, scenario, sweep), topology references, scenario targets, check
metrics and windows, the saturation check's workload, loads, `--set` and `overrides:`
paths, a sweep's axes and SLO. One table: each row a misspelling and the suggestion."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.loading.files import load, load_topology
from twin.model.errors import ModelError
from twin.scenario.loader import load as load_scenario

ROOT = Path(__file__).resolve().parents[1]
PROD = (ROOT / "topologies" / "eco2-prod.yaml").read_text(encoding="utf-8")
SCENARIO = (ROOT / "scenarios" / "redis-master-crash.yaml").read_text(encoding="utf-8") \
    .replace("../topologies/", "")
SWEEP = (ROOT / "sweeps" / "chat-3x.yaml").read_text(encoding="utf-8").replace("../topologies/", "")
FILES = {"topology": PROD, "scenario": SCENARIO, "sweep": SWEEP}

GATE_METRICS = "twin/scenario/metrics.py and checks.py (gate-metrics): no did-you-mean yet"


def case(name: str, *values: object, gap: bool = False) -> object:
    """A row; `gap`: a place known to lack the suggestion (strict: it fails once fixed)."""
    marks = [pytest.mark.xfail(strict=True, reason=GATE_METRICS)] if gap else []
    return pytest.param(*values, id=name, marks=marks)


CASES = [
    # (id, file kind, text replaced, by, --set, the field named, the suggestion)
    case("topology field", "topology", "    replicas: 3                   # v1",
     "    replicaz: 3                   # v1", (), "services.chat-api.replicaz", "'replicas'"),
    case("nested field", "topology", "      quorum: 2", "      quorom: 2", (),
     "stores.redis.sentinel.quorom", "'quorum'"),
    case("client store", "topology", "    clients: [{store: redis, via: sentinel}]\n  - name: scan-api",
     "    clients: [{store: rediss, via: sentinel}]\n  - name: scan-api", (),
     "services.chat-api.clients.rediss.store", "'redis'"),
    case("hpa queue", "topology", "queue: scan-tasks", "queue: scan-taks", (),
     "workers.scan-worker.hpa.queue", "'scan-tasks'"),
    case("overlay item", "topology", "  - name: scan-api\n", "  - name: scan-apii\n", (),
     "services.scan-apii", "'scan-api'"),
    case("overlay store", "topology", "  - name: postgres\n", "  - name: postgress\n", (),
     "stores.postgress", "'postgres'"),
    case("scenario field", "scenario", "    stat: delay\n", "    stta: delay\n", (),
     "checks.sentinel reaches SDOWN after down-after.stta", "'stat'"),
    case("fault target", "scenario", "    target: store/redis", "    target: store/rediss", (),
     "timeline.0.target", "store/redis"),
    case("bare fault target", "scenario", "    target: store/redis", "    target: rediss", (),
     "timeline.0.target", "store/redis"),
    case("action", "scenario", "action: redis-master-crash", "action: redis-master-crsh", (),
     "timeline.0.action", "'redis-master-crash'"),
    case("check metric's route", "scenario", "    metric: route/chat.error_rate\n    window: warmup",
     "    metric: route/chta.error_rate\n    window: warmup", (),
     "checks.chat is healthy before the crash.metric", "route/chat"),
    case("check metric's store", "scenario", "metric: store/redis.subscriptions_dropped",
     "metric: store/rediss.subscriptions_dropped", (),
     "checks.the crash drops the SSE gateway's Pub/Sub subscriptions.metric", "store/redis"),
    case("check metric's name", "scenario", "    metric: route/chat.error_rate\n    window: warmup",
                 "    metric: route/chat.eror_rate\n    window: warmup", (),
                 "checks.chat is healthy before the crash.metric", "'error_rate'"),
    case("check event", "scenario", "event: +failover-end", "event: +failover-edn", (),
     "checks.exactly one failover.event", "'+failover-end'"),
    case("saturation workload", "scenario", "    saturation: any",
                 "    saturation: workload/chat-workr", (),
                 "checks.every worker and queue keeps up at peak.saturation", "'chat-worker'"),
    case("recovery's fault", "scenario", "    after: crash", "    after: crsh", (),
     "checks.chat recovers after the failover.after", "'crash'"),
    case("window's fault", "scenario", "    window: warmup..crash", "    window: warmup..crsh", (),
     "checks.chat is healthy before the crash.window", "'crash'"),
    case("bound's topology path", "scenario", "    max: stores.redis.sentinel.down_after + 15s",
     "    max: stores.redis.sentinel.down_aftr + 15s", (),
     "checks.failover completes within 15s of down-after.max", "'down_after'"),
    case("scenario load route", "scenario", "  scale: 2.0 ", "  rates: {chta: 2/s}\n  scale: 2.0 ", (),
     "load.rates.chta", "'chat'"),
    case("overrides item", "scenario", "replications: 3\n",
     "replications: 3\noverrides:\n  services.chat-apii.replicas: 4\n", (),
     "services.chat-apii.replicas", "'chat-api'"),
    case("overrides field", "scenario", "replications: 3\n",
     "replications: 3\noverrides:\n  stores.redis.sentinel.down_aftr: 5s\n", (),
     "stores.redis.sentinel.down_aftr", "'down_after'"),
    case("--set item", "topology", "", "", ("services.chat-apii.replicas=4",),
     "services.chat-apii.replicas", "'chat-api'"),
    case("--set field", "topology", "", "", ("stores.redis.sentinel.down_aftr=5s",),
     "stores.redis.sentinel.down_aftr", "'down_after'"),
    case("--set top", "topology", "", "", ("servces.chat-api.replicas=4",), "servces", "'services'"),
    case("--set scenario field", "scenario", "", "", ("scenario.duraton=4m",), "duraton", "'duration'"),
    case("--set fault id", "scenario", "", "", ("scenario.timeline.crsh.at=4m",),
     "timeline.crsh.at", "'crash'"),
    case("sweep field", "sweep", "replications:", "replicatons:", (), "replicatons", "'replications'"),
    case("sweep axis item", "sweep", "path: workers.chat-worker.replicas",
     "path: workers.chat-workr.replicas", (), "workers.chat-workr.replicas", "'chat-worker'"),
    case("sweep axis route", "sweep", "path: load.chat", "path: load.chta", (), "axes.0.path", "'chat'"),
    case("sweep load route", "sweep", "rates: {chat: 2/s}", "rates: {chta: 2/s}", (),
     "load.rates.chta", "'chat'"),
    case("sweep SLO", "sweep", "route/chat/end_to_end.p95", "route/chta/end_to_end.p95", (),
     "slo.metric", "route/chat"),
]


@pytest.mark.parametrize(("kind", "old", "new", "sets", "field", "meant"), CASES)
def test_a_misspelling_names_what_was_meant(kind: str, old: str, new: str, sets: tuple[str, ...],
                                            field: str, meant: str, tmp_path: Path) -> None:
    for name in ("eco2-base.yaml", "eco2-prod.yaml"):
        (tmp_path / name).write_text((ROOT / "topologies" / name).read_text(encoding="utf-8"),
                                     encoding="utf-8")
    text = FILES[kind]
    assert old in text
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ModelError) as e:
        if kind == "scenario" and sets:
            load_scenario(path, sets)
        elif sets:
            load_topology(path, sets)
        else:
            load(path)
    said = {p.field: p.message for p in e.value.problems}
    assert field in said, said
    assert f"did you mean {meant}" in said[field]
