"""The compiled decision kernels agree with the numpy reference arithmetic they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pacing.estimators import OutcomeRates
from pacing.kernels import (
    exact_risks,
    normal_calls,
    normal_risk,
    worst_case_room,
)
from pacing.model import PacingEstimators, PacingModel
from pacing.policies import seat_free_forecast
from pacing.risk import ForecastMoments, risk_exact, risk_normal

J = 8
FRACTIONS = (np.arange(J) + 0.5) / J


def _probs(seed: int, rows: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.random((rows, n))
    p[p < 0.1] = 0.0  # some certain outcomes, both ways
    p[p > 0.9] = 1.0
    return p


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 48),
    m0=st.integers(-5, 30),
    kmax=st.integers(1, 40),
    stop=st.floats(0.0, 2.0),
)
def test_exact_risks_match_the_dft_reference(
    seed: int, n: int, m0: int, kmax: int, stop: float
) -> None:
    probs = _probs(seed, J, n)
    pi = np.random.default_rng(seed + 1).random(J) * 0.6
    got = exact_risks(probs, m0, pi, kmax, stop)
    want = risk_exact(probs, m0, pi, kmax, stop).mean(axis=0)
    n_common = min(got.size, want.size)
    assert np.allclose(got[:n_common], want[:n_common], atol=1e-9)
    if got.size != want.size:
        # both stop after the first value above ``stop``; the DFT's rounding noise (~1e-16) can
        # put a value that equals ``stop`` on the other side
        assert abs(got[n_common - 1] - stop) < 1e-9


def _cumulants(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pq = p * (1 - p)
    return p.sum(axis=1), pq.sum(axis=1), (pq * (1 - 2 * p)).sum(axis=1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(49, 400), k=st.integers(1, 200))
def test_normal_risk_matches_the_numpy_reference(seed: int, n: int, k: int) -> None:
    seats = _probs(seed, J, n // 2)
    live = _probs(seed + 7, J, n - n // 2) * 0.3
    mo = ForecastMoments.of(seats, live)
    x = np.concatenate([seats, 1 - live], axis=1)
    mean, var, third = _cumulants(x)
    pi = 0.25 * FRACTIONS
    m0 = live.shape[1] + 2 - 5
    want = 0.25 * risk_normal(mean, var, third, m0, pi, np.array([float(k)])).mean()
    from pacing.kernels import x_cumulants

    assert np.allclose(np.array(x_cumulants(mo.powers, mo.lines)), [mean, var, third])
    assert math.isclose(normal_risk(k, mean, var, third, pi, m0, 0.25), want, abs_tol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    idle=st.integers(0, 40),
    kmax=st.integers(1, 300),
    threshold=st.floats(1e-4, 0.2),
)
@example(seed=0, idle=0, kmax=1, threshold=1e-4)
def test_normal_calls_is_the_last_call_within_the_threshold(
    seed: int, idle: int, kmax: int, threshold: float
) -> None:
    seats = _probs(seed, J, 120)
    live = _probs(seed + 3, J, 60) * 0.3
    mo = ForecastMoments.of(seats, live)
    pi = 0.25 * FRACTIONS
    m0 = 60 - idle
    calls, risk_next, risk_last = normal_calls(mo.powers, mo.lines, pi, m0, 0.25, kmax, threshold)
    mean, var, third = _cumulants(np.concatenate([seats, 1 - live], axis=1))
    risks = 0.25 * risk_normal(mean, var, third, m0, pi, np.arange(1, kmax + 1.0)).mean(axis=0)
    # risk grows with k, so the answer is the number of leading calls within the threshold
    assert np.all(np.diff(risks) >= -1e-12)
    want = int(np.searchsorted(risks, threshold, side="right"))
    assert calls == want
    if calls < kmax:
        assert math.isclose(risk_next, risks[calls], rel_tol=1e-9)
    if calls:
        assert math.isclose(risk_last, risks[calls - 1], rel_tol=1e-9)


def _model() -> PacingEstimators:
    est = PacingEstimators()
    rng = np.random.default_rng(5)
    for _ in range(300):
        est.observe_talk(float(rng.lognormal(4.8, 0.7)))
        est.observe_wrapup(5.0)
        if rng.random() < 0.3:
            est.observe_dial(OutcomeRates.HUMAN, float(rng.lognormal(2.4, 0.4)))
        else:
            est.observe_dial(OutcomeRates.OTHER, float(rng.uniform(3, 25)))
    return est


def _grid(t: np.ndarray, step: float, size: int) -> np.ndarray:
    return np.minimum((np.maximum(t, 0.0) * (1.0 / step)).astype(np.intp), size - 1)


def _seat_free_reference(m: PacingModel, talk: np.ndarray, wrap: np.ndarray) -> np.ndarray:
    """Each busy seat's row of the conditional tables, gathered by numpy indexing."""
    q_talk = m.talk_free[_grid(talk, m.talk_step, m.talk_free.shape[0])].T
    q_wrap = m.wrap_free[_grid(wrap, m.wrap_step, m.wrap_free.shape[0])].T
    return np.concatenate([q_talk, q_wrap], 1)


