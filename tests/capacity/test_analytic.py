"""The analytical model against textbook values, and the simulator against it.

On one-service topologies (M/M/c, M/D/1), a tandem chain with a branch (Jackson)
and replicas behind a RANDOM balancer (separate M/M/c queues) the analytical
answer equals the formula; the simulator's mean over replications lies within
5 % of it (and its 95 % CI is narrow enough for that to mean something).
"""

from __future__ import annotations

import json
import math

import pytest
from capacity_helpers import close, example, topology

from twin.capacity.confirm import run, side_by_side
from twin.capacity.theory import MMc, jackson, mva, pollaczek_khinchine
from twin.capacity.whatif import answer

MU = 10.0  # one-service.yaml: 100 ms mean service time


def one(c: int, lam: float, *sets: str):
    return example("one-service.yaml", f"services.api.concurrency={c}", f"routes.req.rate={lam}",
                   *sets)


def row(a, name: str):
    return next(c for c in a.components if c.name == name)


def simulated(a, topo, duration: float, reps: int = 10, seed: int = 3) -> dict:
    from twin.capacity.whatif import resolve_loads

    result = run(topo, resolve_loads(topo), duration, seed, reps, duration * 0.05)
    return {r.what: r for r in side_by_side(a, result)}


@pytest.mark.parametrize(("c", "rho"), [(1, 0.5), (2, 0.8), (4, 0.7)])
def test_mmc_equals_erlang_c(c: int, rho: float) -> None:
    lam = rho * c * MU
    a = answer(one(c, lam))
    q = MMc(lam, MU, c)
    api = row(a, "service/api")
    assert api.utilisation == pytest.approx(rho)
    assert api.wait == pytest.approx(q.wq, rel=1e-12)
    assert api.latency == pytest.approx(q.w, rel=1e-12)
    assert a.routes[0].latency == pytest.approx(q.w, rel=1e-12)
    assert api.saturates_at == pytest.approx(1 / rho)
    assert a.bottleneck == "service/api"


def test_md1_equals_pollaczek_khinchine() -> None:
    a = answer(one(1, 7.0, "services.api.service_time={dist: constant, value: 100ms}"))
    wq = pollaczek_khinchine(7.0, 0.1, 0.01)
    assert row(a, "service/api").wait == pytest.approx(wq, rel=1e-12)
    assert row(a, "service/api").wait == pytest.approx(MMc(7.0, MU, 1).wq / 2, rel=1e-12)


def test_tandem_chain_with_branch_equals_jackson() -> None:
    a = answer(example("chain-with-branch.yaml"))
    net = jackson([10.0, 0, 0], [[0, 0.4, 0.6], [0, 0, 1], [0, 0, 0]], [10.0, 1 / 0.15, 1 / 0.3],
                  [2, 1, 4])
    rates = {c.name: c.rate for c in a.components}
    assert [rates["service/a"], rates["service/b"], rates["service/c"]] == pytest.approx(net.rates)
    util = [row(a, f"service/{n}").utilisation for n in "abc"]
    assert util == pytest.approx([0.5, 0.6, 0.75])
    assert a.routes[0].latency == pytest.approx(net.response, rel=1e-12)
    assert a.bottleneck == "service/c"


RANDOM_LB = """
pools:
  - name: app
    cpu: "8"
    memory: 16Gi
    nodes: [{name: w1}, {name: w2}]
namespaces:
  - {name: web, tier: business-logic, sidecar_injection: false}
  - {name: istio-system, tier: platform, sidecar_injection: false, part_of: false}
services:
  - name: web
    namespace: web
    replicas: 3
    concurrency: 2
    service_time: {dist: exponential, mean: 100ms}
mesh:
  gateway: {name: gw}
  sidecar: {latency: 0s}
  default_retries: {attempts: 0}
  virtual_services:
    - {name: web-vs, namespace: web, gateways: [gw], http: [{route: [{host: web}]}]}
  destination_rules:
    - {name: web, namespace: web, host: web, load_balancer: RANDOM}
routes:
  - {name: page, entry: web-vs, rate: 42/s, steps: [{call: web}]}
"""


def test_replicas_behind_a_balancer_are_separate_queues(tmp_path) -> None:
    """Three pods of c = 2 at 42/s: three M/M/2 at 14/s each (rho 0.7), not one M/M/6."""
    a = answer(topology(tmp_path, RANDOM_LB))
    web = row(a, "service/web")
    assert web.pods == 3
    assert web.wait == pytest.approx(MMc(14.0, MU, 2).wq, rel=1e-12)
    assert web.wait > 2 * MMc(42.0, MU, 6).wq  # pooled would promise far less waiting


