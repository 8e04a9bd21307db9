"""The inner loops of a pacing decision, compiled (numba).

A decision walks every busy seat and every call in flight over a handful of forecast horizons and
then searches for the number of new calls: thousands of tiny operations, where numpy spends most
of its time entering and leaving functions. Compiled, a decision of a 100-seat campaign costs tens
of microseconds, which is what lets an analyst simulate a shift in seconds and the daemon decide
every 150 ms without noticing.

The arithmetic is the one described in :mod:`pacing.risk` and :mod:`pacing.model`; the tests check
these kernels against the plain numpy reference implementations there. ``cache=True`` keeps the
compiled code next to this file, so only the first process after an install pays the compile
(a few seconds).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

_INV_SQRT_2 = 0.7071067811865476
_SKEW_C = 0.3989422804014327 / 6.0  # 1 / sqrt(2 pi) / 6


@njit(cache=True)
def _bin(t: float, inv_step: float, size: int) -> int:
    """Grid row of elapsed time ``t``: whole steps, clipped to the table (the tests' numpy
    references round the same way)."""
    i = int(max(t, 0.0) * inv_step)
    return min(i, size - 1)


@njit(cache=True)
def seat_power_sums(
    talk_elapsed: FloatArray,
    talk_step: float,
    talk_free: FloatArray,
    wrap_elapsed: FloatArray,
    wrap_step: float,
    wrap_free: FloatArray,
) -> FloatArray:
    """Sums over busy seats of ``q``, ``q**2``, ``q**3`` per horizon, shape (3, J); ``q`` the
    chance the seat is free by the horizon (rows of the model's conditional tables)."""
    out = np.zeros((3, talk_free.shape[1]))
    _add_rows(out, talk_free, talk_elapsed, talk_step)
    _add_rows(out, wrap_free, wrap_elapsed, wrap_step)
    return out


@njit(cache=True)
def _add_rows(out: FloatArray, table: FloatArray, elapsed: FloatArray, step: float) -> None:
    inv = 1.0 / step
    size = table.shape[0]
    for e in elapsed:
        i = _bin(e, inv, size)
        for j in range(table.shape[1]):
            q = table[i, j]
            q2 = q * q
            out[0, j] += q
            out[1, j] += q2
            out[2, j] += q2 * q


@njit(cache=True)
def _live_row(
    age: float,
    inv: float,
    size: int,
    answer_surv: FloatArray,
    fail_surv: FloatArray,
    hit: float,
    answered: float,
) -> tuple[int, float]:
    """A call in flight's row of ``ring_gain`` and the factor that makes its gains live-answer
    chances: ``hit / P(alive at its ring age)`` (0 where nothing is alive)."""
    i = _bin(age, inv, size)
    alive = answered * answer_surv[i] + (1.0 - answered) * fail_surv[i]
    return i, (hit / max(alive, 1e-9) if alive > 1e-9 else 0.0)


@njit(cache=True)
def live_power_sums(
    ring_age: FloatArray,
    ring_step: float,
    ring_gain: FloatArray,
    answer_surv: FloatArray,
    fail_surv: FloatArray,
    hit: float,
    answered: float,
) -> FloatArray:
    """Sums over calls in flight of ``r``, ``r**2``, ``r**3`` per horizon, shape (3, J); ``r``
    the chance the call is a live answer by the horizon, as ``PacingModel.live_answer_by``."""
    horizons = ring_gain.shape[1]
    out = np.zeros((3, horizons))
    inv = 1.0 / ring_step
    size = ring_gain.shape[0]
    for a in ring_age:
        i, scale = _live_row(a, inv, size, answer_surv, fail_surv, hit, answered)
        for j in range(horizons):
            r = min(ring_gain[i, j] * scale, 1.0)
            r2 = r * r
            out[0, j] += r
            out[1, j] += r2
            out[2, j] += r2 * r
    return out


@njit(cache=True)
def forecast_power_sums(
    talk_elapsed: FloatArray,
    talk_step: float,
    talk_free: FloatArray,
    wrap_elapsed: FloatArray,
    wrap_step: float,
    wrap_free: FloatArray,
    ring_age: FloatArray,
    ring_step: float,
    ring_gain: FloatArray,
    answer_surv: FloatArray,
    fail_surv: FloatArray,
    hit: float,
    answered: float,
) -> FloatArray:
    """:func:`seat_power_sums` stacked over :func:`live_power_sums`, shape (6, J), in one call
    (``ForecastMoments.powers``): a busy campaign asks for it at every decision, and one
    compiled call costs half of two."""
    out = np.empty((6, talk_free.shape[1]))
    out[:3] = seat_power_sums(
        talk_elapsed, talk_step, talk_free, wrap_elapsed, wrap_step, wrap_free
    )
    out[3:] = live_power_sums(ring_age, ring_step, ring_gain, answer_surv, fail_surv, hit, answered)
    return out


@njit(cache=True)
def row_power_sums(p: FloatArray) -> FloatArray:
    """Row sums of ``p``, ``p**2``, ``p**3`` for a (J, n) array, shape (3, J)."""
    rows, n = p.shape
    out = np.zeros((3, rows))
    for j in range(rows):
        for t in range(n):
            x = p[j, t]
            x2 = x * x
            out[0, j] += x
            out[1, j] += x2
            out[2, j] += x2 * x
    return out


@njit(cache=True)
def x_cumulants(powers: FloatArray, lines: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean, variance and third cumulant of ``X = sum Bern(q) + sum Bern(1 - r)`` per horizon.

    A Bernoulli(p) has cumulants p, p (1 - p), p (1 - p) (1 - 2 p), i.e. s1, s1 - s2,
    s1 - 3 s2 + 2 s3 in power sums; Bern(1 - r) has mean 1 - r, the same variance as Bern(r) and
    the opposite third cumulant.
    """
    q1, q2, q3 = powers[0], powers[1], powers[2]
    r1, r2, r3 = powers[3], powers[4], powers[5]
    mean = q1 + (lines - r1)
    var = (q1 - q2) + (r1 - r2)
    third = (q1 - 3.0 * q2 + 2.0 * q3) - (r1 - 3.0 * r2 + 2.0 * r3)
    return mean, var, third


@njit(cache=True)
def normal_risk(
    k: int,
    mean: FloatArray,
    var: FloatArray,
    third: FloatArray,
    pi: FloatArray,
    m0: int,
    hit: float,
) -> float:
    """Risk of the ``k``-th new call by the refined normal approximation (``risk.risk_normal``),
    averaged over the horizons and times the hit rate."""
    rows = mean.size
    k1 = k - 1.0
    edge = m0 + 0.5
    total = 0.0
    for j in range(rows):
        p_j = pi[j]
        kb = k1 * p_j * (1.0 - p_j)
        v = max(var[j] + kb, 1e-12)
        sd = math.sqrt(v)
        x = (edge - (mean[j] - k1 * p_j)) / sd
        gamma = (third[j] - kb * (1.0 - 2.0 * p_j)) / (v * sd)
        p = 0.5 * math.erfc(-x * _INV_SQRT_2)
        if abs(x) < 38.0:  # (beyond, exp(-x^2/2) is 0 and a huge gamma would make inf * 0)
            p += gamma * (1.0 - x * x) * math.exp(-0.5 * x * x) * _SKEW_C
        total += min(max(p, 0.0), 1.0)
    return hit * total / rows


@njit(cache=True)
def normal_calls(
    powers: FloatArray,
    lines: int,
    pi: FloatArray,
    m0: int,
    hit: float,
    kmax: int,
    threshold: float,
) -> tuple[int, float, float]:
    """Largest ``k <= kmax`` whose risk stays at or under ``threshold`` (risk grows with k):
    doubling steps to bracket it, then bisection. Returns ``(k, risk of call k + 1, risk of call
    k)`` (0.0 for a call not evaluated: beyond ``kmax``, or call 0). ``powers``:
    ``ForecastMoments.powers``.
    """
    mean, var, third = x_cumulants(powers, lines)
    lo, hi = 0, kmax + 1
    risk_hi = risk_lo = 0.0
    step = 1
    while lo + step < hi:
        k = lo + step
        r = normal_risk(k, mean, var, third, pi, m0, hit)
        if r > threshold:
            hi, risk_hi = k, r
            break
        lo, risk_lo = k, r
        step *= 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        r = normal_risk(mid, mean, var, third, pi, m0, hit)
        if r > threshold:
            hi, risk_hi = mid, r
        else:
            lo, risk_lo = mid, r
    return lo, risk_hi, risk_lo


@njit(cache=True)
def worst_case_room(
    seats: FloatArray,
    powers: FloatArray,
    forecast_share: float,
    fractions: FloatArray,
    hit_q: float,
    scale: float,
    z: float,
    trust: float,
    base: float,
) -> float:
    """New calls the budget guard allows (:meth:`pacing.guard.BudgetGuard.room`), before
    flooring: the smallest over the horizons of the largest ``k`` with

        answers + k p + z sqrt(var + k p (1 - p)) + z^2 / 6 <= base + trust * frees

    (``z^2 / 6`` is Bernstein's correction to the normal tail: a sum of rare Bernoullis has a
    longer upper tail than mean + z sd when its mean is a few answers — a 5-seat campaign at a
    5 % hit rate took three abandons in three seconds with two allowed, one seed in 60, without it)

    where the calls in flight's live chances are scaled by ``scale`` (sum c r, and
    sum c r (1 - c r) = c sum r - c^2 sum r^2, unclipped: a chance above 1 only adds to the mean,
    the safe side), frees = sum q - z sd of the seats' chances summed in ``seats`` (rows 0-1:
    sum q, sum q^2), at least 0 and at most ``forecast_share`` x the same of the forecast's
    seats (``powers`` rows 0-1), ``p = hit_q * fraction`` and ``base`` = idle seats + allowed
    abandons - live answers waiting. Solved as a quadratic in s = sqrt(var + k p (1-p)).
    ``powers``: ``ForecastMoments.powers`` (the calls' chances in rows 3-4).
    """
    k_min = np.inf
    for j in range(fractions.size):
        q1, q2, r1, r2 = seats[0, j], seats[1, j], powers[3, j], powers[4, j]
        free = q1 - z * math.sqrt(max(q1 - q2, 0.0))
        f1, f2 = powers[0, j], powers[1, j]
        free = min(free, forecast_share * (f1 - z * math.sqrt(max(f1 - f2, 0.0))))
        mean = scale * r1
        var = max(scale * r1 - scale * scale * r2, 0.0)
        p = hit_q * fractions[j]  # a new call is a live answer by horizon j
        slack = base + trust * max(free, 0.0) - mean - z * z / 6.0
        pq = max(p * (1.0 - p), 1e-12)
        # k = (s^2 - var) / pq and mean + k p + z s <= ... gives a s^2 + z s - c <= 0, a = p/pq
        a = p / pq
        c = slack + a * var
        if c > 0:
            s_max = (-z + math.sqrt(z * z + 4.0 * a * c)) / (2.0 * a)
            k = (s_max * s_max - var) / pq
        else:
            k = -1.0
        k_min = min(k_min, k)
    return k_min


@njit(cache=True)
def conditional_table(
    surv: FloatArray, step: float, shift: FloatArray, if_gone: float
) -> FloatArray:
    """``T[i, j] = 1 - S(i*step + shift_j) / S(i*step)`` clipped to [0, 1] (``if_gone`` where
    ``S(i*step)`` is ~0), ``S`` looked up with linear interpolation: the model's tables of the
    chance a seat is free within each horizon given how long it has talked (or wrapped up)."""
    rows = surv.size - 1
    out = np.empty((rows, shift.size))
    top = surv.size - 1.000001
    inv = 1.0 / step
    for i in range(rows):
        s_now = surv[i]
        for j in range(shift.size):
            if s_now <= 1e-9:
                out[i, j] = if_gone
                continue
            pos = min(max((i * step + shift[j]) * inv, 0.0), top)
            k = int(pos)
            s_then = surv[k] + (surv[k + 1] - surv[k]) * (pos - k)
            out[i, j] = min(max(1.0 - s_then / s_now, 0.0), 1.0)
    return out


@njit(cache=True)
def exact_risks(probs: FloatArray, m0: int, pi: FloatArray, kmax: int, stop: float) -> FloatArray:
    """``mean_j P(X_j - N_k <= m0)`` for ``k = 1..``, stopping once it exceeds ``stop``
    (``risk.risk_exact``, averaged over the rows).

    The Poisson-binomial pmf of each row by the convolution recurrence (exact, no cancellation:
    every term is a product of probabilities), then ``X - N_k`` stepped one new call at a time.
    """
    rows, n = probs.shape
    size = n + 1 + kmax
    pmf = np.zeros((rows, size))  # index = z + kmax
    for j in range(rows):
        pmf[j, kmax] = 1.0
        for t in range(n):
            p = probs[j, t]
            for z in range(kmax + t + 1, kmax, -1):
                pmf[j, z] = pmf[j, z] * (1.0 - p) + pmf[j, z - 1] * p
            pmf[j, kmax] *= 1.0 - p
    cut = min(max(m0 + kmax + 1, 0), size)  # entries z <= m0
    out = np.empty(kmax)
    count = 0
    for _ in range(kmax):
        total = 0.0
        for j in range(rows):
            s = 0.0
            for z in range(cut):
                s += pmf[j, z]
            total += s
        mean = total / rows
        out[count] = mean
        count += 1
        if mean > stop:
            break
        for j in range(rows):
            p = pi[j]
            for z in range(size - 1):
                pmf[j, z] = pmf[j, z] * (1.0 - p) + pmf[j, z + 1] * p
            pmf[j, size - 1] *= 1.0 - p
    return out[:count]


__all__ = [
    "conditional_table",
    "exact_risks",
    "forecast_power_sums",
    "live_answer_matrix",
    "live_power_sums",
    "normal_calls",
    "normal_risk",
    "ring_gain_table",
    "row_power_sums",
    "seat_free_matrix",
    "seat_power_sums",
    "truncated_share_posterior",
    "worst_case_room",
    "x_cumulants",
]


@njit(cache=True)
def km_survival(
    real_deaths: FloatArray,
    prior_deaths: FloatArray,
    censored: FloatArray,
    tail_at_risk: float,
    tail_from: float,
    seen_at_risk: float,
) -> FloatArray:
    """The weighted Kaplan-Meier table of :meth:`pacing.estimators.DurationEstimator.survival_table`
    (``S[i] = P(T > i*step)``, ``S[0] = 1``) from the weight each grid bin holds: completed
    durations (``real_deaths``), the prior's pseudo-observations and running durations
    (``censored``), every one of them at risk from age 0. The sparse tail — at risk under
    ``tail_at_risk``, and no earlier than the ``tail_from`` quantile of the deaths — gets one
    pooled hazard; with ``seen_at_risk`` > 0, where the real observations' weight at risk falls
    under it and they put the survival there at one half or more, the hazard is 0. (The reasons
    are told there.) Weights at risk within 1e-9 of a limit count as at it: running durations
    weigh 1 each, and whether 10.0 came out a hair under or over depended on the order of a sum."""
    deaths = real_deaths + prior_deaths
    at_risk = _left_from_zero(deaths + censored)
    seen = _left_from_zero(real_deaths + censored)
    return _km_table(deaths, real_deaths, at_risk, seen, tail_at_risk, tail_from, seen_at_risk)


@njit(cache=True)
def _left_from_zero(removed: FloatArray) -> FloatArray:
    """Weight still at risk at the start of each bin when everything entered at age 0 and
    ``removed`` left in each bin (died or was censored there). Summed from the last bin back,
    so that where only the last deaths are at risk the weight is theirs exactly (the total less
    what had gone left a hair more: a hazard just under 1, a survival of 6e-12 where the
    product limit is 0)."""
    left = np.empty(removed.size)
    acc = 0.0
    for i in range(removed.size - 1, -1, -1):
        acc += removed[i]
        left[i] = acc
    return left


@njit(cache=True)
def km_survival_exposed(
    durations: FloatArray,
    done_ago: FloatArray,
    running: FloatArray,
    prior_deaths: FloatArray,
    step: float,
    span: float,
    decay: float,
    tail_at_risk: float,
    tail_from: float,
    seen_at_risk: float,
    born_within: float,
) -> FloatArray:
    """:func:`km_survival` for seat durations seen through a window of recent completions,
    with the calls still running: each call counts at risk only over the ages it lived
    through within the window, and every death and exposure weighs by how recent it is.

    ``durations`` and ``done_ago`` (seconds before now each ended), the completed calls of the
    window, which reaches ``span`` seconds back (the oldest completion; ``inf`` while the window
    still holds every completion there has been); ``running``, the
    elapsed time of the calls still on. A call that started before the window began enters the
    risk set at the age it had then (left truncation): only the long calls of that time are
    still in the window, their short companions ended before it, and counting the long ones
    from age 0 made seats look busier than they are — at 500 seats with 30-s talks, a third to
    three quarters fewer seats forecast free than came free. A death weighs
    ``exp(-decay * seconds ago)`` from the moment its call reached the age bin it died in, and
    so does each bin a call lived through, so the recent evidence counts more at every age
    alike. The prior's pseudo-observations enter at 0 and weigh as given. Calls that began
    more than ``born_within`` seconds ago are left out altogether: they belong to a regime the
    recent calls have been seen to outlive (see :func:`cohort_lengthening`)."""
    bins = prior_deaths.size
    inv = 1.0 / step
    real_deaths = np.zeros(bins)
    seen = np.zeros(bins)
    grow = math.exp(decay * step)
    for i in range(durations.size):
        x = durations[i]
        g = done_ago[i]
        if g + x > born_within:
            continue
        w = _expose(seen, max(0.0, g + x - span), x, g + x, step, inv, decay, grow)
        real_deaths[_bin(x, inv, bins)] += w
    for k in range(running.size):
        c = running[k]
        if c > born_within:
            continue
        _expose(seen, max(0.0, c - span), c, c, step, inv, decay, grow)
    at_risk = seen + _left_from_zero(prior_deaths)
    deaths = real_deaths + prior_deaths
    return _km_table(deaths, real_deaths, at_risk, seen, tail_at_risk, tail_from, seen_at_risk)


@njit(cache=True)
def cumulative_hazards(surv: FloatArray) -> tuple[FloatArray, FloatArray]:
    """From a survival table (``S[i] = P(T > i * step)``), the deaths a call that has lived
    through the first ``i`` bins was expected to have had there, and their variance:
    ``H[i] = sum h_j`` and ``V[i] = sum h_j (1 - h_j)`` over ``j < i``, with ``h_j`` the
    chance of ending in bin ``j`` having reached it (1 where the table is already 0)."""
    cum_h = np.zeros(surv.size)
    cum_v = np.zeros(surv.size)
    for j in range(surv.size - 1):
        s0 = surv[j]
        h = min(max(1.0 - surv[j + 1] / s0, 0.0), 1.0) if s0 > 0.0 else 1.0
        cum_h[j + 1] = cum_h[j] + h
        cum_v[j + 1] = cum_v[j] + h * (1.0 - h)
    return cum_h, cum_v


@njit(cache=True)
def cohort_lengthening(
    ended_at: FloatArray,
    durations: FloatArray,
    running: FloatArray,
    now: float,
    cum_h: FloatArray,
    cum_v: FloatArray,
    step: float,
    cuts: FloatArray,
    reach: float,
    z_min: float,
    deficit_min: float,
) -> float:
    """How long ago the calls began that are outliving a duration table, or 0 if none are.

    For each cohort — the calls begun within ``cuts[k]`` seconds of ``now``, the completed ones
    (``ended_at`` on the campaign clock, NaN for an empty slot, and their ``durations``) and
    the ``running`` ones (their ages) — the deaths the table expected over the bins they lived
    through (``cum_h``, :func:`cumulative_hazards`; a running call's current bin not yet, a
    completed one's last bin with its death) against the deaths there were. The cohort whose
    shortfall is largest in standard deviations (Bernoulli, plus one of slack) is found when
    that is at least ``z_min`` and the shortfall at least ``deficit_min`` deaths, and the cut
    one step younger returned: the change falls somewhere within the step, and the few calls
    of the old regime a cut let in brought back its deaths (a 27-s talk's: with them, seats
    15 s into a 64-s call still looked 11 % likely to be free at 28 s). Only
    cohorts begun within ``reach`` (since the oldest completion the window still holds) are
    whole: an older one's first completions have been forgotten, and its deaths look short.

    A one-sample log-rank test by start time, because a regime of durations begins with the
    calls that start in it: when a team's 27-s talks became 64 s, a seat at 28 s that had
    not ended was the news, while the 27-s calls begun before the change still ended on time
    and kept the table's hazard at 27 s high for minutes (see docs/benchmarks.md)."""
    k_n = cuts.size
    last = cum_h.size - 1
    inv = 1.0 / step
    expected = np.zeros(k_n)
    variance = np.zeros(k_n)
    deaths = np.zeros(k_n)
    while k_n > 0 and cuts[k_n - 1] > reach:
        k_n -= 1
    if k_n == 0:
        return 0.0
    top = cuts[k_n - 1]
    for i in range(durations.size):
        e = ended_at[i]
        if math.isnan(e):  # (an empty slot)
            continue
        x = durations[i]
        born_ago = now - e + x
        if born_ago > top:
            continue
        k = np.searchsorted(cuts, born_ago)
        p = min(int(max(x, 0.0) * inv), last - 1) + 1
        expected[k] += cum_h[p]
        variance[k] += cum_v[p]
        deaths[k] += 1.0
    for j in range(running.size):
        c = running[j]
        if c > top:
            continue
        k = np.searchsorted(cuts, c)
        p = min(int(max(c, 0.0) * inv), last)
        expected[k] += cum_h[p]
        variance[k] += cum_v[p]
    best = 0.0
    best_z = z_min - 1e-12  # (a cohort that adds no call ties: the younger one is kept)
    e_sum = 0.0
    v_sum = 0.0
    d_sum = 0.0
    for k in range(k_n):
        e_sum += expected[k]
        v_sum += variance[k]
        d_sum += deaths[k]
        short = e_sum - d_sum
        if short >= deficit_min:
            z = short / math.sqrt(v_sum + 1.0)
            if z > best_z:
                best_z = z
                best = cuts[k - 1] if k > 0 else cuts[0]
    return best


@njit(cache=True)
def _expose(
    seen: FloatArray,
    entry: float,
    leave: float,
    born_ago: float,
    step: float,
    inv: float,
    decay: float,
    grow: float,
) -> float:
    """Add one call's weight at risk to the bins from its entry age to the age it left (died
    or now), weighed at the moment it reached each bin (``born_ago``: how long ago it started);
    returns the weight of its last bin, which its death (if it died) carries too, so that in
    every bin the dying and the surviving weigh alike."""
    bins = seen.size
    # (a bin counts only if the call was in the window from its start: one that entered
    # part-way through had companions that ended earlier in that bin, out of sight)
    first = min(math.ceil(entry * inv - 1e-9), bins - 1)
    last = _bin(leave, inv, bins)
    if first > last:
        return 0.0
    w = math.exp(-decay * (born_ago - first * step))
    for b in range(first, last):
        seen[b] += w
        w *= grow
    seen[last] += w
    return w


@njit(cache=True)
def _km_table(
    deaths: FloatArray,
    real_deaths: FloatArray,
    at_risk: FloatArray,
    seen: FloatArray,
    tail_at_risk: float,
    tail_from: float,
    seen_at_risk: float,
) -> FloatArray:
    """The product-limit table from deaths and weights at risk per bin (all, and the real
    observations' alone), with the sparse-tail and unseen rules of :func:`km_survival`."""
    bins = deaths.size
    hazard = np.empty(bins)
    total_deaths = 0.0
    i_sparse = 0
    for i in range(bins):
        a = at_risk[i]
        hazard[i] = deaths[i] / (a if a > 1e-12 else 1.0)
        total_deaths += deaths[i]
        if a >= tail_at_risk - 1e-9:
            i_sparse = i + 1  # (one past the last bin with enough weight at risk)
    if i_sparse < bins:
        i_body = bins
        cum = 0.0
        for i in range(bins):
            cum += deaths[i]
            if cum >= tail_from * total_deaths - 1e-9:
                i_body = i
                break
        i0 = max(i_sparse, i_body)
        exposure = 0.0
        tail_deaths = 0.0
        for i in range(i0, bins):
            exposure += at_risk[i]
            tail_deaths += deaths[i]
        pooled = tail_deaths / exposure if exposure > 1e-12 else 0.0
        for i in range(i0, bins):
            hazard[i] = pooled
    if seen_at_risk > 0.0:
        i_seen = 0
        for i in range(bins):
            if seen[i] >= seen_at_risk - 1e-9:
                i_seen = i + 1
        if i_seen < bins:
            kept = 1.0
            for i in range(i_seen):
                kept *= 1.0 - min(real_deaths[i] / max(seen[i], 1e-12), 1.0)
            if kept >= 0.5:
                for k in range(i_seen, bins):
                    hazard[k] = 0.0
    surv = np.empty(bins + 1)
    surv[0] = 1.0
    s = 1.0
    for i in range(bins):
        s *= 1.0 - min(max(hazard[i], 0.0), 1.0)
        surv[i + 1] = s
    return surv


@njit(cache=True)
def _truncated_loglik(
    log_prior: FloatArray,
    log_sigma: FloatArray,
    half_prec: FloatArray,
    log_visible: FloatArray,
    i: int,
    j: int,
    quad: float,
    w: float,
) -> float:
    return log_prior[i, j] - w * (log_sigma[0, j] + log_visible[i, j]) - quad * half_prec[0, j]


@njit(cache=True)
def truncated_share_posterior(
    log_prior: FloatArray,
    log_sigma: FloatArray,
    half_prec: FloatArray,
    mu: FloatArray,
    log_visible: FloatArray,
    visible: FloatArray,
    w: float,
    s1: float,
    s2: float,
) -> float:
    """The posterior mean of ``visible`` on the (mu, sigma) grid of
    :meth:`pacing.estimators.HiddenAnswers.visible_share`: ``w`` log-delays with sum ``s1`` and
    sum of squares ``s2``, each N(mu, sigma) truncated to the share ``visible`` (its log
    ``log_visible``); ``mu`` a column, ``log_sigma`` and ``half_prec`` (1 / 2 sigma^2) rows,
    ``log_prior`` unnormalised. Cells more than 746 below the peak log-likelihood are skipped:
    their ``exp`` is exactly 0 in float64. (numpy took ~65 us over the 3,751 cells, most of it
    in temporaries; this takes ~30.)"""
    rows, cols = log_visible.shape
    top = -np.inf
    for i in range(rows):
        m = mu[i, 0]
        quad = s2 - 2.0 * m * s1 + m * m * w
        for j in range(cols):
            top = max(
                top, _truncated_loglik(log_prior, log_sigma, half_prec, log_visible, i, j, quad, w)
            )
    floor = top - 746.0
    num = 0.0
    den = 0.0
    for i in range(rows):
        m = mu[i, 0]
        quad = s2 - 2.0 * m * s1 + m * m * w
        for j in range(cols):
            v = _truncated_loglik(log_prior, log_sigma, half_prec, log_visible, i, j, quad, w)
            if v > floor:
                p = math.exp(v - top)
                num += p * visible[i, j]
                den += p
    return num / den


@njit(cache=True)
def ring_gain_table(
    answer_surv: FloatArray, step: float, horizons: FloatArray, trim_from: float
) -> FloatArray:
    """``S_a(a) - S_a(a + h)`` for ring ages ``a`` on the table's grid and each horizon ``h``
    (``S_a`` linearly interpolated as :func:`pacing.estimators.survival_at`); with a finite
    ``trim_from``, ``a + h`` is held at most there and the gain at least 0 (no answers past
    the trim age; :meth:`pacing.model.PacingEstimators._ring_gain`)."""
    size = answer_surv.size
    inv = 1.0 / step
    top = size - 1.000001
    trimmed = trim_from < np.inf
    out = np.empty((size, horizons.size))
    for i in range(size):
        a = i * step
        for j in range(horizons.size):
            until = a + horizons[j]
            if trimmed:
                until = min(until, trim_from)
            pos = min(max(until * inv, 0.0), top)
            k = int(pos)
            lo = answer_surv[k]
            gain = answer_surv[i] - (lo + (answer_surv[k + 1] - lo) * (pos - k))
            out[i, j] = max(gain, 0.0) if trimmed else gain
    return out


@njit(cache=True)
def seat_free_matrix(
    talk_elapsed: FloatArray,
    talk_step: float,
    talk_free: FloatArray,
    wrap_elapsed: FloatArray,
    wrap_step: float,
    wrap_free: FloatArray,
) -> FloatArray:
    """Each busy seat's row of the model's conditional tables, shape (J, talking + wrap-up):
    the ``q`` whose sums :func:`seat_power_sums` takes, for the exact risks of a small team."""
    n_talk = talk_elapsed.size
    out = np.empty((talk_free.shape[1], n_talk + wrap_elapsed.size))
    _put_rows(out, 0, talk_free, talk_elapsed, talk_step)
    _put_rows(out, n_talk, wrap_free, wrap_elapsed, wrap_step)
    return out


@njit(cache=True)
def _put_rows(
    out: FloatArray, first: int, table: FloatArray, elapsed: FloatArray, step: float
) -> None:
    inv = 1.0 / step
    size = table.shape[0]
    for k in range(elapsed.size):
        i = _bin(elapsed[k], inv, size)
        for j in range(table.shape[1]):
            out[j, first + k] = table[i, j]


@njit(cache=True)
def live_answer_matrix(
    ring_age: FloatArray,
    ring_step: float,
    ring_gain: FloatArray,
    answer_surv: FloatArray,
    fail_surv: FloatArray,
    hit: float,
    answered: float,
) -> FloatArray:
    """Each call in flight's live-answer chance by each horizon, shape (J, calls): the ``r``
    whose sums :func:`live_power_sums` takes (``PacingModel.live_answer_by``)."""
    horizons = ring_gain.shape[1]
    out = np.empty((horizons, ring_age.size))
    inv = 1.0 / ring_step
    size = ring_gain.shape[0]
    for k in range(ring_age.size):
        i, scale = _live_row(ring_age[k], inv, size, answer_surv, fail_surv, hit, answered)
        for j in range(horizons):
            out[j, k] = min(ring_gain[i, j] * scale, 1.0)
    return out
