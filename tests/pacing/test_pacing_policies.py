"""Policy sanity: progressive and ratio arithmetic, predictive monotonicity and fallback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.estimators import OutcomeRates
from pacing.model import PacingEstimators
from pacing.policies import (
    PacingSnapshot,
    PredictivePolicy,
    ProgressivePolicy,
    make_policy,
)


def _model(hit: float = 0.25, dials: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    est = PacingEstimators()
    for u in rng.random(dials):
        if u < hit:
            est.observe_dial(OutcomeRates.HUMAN, float(rng.lognormal(2.4, 0.45)))
        else:
            est.observe_dial(OutcomeRates.OTHER, float(rng.choice([4.0, 20.0])))
    for t in rng.lognormal(4.8, 0.7, 300):
        est.observe_talk(float(t))
    for _ in range(100):
        est.observe_wrapup(5.0)
    return est.model(0.0, np.zeros(0), np.zeros(0))


MODEL = _model()


def _snap(idle: int, talking: list[float], ringing: list[float], threshold: float = 0.01,
          waiting: int = 0, wrapup: tuple[float, ...] = ()) -> PacingSnapshot:  # fmt: skip
    return PacingSnapshot(
        idle_seats=idle,
        talk_elapsed=np.array(talking, dtype=float),
        wrapup_elapsed=np.array(wrapup, dtype=float),
        ring_ages=np.array(ringing, dtype=float),
        waiting_answers=waiting,
        model=MODEL,
        threshold=threshold,
    )


def test_progressive_places_one_line_per_idle_seat() -> None:
    p = ProgressivePolicy()
    assert p.decide(_snap(5, [], [1.0, 2.0]), 0).calls == 3
    assert p.decide(_snap(1, [], [1.0, 2.0]), 0).calls == 0


def test_ratio_places_r_lines_per_idle_seat() -> None:
    assert ProgressivePolicy(2.5).decide(_snap(4, [], [1.0]), 0).calls == 9


@settings(max_examples=25, deadline=None)
@given(
    idle=st.integers(0, 20),
    talking=st.lists(st.floats(0, 600), max_size=40),
    ringing=st.lists(st.floats(0, 19), max_size=40),
    thr=st.floats(0.0005, 0.05),
)
def test_more_ready_seats_never_fewer_calls(idle, talking, ringing, thr) -> None:
    policy = PredictivePolicy()
    a = policy.decide(_snap(idle, talking, ringing, thr), 0).calls
    b = policy.decide(_snap(idle + 1, talking, ringing, thr), 0).calls
    assert b >= a


@settings(max_examples=25, deadline=None)
@given(
    idle=st.integers(0, 10),
    talking=st.lists(st.floats(0, 600), max_size=30),
    ringing=st.lists(st.floats(0, 19), max_size=30),
)
def test_predictive_never_below_progressive(idle, talking, ringing) -> None:
    snap = _snap(idle, talking, ringing, 0.01)
    assert PredictivePolicy().decide(snap, 0).calls >= ProgressivePolicy().decide(snap, 0).calls


def test_zero_budget_means_progressive() -> None:
    snap = _snap(4, [100.0] * 20, [3.0], threshold=0.0)
    d = PredictivePolicy().decide(snap, 0)
    assert d.calls == 3
    assert "progressive" in d.policy


def test_predictive_dials_ahead_when_seats_are_about_to_free() -> None:
    # No idle seat, nothing ringing, ten seats finishing their wrap-up: dial ahead for them.
    d = PredictivePolicy().decide(_snap(0, [], [], 0.01, wrapup=(4.0,) * 10), 0)
    assert d.calls > 10
    assert d.risk_next > 0.01
    # The same seats deep into long calls free far less surely: fewer calls.
    assert PredictivePolicy().decide(_snap(0, [600.0] * 10, [], 0.01), 0).calls < d.calls


def test_waiting_answers_take_seats_first() -> None:
    free = PredictivePolicy().decide(_snap(3, [100.0] * 10, [], 0.005), 0).calls
    taken = PredictivePolicy().decide(_snap(3, [100.0] * 10, [], 0.005, waiting=3), 0).calls
    assert taken < free


def test_make_policy_names_the_bad_mode() -> None:
    assert make_policy("ratio:1.8").name == "ratio:1.8"
    with pytest.raises(ValueError, match="unknown dial mode 'turbo'"):
        make_policy("turbo")
    with pytest.raises(ValueError, match="ratio must be a number"):
        make_policy("ratio:x")
    with pytest.raises(ValueError, match=">= 1"):
        make_policy("ratio:0.5")


@settings(max_examples=25, deadline=None)
@given(
    idle=st.integers(0, 4),
    talking=st.lists(st.floats(0, 400), min_size=1, max_size=30),
    ringing=st.lists(st.floats(0, 14), max_size=20),
    thr=st.floats(0.001, 0.05),
)
def test_a_ring_trim_lets_predictive_dial_at_least_as_much(idle, talking, ringing, thr) -> None:
    """With a ring trim, a new call answered past the trim age finds a seat or is hung up: the
    late horizons carry no risk, so never fewer calls; the risks reported stay per call (the
    mean over all horizons, the late ones at 0), never above the threshold."""
    from dataclasses import replace

    p = PredictivePolicy()
    plain = _snap(idle, talking, ringing, thr)
    trimmed = replace(plain, trim_from=15.0)
    a, b = p.decide(plain, 0), p.decide(trimmed, 0)
    assert b.calls >= a.calls
    assert b.risk_last <= thr + 1e-12


def test_a_ring_trim_past_every_horizon_changes_nothing() -> None:
    from dataclasses import replace

    p = PredictivePolicy()
    plain = _snap(0, [100.0] * 10, [3.0, 6.0], 0.01)
    late = replace(plain, trim_from=float(MODEL.horizons.max()) + 1.0)
    assert p.decide(late, 0) == p.decide(plain, 0)


def test_lines_per_seat_bound_all_lines_in_flight_not_one_decision() -> None:
    # A list whose people have stopped answering before the ring timeout reads as a hit rate
    # near zero: every decision finds new calls all but riskless. Decision after decision, the
    # lines ringing must still stop at max_lines_per_seat per seat (it was per decision: the cap
    # hunt saw 60,000 lines ringing for 101 seats).
    dead = _model(hit=0.0005, dials=3000, seed=1)
    policy = PredictivePolicy(max_lines_per_seat=10.0)
    ringing: list[float] = []
    for step in range(8):
        snap = PacingSnapshot(
            idle_seats=2,
            talk_elapsed=np.array([30.0, 60.0, 90.0]),
            wrapup_elapsed=np.zeros(0),
            ring_ages=np.array(ringing, dtype=float),
            waiting_answers=0,
            model=dead,
            threshold=0.01,
        )
        d = policy.decide(snap, float(step))
        assert snap.lines_in_flight + d.calls <= 10 * 5
        if step == 0:
            assert d.calls == 50  # the bound binds: without it the first decision alone places more
        ringing = [a + 1.0 for a in ringing] + [0.0] * d.calls
    assert len(ringing) == 50
    assert d.calls == 0 and d.threshold == 0.01 and d.policy == "predictive"
