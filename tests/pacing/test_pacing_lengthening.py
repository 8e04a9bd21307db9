"""The check that seats' durations have lengthened at once (DurationEstimator.lengthened).

A team whose calls all become longer at the same moment is the case the window of completions
cannot follow: it forgets the old durations only as fast as new ones replace them, and until then
every seat that began a call since looks due at the old time. These tests drive the estimator
with a team of seats taking calls back to back, as the pacing model does (a table rebuilt every
15 s, the check every second), and look at when the check fires and what the table says then.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacing.estimators import DistributionPrior, DurationEstimator, survival_at
from pacing.kernels import cohort_lengthening, cumulative_hazards

Draw = Callable[[float, np.random.Generator], float]


def _lognormal(mean: float, sd: float) -> Draw:
    s2 = math.log(1.0 + (sd / mean) ** 2)
    mu, sigma = math.log(mean) - s2 / 2.0, math.sqrt(s2)
    return lambda _start, rng: float(rng.lognormal(mu, sigma))


def _regimes(before: Draw, after: Draw, at: float) -> Draw:
    """Calls begun before ``at`` drawn from ``before``, the others from ``after``."""
    return lambda start, rng: before(start, rng) if start < at else after(start, rng)


def _team(
    seed: int,
    seats: int,
    draw: Draw,
    until: float,
    *,
    gap: float = 5.0,
    step: float = 2.0,
    prior: tuple[float, float] = (150.0, 120.0),
    stop_at_first: bool = False,
) -> tuple[DurationEstimator, list[tuple[float, float]], float, np.ndarray]:
    """``seats`` seats taking calls back to back (``gap`` s between two) until ``until``: the
    talk estimator as the pacing model keeps it. Returns the estimator, the checks that fired
    (when, how long ago the cohort it found began), the last time and the ages running then."""
    rng = np.random.default_rng(seed)
    est = DurationEstimator(
        DistributionPrior(*prior, weight=8.0), step, 2048, 400, 150, unseen_lasts=True
    )
    ends: list[tuple[float, float, int]] = []
    start = rng.uniform(0.0, 10.0, seats)
    for s in range(seats):
        heapq.heappush(ends, (start[s] + draw(start[s], rng), start[s], s))
    built = -math.inf
    fired: list[tuple[float, float]] = []
    t = 0.0
    running = np.zeros(0)
    while t < until:
        t += 1.0
        while ends and ends[0][0] <= t:
            end, began, s = heapq.heappop(ends)
            est.observe(end - began, end)
            nxt = end + gap
            heapq.heappush(ends, (nxt + draw(nxt, rng), nxt, s))
        running = np.array([t - b for _, b, _ in ends if b <= t])
        if est.lengthened(t, running):
            fired.append((t, t - est._regime_born))
            built = -math.inf
            if stop_at_first:
                break
        if t - built >= 15.0:
            est.survival_table(running, t)
            built = t
    return est, fired, t, running


def test_a_constant_talk_that_more_than_doubles_is_seen_within_seconds() -> None:
    """The cap hunt's case (127 seats, 27-s talks becoming 64 s): the first calls begun after
    the change pass 27 s at ~27 s after it; the check fires within a few seconds of that, and
    finds the cohort begun after the change."""
    change = 900.0
    draw = _regimes(lambda s, r: 26.9, lambda s, r: 63.9, change)
    est, fired, t, running = _team(1, 127, draw, change + 60.0, gap=2.0, stop_at_first=True)
    assert fired, "the lengthening was not seen"
    when, began_ago = fired[0]
    assert change + 28.0 <= when <= change + 33.0
    assert change - 5.0 <= when - began_ago <= change + 10.0
    # The table rebuilt on the new cohort no longer sees seats 15-27 s into a call free at 27 s
    # (the old table: a chance of ~0.4 a minute after the change).
    table = est.survival_table(running, t)
    s15, s28 = survival_at(table, est.step, np.array([15.0, 28.0]))
    assert s28 / s15 > 0.99
    # Nor is the old talks' mean the new regime's: none of its calls has ended yet.
    assert est.regime_count() == 0 and est.count > 400
    assert est.mean() == est.prior.mean
    # (a duration without its end time cannot be placed in a regime: all count again)
    est.observe(63.9)
    assert est.regime_count() == len(est._samples)
    assert est.mean() > 26.9


@pytest.mark.parametrize(
    ("seats", "mean", "sd", "gap"),
    [
        (25, 150.0, 120.0, 5.0),
        (100, 150.0, 120.0, 5.0),
        (127, 26.9, 0.0, 2.0),
        (250, 45.0, 36.0, 5.0),
    ],
)
def test_steady_durations_are_never_taken_for_a_change(
    seats: int, mean: float, sd: float, gap: float
) -> None:
    """Three hours of steady talks, checked every second: no false alarm (one would cost the
    table all the evidence older than the cohort it found)."""
    draw = (lambda s, r: mean) if sd == 0.0 else _lognormal(mean, sd)
    _, fired, _, _ = _team(7, seats, draw, 3 * 3600.0, gap=gap, prior=(mean, max(sd, 1.0)))
    assert fired == []


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), factor=st.floats(2.5, 5.0))
def test_lognormal_talks_that_lengthen_at_once_are_seen_and_dated(seed: int, factor: float) -> None:
    """The stress scenario talk-slowdown-100's kind: 60-s talks (sd 50) that become 2.5-5 times
    longer. The check fires within a few minutes, and the cohort it keeps began about when
    the change did — not before it (the old calls are what it drops)."""
    change = 1800.0
    draw = _regimes(_lognormal(60.0, 50.0), _lognormal(60.0 * factor, 50.0 * factor), change)
    _, fired, _, _ = _team(seed, 100, draw, change + 600.0, prior=(60.0, 50.0), stop_at_first=True)
    assert fired, "the lengthening was not seen"
    when, began_ago = fired[0]
    assert when - change < 300.0
    assert when - began_ago >= change - 0.25 * (when - change)


def test_the_check_reads_only_cohorts_the_window_holds_whole() -> None:
    """Once the window has forgotten completions, a cohort begun before its oldest one has lost
    its short calls: its deaths look few. The check leaves such cohorts alone (found at 100 and
    250 seats, where the whole window's cohort read as outliving the table every second)."""
    step, bins = 1.0, 64
    surv = np.concatenate([[1.0], np.cumprod(np.full(bins, 0.9))])
    cum_h, cum_v = cumulative_hazards(surv)
    now = 1000.0
    # Completed calls of 30 s that ended 0-100 s ago, and no short ones (they were forgotten),
    # against a table whose hazard is 0.1 a second: 30 passed bins each, ~3 deaths expected.
    ended = now - np.linspace(0.0, 100.0, 50)
    durations = np.full(50, 30.0)
    cuts = step * 2.0 ** (np.arange(16) / 2.0)  # (1 s to 181 s)
    running = np.zeros(0)
    found = cohort_lengthening(
        ended, durations, running, now, cum_h, cum_v, step, cuts, 1e9, 4.5, 3.0
    )
    assert found > 0.0  # read whole, the cohort outlives the table
    reach = 20.0
    held = cohort_lengthening(
        ended, durations, running, now, cum_h, cum_v, step, cuts, reach, 4.5, 3.0
    )
    assert held == 0.0


def test_cumulative_hazards_match_the_table() -> None:
    rng = np.random.default_rng(3)
    h = rng.uniform(0.0, 0.3, 40)
    h[30:] = 1.0  # (the table reaches 0 at bin 30 and stays there)
    surv = np.concatenate([[1.0], np.cumprod(1.0 - h)])
    cum_h, cum_v = cumulative_hazards(surv)
    assert np.allclose(cum_h, np.concatenate([[0.0], np.cumsum(h)]))
    assert np.allclose(cum_v, np.concatenate([[0.0], np.cumsum(h * (1.0 - h))]))


def test_a_stretched_table_is_the_same_durations_longer() -> None:
    from pacing.model import _stretched

    surv = np.ones(41)
    surv[14:] = 0.0  # every duration between 26 and 28 s on a 2-s grid
    slow = _stretched(surv, 2.0)
    assert slow[26] == 1.0 and slow[27] == 0.5 and slow[28] == 0.0  # (52 s, 54 s, 56 s)
    assert np.all(np.diff(slow) <= 0.0)