def _live_reference(m: PacingModel, ages: np.ndarray) -> np.ndarray:
    """``ring_gain * hit / P(alive at the ring age)``, at most 1, in numpy."""
    hit = m.hit_upper
    answered = min(1.0, hit + m.machine)
    i = _grid(ages, m.ring_step, m.ring_gain.shape[0])
    alive = answered * m.answer_surv[i] + (1.0 - answered) * m.fail_surv[i]
    scale = np.where(alive > 1e-9, hit / np.maximum(alive, 1e-9), 0.0)
    return np.minimum(m.ring_gain[i] * scale[:, None], 1.0).T


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), talking=st.integers(0, 150), lines=st.integers(0, 200))
def test_power_sums_match_the_forecast_arrays(seed: int, talking: int, lines: int) -> None:
    rng = np.random.default_rng(seed)
    talk = rng.uniform(-1, 900, talking)  # (a clock step can make an age negative)
    wrap = rng.uniform(0, 8, talking // 10)
    ages = rng.uniform(0, 40, lines)
    est = _model()
    m = est.model(0.0, talk, wrap)
    # the compiled forecast arrays are the numpy arithmetic exactly
    assert np.array_equal(seat_free_forecast(m, talk, wrap), _seat_free_reference(m, talk, wrap))
    assert np.array_equal(m.live_answer_by(ages), _live_reference(m, ages))
    arrays = ForecastMoments.of(seat_free_forecast(m, talk, wrap), m.live_answer_by(ages))
    direct = m.moments(talk, wrap, ages)
    assert (direct.lines, direct.seats) == (lines, talk.size + wrap.size)
    # the model's one-call kernel is exactly the sums of the arrays...
    assert np.array_equal(direct.powers, arrays.powers)
    # ...and those are the sums of the numpy references' powers
    q, r = _seat_free_reference(m, talk, wrap), _live_reference(m, ages)
    for row, p in enumerate([q, q**2, q**3, r, r**2, r**3]):
        assert np.allclose(direct.powers[row], p.sum(axis=1), rtol=1e-12, atol=1e-12)


def _guard_reference(
    q: np.ndarray,
    r: np.ndarray,
    hit_q: float,
    c: float,
    z: float,
    trust: float,
    base: float,
    forecast: np.ndarray,
    share: float,
) -> float:
    """The guard's inequality checked one k at a time (slow and obviously right)."""

    def low(chances: np.ndarray) -> np.ndarray:
        return chances.sum(axis=1) - z * np.sqrt((chances * (1 - chances)).sum(axis=1))

    frees = np.minimum(low(q), share * low(forecast))
    mean = c * r.sum(axis=1)
    var = np.maximum(c * r.sum(axis=1) - c * c * (r * r).sum(axis=1), 0.0)
    best = math.inf
    for j in range(q.shape[0]):
        p = hit_q * FRACTIONS[j]
        room = base + trust * max(frees[j], 0.0)
        k = -1
        while (
            k < 2000
            and mean[j] + (k + 1) * p + z * math.sqrt(var[j] + (k + 1) * p * (1 - p)) + z * z / 6
            <= room + 1e-9
        ):
            k += 1
        best = min(best, k)
    return best


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    base=st.floats(-5, 40),
    hit_q=st.floats(0.02, 0.9),
    c=st.floats(1.0, 3.0),
)
def test_worst_case_room_solves_the_guard_inequality(
    seed: int, base: float, hit_q: float, c: float
) -> None:
    q = _probs(seed, J, 30)
    r = _probs(seed + 1, J, 20) * 0.25
    fq = _probs(seed + 2, J, 30)  # the forecast the frees are held to a share of
    mo = ForecastMoments.of(q, r)
    fo = ForecastMoments.of(fq, r)
    got = worst_case_room(mo.powers[:3], fo.powers, 0.5, FRACTIONS, hit_q, c, 3.0, 0.8, base)
    want = _guard_reference(q, r, hit_q, c, 3.0, 0.8, base, fq, 0.5)
    assert max(-1, math.floor(got + 1e-9)) == want or (got < 0 and want == -1)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), step=st.sampled_from([0.25, 1.0, 2.0]), if_gone=st.floats(0, 1))