def test_saturated_answers_with_the_replicas_needed_never_nan(tmp_path) -> None:
    a = answer(topology(tmp_path, RANDOM_LB, "routes.page.rate=90/s"))
    web = row(a, "service/web")
    assert web.status == "saturated" and web.utilisation == pytest.approx(1.5)
    assert web.wait is None and web.latency is None
    assert web.needed == math.ceil(9.0 / (2 * 0.8))  # 9 Erlangs on pods of 2 slots, under 80 %
    assert a.routes[0].saturated_by == ("service/web",)
    assert any("service/web is saturated" in w for w in a.warnings)
    text = json.dumps(a.to_dict(), allow_nan=False)  # no NaN or inf anywhere
    assert '"saturated"' in text


def test_closed_users_by_mva() -> None:
    """users:N on one pod with c = 1 is the machine-repairman model: exact MVA."""
    a = answer(one(1, 5.0), ["req=users:20:think=1s"])
    exact = mva([0.1], 20, think=1.0)
    r = a.routes[0]
    assert r.users == 20
    assert r.rate == pytest.approx(exact.throughput, rel=1e-9)
    assert r.latency == pytest.approx(exact.response, rel=1e-9)
    assert row(a, "service/api").rate == pytest.approx(exact.throughput, rel=1e-9)


CASES = [
    ("M/M/2 at rho 0.6", lambda: one(2, 12.0), 1000.0, 8),
    ("M/D/1 at rho 0.7", lambda: one(1, 7.0, "services.api.service_time="
                                    "{dist: constant, value: 100ms}"), 1500.0, 8),
    ("tandem chain", lambda: example("chain-with-branch.yaml"), 1000.0, 8),
    pytest.param("M/M/2 at rho 0.8", lambda: one(2, 16.0), 3000.0, 16, marks=pytest.mark.slow),
    pytest.param("M/M/4 at rho 0.85", lambda: one(4, 34.0), 3000.0, 16, marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("what", "topo", "duration", "reps"), CASES)
def test_simulated_confirmation_within_five_percent(what: str, topo, duration: float,
                                                    reps: int) -> None:
    t = topo()
    a = answer(t)
    found = simulated(a, t, duration, reps=reps)
    route = next(v for k, v in found.items() if k.endswith("latency"))
    assert route.half_width is not None and route.half_width < 0.05 * route.analytic, what
    assert close(route.simulated, route.analytic), (
        f"{what}: simulated {route.simulated:.4f}, analytical {route.analytic:.4f}")
    for r in found.values():
        if r.unit == "share":
            assert close(r.simulated, r.analytic, 0.05), (r.what, r.simulated, r.analytic)


def test_analytic_inside_the_simulators_ci_on_a_nested_call(tmp_path) -> None:
    """A pod that waits on a store holds its slot meanwhile: the model counts the store's
    sojourn in the service's holding time, and the simulator agrees within its CI."""
    body = RANDOM_LB.replace("steps: [{call: web}]",
                             "steps: [{call: web, steps: [{store: db, op: read}]}]")
    body += """
stores:
  - name: db
    kind: postgres
    namespace: web
    concurrency: 2
    service_time: {dist: exponential, mean: 20ms}
"""
    t = topology(tmp_path, body, "routes.page.rate=30/s")
    a = answer(t)
    db = row(a, "store/db")
    assert db.utilisation == pytest.approx(0.3)
    assert row(a, "service/web").holding == pytest.approx(0.1 + db.latency)
    found = simulated(a, t, 500.0, reps=6)
    for key in ("route/page latency", "service/web utilisation", "store/db utilisation"):
        r = found[key]
        assert abs(r.simulated - r.analytic) <= max(3 * r.half_width, 0.03 * r.analytic), (
            key, r.simulated, r.half_width, r.analytic)


def test_a_single_server_store_is_busy_rho_of_the_time_not_l(tmp_path) -> None:
    """M/M/1 at rho 0.6 has L = 1.5 in it: the share of time its one server works is 0.6
    (L - Lq), which min(L, c) / c would read as 1.0, a saturated store."""
    body = RANDOM_LB.replace("steps: [{call: web}]",
                             "steps: [{call: web, steps: [{store: db, op: read}]}]")
    body += """
stores:
  - name: db
    kind: postgres
    namespace: web
    concurrency: 1
    service_time: {dist: exponential, mean: 20ms}
"""
    t = topology(tmp_path, body, "routes.page.rate=30/s")
    found = simulated(answer(t), t, 500.0, reps=4)["store/db utilisation"]
    assert found.analytic == pytest.approx(0.6)
    assert abs(found.simulated - 0.6) <= max(3 * found.half_width, 0.03), found.simulated
