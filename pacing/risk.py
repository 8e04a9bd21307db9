"""Abandon risk of the k-th new call: Poisson-binomial seats-versus-answers arithmetic.

At a horizon ``h`` (a possible answer delay of the new call), the free seats left for it are

    Y = idle - waiting + sum_i Bern(q_i) - sum_k Bern(r_k) - N

where ``q_i`` is the chance busy seat ``i`` is free by ``h + connect window``, ``r_k`` the chance
in-flight call ``k`` becomes a live answer by ``h`` (it then takes a seat first), and
``N ~ Binomial(k - 1, pi)`` the earlier new calls answered live before this one. The k-th call is
abandoned when it is answered live and ``Y <= 0``. Writing ``-Bern(r) = Bern(1 - r) - 1`` makes
``X = sum Bern(q) + sum Bern(1 - r)`` one Poisson-binomial variable, so the event is
``X - N <= m0`` with ``m0 = n_inflight + waiting - idle``.

Two evaluations of ``P(X - N <= m0)``:

- exact (small campaigns): the Poisson-binomial pmf of ``X`` by the DFT of its characteristic
  function, then ``X - N_k`` stepped one new call at a time;
- refined normal approximation (Volkova / Hong 2013) with continuity correction and a skewness
  term, from the first three cumulants, accurate when many trials contribute.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from pacing.kernels import exact_risks, normal_calls, row_power_sums
from pacing.values import value

FloatArray = NDArray[np.float64]

EXACT_MAX_TRIALS = 48
_INV_SQRT_2PI = 0.3989422804014327


@value
class ForecastMoments:
    """Per-horizon sums over the busy seats' free chances ``q`` and the calls in flight's
    live-answer chances ``r``, and over their squares and cubes: the cumulants of ``X`` for the
    normal approximation, and what the budget guard (:mod:`pacing.guard`) reads (one pass over the
    forecasts serves both).

    ``powers`` (6, J): rows sum q, sum q^2, sum q^3, sum r, sum r^2, sum r^3.
    """

    powers: FloatArray
    lines: int  # calls in flight (terms of r)
    seats: int  # busy seats (terms of q)

    @classmethod
    def of(cls, seat_free: FloatArray, inflight_live: FloatArray) -> ForecastMoments:
        """From the forecast arrays, (J, busy seats) and (J, calls in flight)."""
        powers = np.concatenate([row_power_sums(seat_free), row_power_sums(inflight_live)])
        return cls(powers, int(inflight_live.shape[1]), int(seat_free.shape[1]))

    @property
    def q_sum(self) -> FloatArray:
        return self.powers[0]

    @property
    def q_var(self) -> FloatArray:
        """sum q (1 - q)"""
        return self.powers[0] - self.powers[1]

    @property
    def r_sum(self) -> FloatArray:
        return self.powers[3]

    @property
    def r_var(self) -> FloatArray:
        """sum r (1 - r)"""
        return self.powers[3] - self.powers[4]


def poisson_binomial_pmf(probs: FloatArray) -> FloatArray:
    """Row-wise pmf of a sum of independent Bernoullis; ``probs`` has shape ``(rows, n)``.

    Exact, by the discrete Fourier transform of the characteristic function (Fernandez & Williams
    2010); returns shape ``(rows, n + 1)``.
    """
    rows, n = probs.shape
    if n == 0:
        return np.ones((rows, 1))
    w = _roots_of_unity(n + 1)
    phi = np.prod(1.0 + probs[:, :, None] * (w[None, None, :] - 1.0), axis=1)
    pmf = np.fft.fft(phi, axis=1).real / (n + 1)
    return np.asarray(np.clip(pmf, 0.0, 1.0), dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _roots_of_unity(size: int) -> NDArray[np.complex128]:
    """``exp(2 pi i j / size)`` for ``j < size`` (read-only; reused by every decision)."""
    w = np.exp(2j * np.pi * np.arange(size) / size)
    w.flags.writeable = False
    return w


def risk_exact(probs: FloatArray, m0: int, pi: FloatArray, kmax: int, stop: float) -> FloatArray:
    """``P(X - N_k <= m0)`` for ``k = 1..``, shape ``(rows, k)``, ``N_k ~ Bin(k-1, pi_row)``.

    ``probs`` (rows, n): trial probabilities of ``X`` per row (horizon); ``pi`` (rows,). The
    distribution of ``Z_k = X - N_k`` is stepped one new call at a time
    (``Z_{k+1} = Z_k - Bern(pi)``), stopping early once the row mean exceeds ``stop``.
    """
    n = probs.shape[1]
    pmf = np.zeros((probs.shape[0], n + 1 + kmax))
    pmf[:, kmax:] = poisson_binomial_pmf(probs)  # index = z + kmax
    cut = m0 + kmax + 1  # entries z <= m0
    pi_ = pi[:, None]
    out = []
    for _ in range(kmax):
        p = pmf[:, : max(cut, 0)].sum(axis=1)
        out.append(p)
        if p.mean() > stop:
            break
        nxt = pmf * (1.0 - pi_)
        nxt[:, :-1] += pmf[:, 1:] * pi_
        pmf = nxt
    return np.stack(out, axis=1)


def risk_normal(
    mean: FloatArray, var: FloatArray, third: FloatArray, m0: int, pi: FloatArray, ks: FloatArray
) -> FloatArray:
    """Refined-normal ``P(X - N_k <= m0)`` for each ``k`` in ``ks``, shape (rows, len(ks)).

    ``mean``, ``var``, ``third``: the first three cumulants of ``X`` per row (horizon).
    """
    k1 = (ks - 1.0)[None, :]
    pi_ = pi[:, None]
    bern_var = pi_ * (1 - pi_)
    mu = mean[:, None] - k1 * pi_
    v = var[:, None] + k1 * bern_var
    t3 = third[:, None] - k1 * bern_var * (1 - 2 * pi_)
    v = np.maximum(v, 1e-12)
    sd = np.sqrt(v)
    x = (m0 + 0.5 - mu) / sd
    gamma = t3 / (v * sd)
    p = ndtr(x) + gamma * (1 - x * x) * np.exp(-0.5 * x * x) * (_INV_SQRT_2PI / 6.0)
    # (a degenerate row has v ~ 1e-12: x is huge, the normal cdf is exactly 0 or 1 and the
    # skewness term vanishes with exp(-x^2/2))
    return np.asarray(np.minimum(np.maximum(p, 0.0), 1.0), dtype=np.float64)


def calls_within_risk(
    seat_free: FloatArray,
    inflight_live: FloatArray,
    idle: int,
    waiting: int,
    hit: float,
    answer_fractions: FloatArray,
    kmax: int,
    threshold: float,
    moments: ForecastMoments | None = None,
    spare: int = 0,
) -> tuple[int, float, float]:
    """How many new calls keep each one's abandon risk at or under ``threshold``.

    ``seat_free`` (J, seats): P(busy seat free by horizon j + connect window);
    ``inflight_live`` (J, calls): P(in-flight call answered live by horizon j);
    ``answer_fractions`` (J,): share of the answer-delay distribution before horizon j (so
    ``hit * fraction`` is the chance another new call answers live before this one).
    The risk of the k-th call is ``hit * mean_j P(X_j - N_kj <= m0)``: P(answered live AND no
    seat), non-decreasing in k. Returns ``(calls, risk of call calls + 1, risk of call calls)``
    (the last placed call's risk bounds every placed call's).
    ``moments``: the forecasts' sums; above ``EXACT_MAX_TRIALS`` seats + lines only they are
    read (the arrays may then be empty placeholders), below it the arrays are.
    ``spare``: abandons that may happen before one counts; a call's risk is then that it is
    answered live with ``spare`` other answers already short of a seat (``Y <= -spare``).
    """
    if kmax <= 0:
        return 0, 0.0, 0.0
    n_f = inflight_live.shape[1] if moments is None else moments.lines
    m0 = n_f + waiting - idle - max(0, spare)
    pi = hit * answer_fractions
    if moments is None:
        moments = ForecastMoments.of(seat_free, inflight_live)
    if moments.seats + moments.lines <= EXACT_MAX_TRIALS:
        if (seat_free.shape[1], inflight_live.shape[1]) != (moments.seats, moments.lines):
            raise ValueError("the exact path needs the forecast arrays, not only their sums")
        probs = np.concatenate([seat_free, 1.0 - inflight_live], axis=1)
        risks = hit * exact_risks(probs, m0, pi, kmax, threshold / max(hit, 1e-12))
        risks = np.maximum.accumulate(risks)
        calls = int(np.searchsorted(risks, threshold, side="right"))
        risk_next = float(risks[calls]) if calls < risks.size else float(risks[-1])
        return calls, risk_next, float(risks[calls - 1]) if calls else 0.0
    return normal_calls(moments.powers, moments.lines, pi, m0, hit, kmax, threshold)
