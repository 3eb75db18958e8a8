"""HPAs settle at ceil(current x metric / target) within their limits, and the pods
they ask for are placed on hand-made pools: sidecars, DaemonSets and N-1 counted."""

from __future__ import annotations

import math

import pytest
from capacity_helpers import topology

from twin.capacity import fit
from twin.capacity.whatif import answer

# One pod = 300m + a 100m sidecar = 400m; each node 1 CPU, with a 100m DaemonSet.
POOL = """
pools:
  - name: app
    cpu: "1"
    memory: 4Gi
    nodes: [{name: w1}, {name: w2}]
namespaces:
  - {name: web, tier: business-logic}
  - {name: data, tier: data, sidecar_injection: false}
  - {name: istio-system, tier: platform, sidecar_injection: false, part_of: false}
  - {name: kube-system, tier: infrastructure, sidecar_injection: false, part_of: false}
daemonsets:
  - name: kube-proxy
    namespace: kube-system
    resources: {requests: {cpu: 100m, memory: 64Mi}}
    placement: {tolerations: [{operator: Exists}]}
services:
  - name: web
    namespace: web
    replicas: 2
    concurrency: 4
    cpu_share: 1.0
    service_time: {dist: exponential, mean: 100ms}
    resources: {requests: {cpu: 300m, memory: 256Mi}}
    hpa: {min: 2, max: 6, target: 50}
    clients: [{store: db, pool: 10}]
stores:
  - name: db
    kind: postgres
    namespace: data
    max_connections: 50
    resources: {requests: {cpu: 100m, memory: 128Mi}}
mesh:
  gateway: {name: gw}
  sidecar: {latency: 0s, resources: {requests: {cpu: 100m, memory: 64Mi}}}
  virtual_services:
    - {name: web-vs, namespace: web, gateways: [gw], http: [{route: [{host: web}]}]}
  destination_rules:
    - {name: web, namespace: web, host: web, load_balancer: RANDOM}
routes:
  - {name: page, entry: web-vs, rate: 4/s, steps: [{call: web}]}
"""


def hpa_of(a, name: str = "web"):
    return next(h for h in a.hpas if h.workload == name)


def test_hpa_settles_at_ceil_current_times_metric_over_target(tmp_path) -> None:
    """16/s x 100 ms x cpu_share 1 = 1.6 cores; on 2 pods of 400m that is 200 % of the
    request: ceil(2 x 200 / 50) = 8, bounded by max 6."""
    a = answer(topology(tmp_path, POOL, "routes.page.rate=16/s", "services.web.hpa.max=20"))
    h = hpa_of(a)
    assert h.desired == math.ceil(2 * 200 / 50) == 8
    assert h.reading == pytest.approx(1.6 / 8 / 0.4 * 100)  # at the 8 pods it settled on
    limited = answer(topology(tmp_path, POOL, "routes.page.rate=16/s"))
    assert hpa_of(limited).desired == 6 and hpa_of(limited).limited
    assert any("HPA web is at its max (6)" in w for w in limited.warnings)


def test_hpa_leaves_the_count_alone_within_the_tolerance(tmp_path) -> None:
    """2 pods at 52 % of a 50 % target: within 10 %, no change; at 56 % it scales to 3."""
    inside = answer(topology(tmp_path, POOL, "routes.page.rate=4.16/s"))
    assert hpa_of(inside).desired == 2
    outside = answer(topology(tmp_path, POOL, "routes.page.rate=4.48/s"))
    assert hpa_of(outside).desired == math.ceil(2 * 56 / 50) == 3


def test_hpa_respects_min(tmp_path) -> None:
    a = answer(topology(tmp_path, POOL, "routes.page.rate=0.1/s", "services.web.replicas=5"))
    assert hpa_of(a).desired == 2  # scaled down to min, not below


def test_the_pool_holds_only_what_fits(tmp_path) -> None:
    """Each node: 1 CPU less 100m of DaemonSet = 2 pods of 400m; the HPA's 6 leave 2 Pending,
    and only the 4 placed pods serve."""
    a = answer(topology(tmp_path, POOL, "routes.page.rate=16/s"))
    web = next(c for c in a.components if c.component == "service/web")
    assert hpa_of(a).desired == 6 and web.pods == 4
    app = next(p for p in a.pools if p.pool == "app")
    assert app.cpu_requested == pytest.approx(2 * 0.1 + 4 * 0.4 + 0.1)  # DaemonSets, web, db
    assert len(app.pending) == 2


