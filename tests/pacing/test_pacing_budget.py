"""Abandon budget: floor(cap * answers) - abandons, progressive fallback, breaker, window."""

from __future__ import annotations

import math

import pytest

from pacing.budget import AbandonController, BudgetConfig, LedgerEntry, LedgerKind

A, X = LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON


def _feed(c: AbandonController, answers: int, abandons: int, at: float = 0.0) -> None:
    for i in range(answers):
        c.record(LedgerEntry(at + i * 0.01, A))
    for i in range(abandons):
        c.record(LedgerEntry(at + i * 0.01, X))


def test_first_minutes_are_progressive() -> None:
    c = AbandonController(BudgetConfig(cap=0.03))
    _feed(c, 10, 0)
    assert c.allowed_abandons(1.0) == 0
    assert c.threshold(1.0, hit=0.25) == 0.0
    assert c.last_reason == "budget"


def test_budget_opens_with_evidence() -> None:
    c = AbandonController(BudgetConfig(cap=0.03, min_budget=2))
    _feed(c, 200, 0)
    assert c.allowed_abandons(10.0) == 6
    assert c.threshold(10.0, hit=0.25) > 0.0


def test_zero_budget_means_progressive() -> None:
    c = AbandonController(BudgetConfig(cap=0.03))
    _feed(c, 1000, 30)
    assert c.allowed_abandons(100.0) == 0
    assert c.threshold(100.0, hit=0.25) == 0.0


def test_window_forgets_old_entries() -> None:
    c = AbandonController(BudgetConfig(cap=0.03, window_s=3600))
    _feed(c, 100, 3, at=0.0)
    assert c.ledger.counts(10.0) == (100, 3)
    assert c.ledger.counts(3700.0) == (0, 0)


def test_history_seeds_the_ledger() -> None:
    history = [LedgerEntry(float(i), A) for i in range(500)] + [LedgerEntry(1.0, X)]
    c = AbandonController(BudgetConfig(cap=0.03), history)
    assert c.allowed_abandons(600.0) == 14


def _feed_spread(c: AbandonController, answers: int, until: float, per_s: float) -> None:
    """``answers`` live answers at ``per_s`` a second, the last one at ``until``."""
    for i in reversed(range(answers)):
        c.record(LedgerEntry(until - i / per_s, A))


def test_breaker_trips_on_a_burst() -> None:
    c = AbandonController(BudgetConfig(cap=0.03, breaker_abandons=4, breaker_cut=0.0))
    _feed_spread(c, 5000, until=100.0, per_s=0.2)  # 12 answers a minute
    assert c.threshold(100.0, hit=0.25) > 0
    _feed(c, 0, 6, at=100.0)
    assert c.threshold(101.0, hit=0.25, at_risk=0.1) == 0.0
    assert c.last_reason == "breaker"
    assert c.threshold(150.0, hit=0.25) == 0.0  # still cooling down


def test_breaker_ignores_the_normal_abandons_of_a_busy_campaign() -> None:
    # 120 live answers a minute: ~3 abandons a minute at the set-point, 6 is no burst.
    c = AbandonController(BudgetConfig(cap=0.03, breaker_abandons=4, breaker_cut=0.0))
    _feed_spread(c, 20_000, until=100.0, per_s=2.0)
    _feed(c, 0, 6, at=100.0)
    assert c.threshold(101.0, hit=0.25, at_risk=0.1) > 0.0
    # ... but a burst far above that still trips it.
    _feed(c, 0, 20, at=101.0)
    assert c.threshold(102.0, hit=0.25, at_risk=0.1) == 0.0
    assert c.last_reason == "breaker"


def test_an_open_breaker_cuts_the_threshold_for_the_cool_down() -> None:
    # The same ledger through a controller whose breaker never trips: the only difference.
    cut = AbandonController(BudgetConfig(cap=0.03, breaker_abandons=4, breaker_cut=0.25))
    never = AbandonController(BudgetConfig(cap=0.03, breaker_abandons=10**9, breaker_cut=0.25))
    for c in (cut, never):
        _feed_spread(c, 5000, until=100.0, per_s=0.2)
        _feed(c, 0, 6, at=100.0)
    for t in (101.0, 150.0, 220.0):
        assert cut.threshold(t, hit=0.25, at_risk=0.1) == pytest.approx(
            0.25 * never.threshold(t, hit=0.25, at_risk=0.1)
        )
        assert cut.last_reason == "breaker-cut" and never.last_reason == "predictive"
    after = cut.threshold(222.0, hit=0.25, at_risk=0.1)  # cool-down (120 s) over, no new burst
    assert after == pytest.approx(never.threshold(222.0, hit=0.25, at_risk=0.1)) and after > 0
    assert cut.last_reason == "predictive"
    with pytest.raises(ValueError, match="breaker cut"):
        BudgetConfig(breaker_cut=1.5)


def test_the_integral_gain_is_bounded_where_configured() -> None:
    # A forecast far too pessimistic (no abandon in 20,000 live answers) raises the gain until
    # its bound, and no further.
    for bound in (2.0, 4.0):
        c = AbandonController(BudgetConfig(cap=0.03, gain_log_max=bound))
        _feed_spread(c, 20_000, until=20_000.0, per_s=1.0)
        base = 0.25 * c.target_rate(20_000.0)
        assert c.steady_threshold(20_000.0, 0.25) == pytest.approx(base * math.exp(bound))


def test_abandons_lower_the_threshold() -> None:
    a = AbandonController(BudgetConfig(cap=0.03))
    b = AbandonController(BudgetConfig(cap=0.03))
    for c, abandons in ((a, 10), (b, 40)):
        _feed(c, 2000, 0)
        for i in range(abandons):  # spread out: no breaker
            c.record(LedgerEntry(100.0 + 200.0 * i, X))
    assert 0 < b.threshold(9000.0, 0.25) < a.threshold(9000.0, 0.25)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        BudgetConfig(cap=1.5)
