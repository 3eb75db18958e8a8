"""The analytical models against known values and against each other."""

from __future__ import annotations

import math

import pytest

from twin.capacity.theory import (
    MMc,
    erlang_c,
    expected_tries,
    jackson,
    mva,
    pollaczek_khinchine,
    retry_failure,
)


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.8) == pytest.approx(0.8)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(4, 2.0) == pytest.approx(0.173913, rel=1e-5)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 0.0) == 0.0
    assert erlang_c(200, 180.0) < 1.0  # no overflow for large c


def test_mm1_formulas_and_littles_law() -> None:
    q = MMc(8.0, 10.0, 1)
    assert q.wq == pytest.approx(0.4) and q.w == pytest.approx(0.5) and q.l == pytest.approx(4.0)
    assert q.wait_above(0.0) == pytest.approx(0.8)
    assert q.wait_above(q.wait_quantile(0.95)) == pytest.approx(0.05)
    assert MMc(0.4, 10.0, 1).wait_quantile(0.95) == 0.0  # P(wait) 4 % < 5 %


def test_pollaczek_khinchine_matches_mm1_and_halves_for_md1() -> None:
    lam, s = 7.0, 0.1
    assert pollaczek_khinchine(lam, s, 2 * s * s) == pytest.approx(MMc(lam, 1 / s, 1).wq)
    assert pollaczek_khinchine(lam, s, s * s) == pytest.approx(MMc(lam, 1 / s, 1).wq / 2)
    assert pollaczek_khinchine(11.0, s, s * s) == math.inf


def test_jackson_tandem_with_branch() -> None:
    net = jackson([10.0, 0, 0], [[0, 0.4, 0.6], [0, 0, 1], [0, 0, 0]], [10.0, 5.0, 20.0], [2, 1, 1])
    assert net.rates == pytest.approx([10.0, 4.0, 10.0])
    assert net.utilisation == pytest.approx([0.5, 0.8, 0.5])
    expected = MMc(10, 10, 2).l + MMc(4, 5, 1).l + MMc(10, 20, 1).l
    assert net.response == pytest.approx(expected / 10)


def test_mva_single_station_and_bottleneck() -> None:
    one = mva([0.1], 1, think=1.0)
    assert one.throughput == pytest.approx(1 / 1.1)
    many = mva([0.1, 0.05], 200, think=1.0)
    assert many.throughput == pytest.approx(10.0, rel=1e-3)  # 1 / D_max
    assert many.response > 200 / 10 - 1.0 - 1e-6


def test_retry_formulas() -> None:
    assert retry_failure(0.2, 2) == pytest.approx(0.008)
    assert expected_tries(0.2, 2) == pytest.approx(1.24)
    assert expected_tries(1.0, 3) == 4