def test_fit_now_at_hpa_maximum_and_n_minus_1(tmp_path) -> None:
    """w1: DaemonSet 100m, db 100m, web 400m; w2: DaemonSet, web. Losing either, the other
    takes what it had (1.0 of 1.0); with a third web pod it cannot."""
    topo = topology(tmp_path, POOL)
    now, placed = fit.case(topo, "now")
    assert now.fits
    cases = fit.without_each_node(topo, placed, "now")
    assert [c.lost for c in cases] == ["w1", "w2"] and all(c.fits for c in cases)
    three = topology(tmp_path, POOL, "services.web.replicas=3")
    _, placed3 = fit.case(three, "now")
    assert [len(c.pending) for c in fit.without_each_node(three, placed3, "now")] == [1, 1]
    peak, _ = fit.case(fit.at_hpa_max(topo), "at HPA maximum")
    assert len(peak.pending) == 2  # 6 web pods of 400m: two per node beside the rest


def test_sidecars_are_counted(tmp_path) -> None:
    """Without injection a pod is 300m: three fit on a node where two did."""
    plain = POOL.replace("- {name: web, tier: business-logic}",
                         "- {name: web, tier: business-logic, sidecar_injection: false}")
    peak, _ = fit.case(fit.at_hpa_max(topology(tmp_path, plain)), "at HPA maximum")
    assert len(peak.pending) == 1  # w1 holds 2 of 300m beside db, w2 holds 3


def test_postgres_connections_at_hpa_maximum(tmp_path) -> None:
    a = answer(topology(tmp_path, POOL))
    c = a.connections[0]
    assert (c.store, c.now, c.at_max, c.max_connections) == ("db", 20, 60, 50)
    assert not c.fits
    assert any("db: 60 connections at HPA maximum" in w for w in a.warnings)


def test_hpa_settles_where_the_simulator_does(tmp_path) -> None:
    """The simulator's HPA, at a steady load, ends on the count the answer names."""
    from twin.capacity.confirm import run
    from twin.capacity.whatif import resolve_loads

    topo = topology(tmp_path, POOL.replace('cpu: "1"', 'cpu: "4"'), "routes.page.rate=110/s",
                    "services.web.service_time={dist: exponential, mean: 10ms}",
                    "services.web.hpa.max=10")
    a = answer(topo)
    # 1.1 cores on 2 x 400m: 137.5 %, ceil(2 x 137.5 / 50) = 6, and at 6 pods 45.8 % is
    # within the tolerance of 50 %
    assert hpa_of(a).desired == math.ceil(2 * 137.5 / 50) == 6 and hpa_of(a).wanted == 6
    result = run(topo, resolve_loads(topo), 300.0, 1, 1, 10.0)
    assert result.runs[0].workloads["web"].pods_ready == hpa_of(a).desired


def test_queue_length_hpa_goes_to_max_when_the_backlog_grows(tmp_path) -> None:
    body = POOL + """
workers:
  - name: job
    namespace: web
    queue: jobs
    replicas: 1
    concurrency: 1
    service_time: {dist: exponential, mean: 1s}
    hpa: {min: 1, max: 3, metric: queue_length, queue: jobs, target: 5}
"""
    body = body.replace("stores:\n", "stores:\n  - {name: mq, kind: rabbitmq, namespace: web, "
                                      "queues: [{name: jobs}]}\n")
    body = body.replace("steps: [{call: web}]", "steps: [{publish: jobs}]")
    a = answer(topology(tmp_path, body, "routes.page.rate=5/s", 'pools.app.cpu="8"'))
    h = hpa_of(a, "job")
    assert h.desired == 3 and h.reading is None and h.limited
    job = next(c for c in a.components if c.component == "worker/job")
    assert job.status == "saturated" and job.needed == math.ceil(5 / 0.8)
