"""The budget guard's signals and the thin-budget account, on their own (the runner-level tests
in tests/engine/test_runner_pacing_bounds.py drive them through whole decisions)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.budget import AbandonLedger, LedgerEntry, LedgerKind
from pacing.guard import BudgetGuard
from pacing.model import PacingEstimators, Priors
from pacing.policies import PacingDecision
from pacing.risk import ForecastMoments
from pacing.thin import ThinBudget


def _guard(hit: float = 0.2) -> tuple[BudgetGuard, AbandonLedger]:
    ledger = AbandonLedger(24 * 3600.0)
    return BudgetGuard(PacingEstimators(Priors(hit=hit)), ledger), ledger


def test_the_fast_hit_rate_sees_a_jump_the_main_estimate_has_not() -> None:
    guard, ledger = _guard(hit=0.2)
    now = 100.0
    for i in range(200):  # placed 12-30 s ago: their answers are due in the last 20 s
        guard.dial_placed(70.0 + 0.09 * i)
    for i in range(100):
        ledger.record(LedgerEntry(85.0 + 0.1 * i, LedgerKind.LIVE_ANSWER))
    dials = sum(1 for i in range(200) if now - 20.0 - 12.0 < 70.0 + 0.09 * i <= now - 12.0)
    fast = guard.fast_hit(now, 12.0)
    assert fast == pytest.approx((100 + 50 * 0.2) / (dials + 50))
    assert fast > 2 * guard.estimators.rates.human
    # with no answers lately it is shrunk toward the estimate, not to zero
    quiet, _ = _guard(hit=0.2)
    assert 0.0 < quiet.fast_hit(now, 12.0) == pytest.approx(0.2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 60.0), min_size=1, max_size=80), st.floats(0.0, 20.0))
def test_the_fast_hit_rate_counts_by_bisection_what_the_scan_counts(
    times: list[float], delay: float
) -> None:
    # Placements from a clock come in order and are counted by bisection; out of order (a
    # driver replaying them) the scan stops at the first one past the window: it may count
    # fewer dials, never more, so the rate it gives errs high, the guard's safe side.
    bisected, scanned, shuffled = (_guard()[0] for _ in range(3))
    for t in sorted(times):
        bisected.dial_placed(t)
        scanned.dial_placed(t)
    scanned._dial_times_sorted = False  # (the scan, on the same placements)
    for t in times:
        shuffled.dial_placed(t)
    for guard in (bisected, scanned, shuffled):
        guard.ledger.record(LedgerEntry(55.0, LedgerKind.LIVE_ANSWER))
    now = 60.0
    assert scanned.fast_hit(now, delay) == bisected.fast_hit(now, delay)
    assert shuffled.fast_hit(now, delay) >= bisected.fast_hit(now, delay)


def test_the_thin_account_charges_only_the_calls_beyond_the_idle_seats() -> None:
    thin = ThinBudget(_guard()[0])
    thin.spend(PacingDecision(calls=5, risk_last=1e-4), idle_seats=3, lines_in_flight=1)
    assert thin.spent == pytest.approx(3 * 1e-4)  # 2 calls for the 2 seats with no line
    thin.spend(PacingDecision(calls=2, risk_last=1e-4), idle_seats=3, lines_in_flight=0)
    assert thin.spent == pytest.approx(3 * 1e-4)  # within the idle seats: no risk taken


def test_a_spent_thin_account_leaves_the_campaign_progressive() -> None:
    guard, _ = _guard()
    thin = ThinBudget(guard)
    model = guard.estimators.model(0.0, np.zeros(0), np.zeros(0))
    assert thin.threshold(0.0, model, 0.03) is not None
    thin.spent = ThinBudget.RISK_TOTAL
    assert thin.threshold(0.0, model, 0.03) is None


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8),
    st.integers(0, 12),
    st.integers(0, 12),
    st.randoms(use_true_random=False),
)
def test_the_thin_forecast_is_the_same_from_the_arrays_or_from_their_sums(
    horizons: int, seats: int, lines: int, rnd: random.Random
) -> None:
    # Small campaigns read the arrays, large ones only their sums: the thin-budget mode must
    # shift and discount both alike.
    rng = np.random.default_rng(rnd.randint(0, 2**32 - 1))
    seat_free = np.sort(rng.random((horizons, seats)), axis=0)
    live = np.sort(rng.random((horizons, lines)), axis=0)
    thin = ThinBudget(_guard()[0])
    from_arrays = ForecastMoments.of(thin.frees(seat_free), live)
    from_sums = thin.moments(ForecastMoments.of(seat_free, live))
    np.testing.assert_allclose(from_sums.powers, from_arrays.powers, rtol=1e-12, atol=1e-12)
    assert (from_sums.lines, from_sums.seats) == (lines, seats)