def test_conditional_table_matches_the_numpy_reference(
    seed: int, step: float, if_gone: float
) -> None:
    from pacing.estimators import survival_at
    from pacing.kernels import conditional_table

    rng = np.random.default_rng(seed)
    surv = np.concatenate([[1.0], np.cumprod(1 - rng.random(300) * 0.05)])
    surv[250:] = 0.0  # a tail that is gone
    shift = np.sort(rng.uniform(0, 60, J))
    t = np.arange(surv.size - 1) * step
    s_now = surv[:-1]
    gone = s_now <= 1e-9
    want = (
        1.0
        - survival_at(surv, step, t[:, None] + shift[None, :]) / np.where(gone, 1, s_now)[:, None]
    )
    want[gone, :] = if_gone
    want = np.clip(want, 0.0, 1.0)
    assert np.allclose(conditional_table(surv, step, shift, if_gone), want, atol=1e-12)


def _km_reference(deaths: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Plain product-limit estimate: hazard = deaths / weight at risk at the start of each bin
    (the weight removed from that bin on, summed from the end: a total less what has gone
    leaves rounding where only the last deaths are at risk, a hazard a hair under 1 and a
    survival of 3e-12 where the product limit is 0)."""
    removed = deaths + censored
    at_risk = np.cumsum(removed[::-1])[::-1]
    hazard = np.clip(deaths / np.where(at_risk > 1e-12, at_risk, 1.0), 0.0, 1.0)
    return np.concatenate(([1.0], np.cumprod(1.0 - hazard)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), bins=st.integers(2, 400))
def test_km_survival_matches_the_product_limit_reference(seed: int, bins: int) -> None:
    from pacing.kernels import km_survival

    rng = np.random.default_rng(seed)
    real = rng.random(bins) * (rng.random(bins) < 0.3)
    prior = rng.random(bins) * 0.05
    censored = (rng.random(bins) < 0.1).astype(np.float64)
    # no sparse tail, no unseen rule: the plain estimate
    got = km_survival(real, prior, censored, 0.0, 0.75, 0.0)
    assert np.allclose(got, _km_reference(real + prior, censored), atol=1e-12)
    # the sparse tail pooled: one hazard from where the weight at risk falls under 10 (and
    # past three quarters of the deaths), the body untouched
    pooled = km_survival(real, prior, censored, 10.0, 0.75, 0.0)
    removed = real + prior + censored
    at_risk = removed.sum() - np.concatenate(([0.0], np.cumsum(removed)[:-1]))
    deaths = real + prior
    body_end = int(np.argmax(np.cumsum(deaths) >= 0.75 * deaths.sum() - 1e-9))
    i0 = max(
        int(np.argmax(at_risk < 10.0 - 1e-9)) if (at_risk < 10.0 - 1e-9).any() else bins, body_end
    )
    assert np.allclose(pooled[: i0 + 1], got[: i0 + 1], atol=1e-12)
    if i0 < bins:
        ratios = pooled[i0 + 1 :] / pooled[i0:-1]
        assert np.allclose(ratios, ratios[0], atol=1e-9)  # one constant hazard


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), bins=st.integers(5, 300))
def test_km_exposed_without_truncation_or_decay_is_the_plain_product_limit(
    seed: int, bins: int
) -> None:
    """With the window reaching back past every call's start and no recency decay, counting
    calls from the age they entered the window is counting them from 0: the plain table."""
    from pacing.kernels import km_survival, km_survival_exposed

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 60)), int(rng.integers(0, 30))
    durations = rng.uniform(0.0, bins * 1.2, n)
    running = rng.uniform(0.0, bins * 1.2, m)
    done_ago = rng.uniform(0.0, 10.0, n)
    prior = rng.random(bins) * 0.05
    span = 1e9
    got = km_survival_exposed(
        durations, done_ago, running, prior, 1.0, span, 0.0, 0.0, 0.75, 0.0, math.inf
    )
    idx = np.minimum(durations.astype(np.intp), bins - 1)
    real = np.bincount(idx, minlength=bins).astype(np.float64)
    cens = np.bincount(np.minimum(running.astype(np.intp), bins - 1), minlength=bins)
    want = km_survival(real, prior, cens.astype(np.float64), 0.0, 0.75, 0.0)
    assert np.allclose(got, want, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    median=st.floats(2.0, 60.0),
    cv=st.floats(0.1, 1.2),
    timeout=st.floats(10.0, 45.0),
    answers=st.integers(10, 400),
)
def test_truncated_share_posterior_matches_the_numpy_grid(
    seed: int, median: float, cv: float, timeout: float, answers: int
) -> None:
    from pacing.estimators import HiddenAnswers
    from pacing.kernels import truncated_share_posterior

    h = HiddenAnswers(timeout)
    rng = np.random.default_rng(seed)
    delays = rng.lognormal(math.log(median), cv, answers * 4)
    for d in delays[delays < timeout][:answers]:
        h.observe(0.999, float(d))
    if h.weight < h.MIN_WEIGHT:
        return
    # the reference: the whole grid in numpy, every cell's exp taken
    ll = (
        h._log_prior
        - h._w * (h._log_sigma + h._log_visible)
        - (h._s2 - 2.0 * h._mu * h._s1 + h._mu * h._mu * h._w) * h._half_prec
    )
    p = np.exp(ll - ll.max())
    expected = float((p * h._visible).sum() / p.sum())
    got = truncated_share_posterior(
        h._log_prior, h._log_sigma, h._half_prec, h._mu, h._log_visible, h._visible,
        h._w, h._s1, h._s2,
    )  # fmt: skip
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert h.visible_share() == got


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(3, 300),
    step=st.sampled_from([0.1, 0.25, 0.5, 1 / 3]),
    trim_from=st.one_of(st.none(), st.floats(0.0, 60.0)),
)
def test_ring_gain_table_is_the_numpy_arithmetic_exactly(
    seed: int, size: int, step: float, trim_from: float | None
) -> None:
    from pacing.estimators import survival_at
    from pacing.kernels import ring_gain_table

    rng = np.random.default_rng(seed)
    surv = np.sort(rng.random(size))[::-1].copy()
    surv[0] = 1.0
    horizons = np.sort(rng.random(J) * 30.0)
    until = (np.arange(size, dtype=np.float64) * step)[:, None] + horizons[None, :]
    if trim_from is None:
        expected = surv[:, None] - survival_at(surv, step, until)
    else:
        until = np.minimum(until, trim_from)
        expected = np.maximum(surv[:, None] - survival_at(surv, step, until), 0.0)
    got = ring_gain_table(surv, step, horizons, math.inf if trim_from is None else trim_from)
    assert np.array_equal(got, expected)
