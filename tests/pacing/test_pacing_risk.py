"""Poisson-binomial arithmetic of the abandon risk."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.risk import (
    calls_within_risk,
    poisson_binomial_pmf,
    risk_exact,
    risk_normal,
)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=0, max_size=30))
def test_pmf_matches_direct_convolution(ps: list[float]) -> None:
    direct = np.array([1.0])
    for p in ps:
        direct = np.convolve(direct, [1 - p, p])
    got = poisson_binomial_pmf(np.array([ps]).reshape(1, len(ps)))[0]
    assert np.allclose(got, direct, atol=1e-9)


def _brute(probs: np.ndarray, m0: int, pi: float, k: int, n_sims: int = 0) -> float:
    pmf = poisson_binomial_pmf(probs[None, :])[0]
    from scipy.stats import binom

    total = 0.0
    for x, px in enumerate(pmf):
        total += px * binom.sf(x - m0 - 1, k - 1, pi)  # P(N >= x - m0)
    return total


@settings(max_examples=20, deadline=None)
@given(
    ps=st.lists(st.floats(0, 1), min_size=1, max_size=20),
    m0=st.integers(-3, 5),
    pi=st.floats(0.01, 0.6),
)
def test_exact_risk_matches_brute_force(ps: list[float], m0: int, pi: float) -> None:
    probs = np.array(ps)
    got = risk_exact(probs[None, :], m0, np.array([pi]), 6, stop=2.0)[0]
    want = [_brute(probs, m0, pi, k) for k in range(1, 7)]
    assert np.allclose(got, want, atol=1e-9)


def test_normal_approximation_is_close_for_many_trials() -> None:
    rng = np.random.default_rng(3)
    probs = rng.random(300)
    m0 = int(probs.sum()) - 5
    pq = probs * (1 - probs)
    ks = np.arange(1, 30, dtype=float)
    approx = risk_normal(
        np.array([probs.sum()]),
        np.array([pq.sum()]),
        np.array([(pq * (1 - 2 * probs)).sum()]),
        m0,
        np.array([0.2]),
        ks,
    )[0]
    exact = risk_exact(probs[None, :], m0, np.array([0.2]), 29, stop=2.0)[0]
    assert np.max(np.abs(approx - exact)) < 0.01


def _case(idle: int, busy: int, ringing: int, threshold: float, hit: float = 0.25, spare: int = 0):
    j = 8
    seat_free = np.full((j, busy), 0.05)
    live = np.full((j, ringing), 0.1)
    return calls_within_risk(
        seat_free, live, idle, 0, hit, (np.arange(j) + 0.5) / j, 500, threshold, spare=spare
    )


@pytest.mark.parametrize("busy, ringing", [(4, 6), (400, 150)])  # exact path, normal path
def test_an_abandon_to_spare_weighs_like_one_more_idle_seat(busy: int, ringing: int) -> None:
    for idle in (0, 2, 5):
        assert _case(idle, busy, ringing, 0.03, spare=1) == _case(idle + 1, busy, ringing, 0.03)
    assert _case(2, busy, ringing, 0.03, spare=1)[0] > _case(2, busy, ringing, 0.03)[0]


def test_more_idle_seats_never_means_fewer_calls() -> None:
    calls = [_case(idle, 20, 10, 0.01)[0] for idle in range(0, 15)]
    assert calls == sorted(calls)
    assert calls[-1] > calls[0]


def test_higher_threshold_never_means_fewer_calls() -> None:
    calls = [_case(3, 20, 10, t)[0] for t in (0.0, 0.001, 0.005, 0.01, 0.03, 0.1)]
    assert calls == sorted(calls)


def test_no_idle_no_freeing_seats_means_no_call() -> None:
    calls, risk_next, risk_last = _case(0, 0, 0, 0.01)
    assert calls == 0
    assert risk_next > 0.01
    assert risk_last == 0.0  # (no call placed)


def test_large_campaign_uses_the_normal_path_and_is_monotone() -> None:
    calls = [_case(idle, 400, 150, 0.01)[0] for idle in (0, 10, 40)]
    assert calls == sorted(calls)


def test_normal_approximation_of_a_certain_outcome_is_certain_not_nan() -> None:
    # Every seat's fate known (variance 0) and the first new call's answer too: the risk is
    # exactly 0 or 1. It once came out NaN, which compares as "safe" and let calls through.
    one = np.array([1.0])
    mean, var, third, pi = np.array([3.0]), np.array([0.0]), np.array([0.0]), np.array([0.3])
    assert risk_normal(mean, var, third, 5, pi, one)[0, 0] == 1.0  # X = 3 <= 5: no seat
    assert risk_normal(mean, var, third, 1, pi, one)[0, 0] == 0.0  # X = 3 > 1: a seat
