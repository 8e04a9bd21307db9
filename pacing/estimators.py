"""Online estimators the pacing policy learns from: outcome rates and duration distributions.

Every estimator starts from a prior (so the first minutes of a campaign are paced sensibly and
conservatively) and forgets old evidence (so a regime change — the hit rate collapses, talk time
doubles — shows up within a few hundred observations, not hours).

- :class:`OutcomeRates`: per-dial probabilities of a live (human) answer, a machine and everything
  else, as a Dirichlet posterior with exponential forgetting. ``human_bounds`` gives credible
  bounds; the upper one is used where over-estimating answers is the safe side.
- :class:`DurationEstimator`: a distribution of durations (talk time, wrap-up time, answer delay,
  failure delay) on a fixed time grid, estimated by a weighted Kaplan-Meier product-limit estimator
  over the recent window of completed durations (events) and the durations still running
  (right-censored: a seat talking for 400 s so far tells us its talk time is *at least* 400 s).
  Recent observations weigh more (geometric weights by recency), and pseudo-observations drawn from
  the prior keep small samples sane.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pacing.kernels import (
    cohort_lengthening,
    cumulative_hazards,
    km_survival,
    km_survival_exposed,
    truncated_share_posterior,
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DistributionPrior:
    """A lognormal prior given by its mean and standard deviation (seconds), and its weight.

    ``weight`` is how many real observations the prior is worth.
    """

    mean: float
    sd: float
    weight: float = 8.0

    def __post_init__(self) -> None:
        if self.mean <= 0 or self.sd < 0 or self.weight < 0:
            raise ValueError(f"prior needs mean > 0, sd >= 0, weight >= 0; got {self}")

    def quantiles(self, q: FloatArray) -> FloatArray:
        """The lognormal prior's quantiles at probabilities ``q`` (seconds)."""
        if self.sd == 0:
            return np.full(q.shape, self.mean)
        sigma2 = math.log(1.0 + (self.sd / self.mean) ** 2)
        mu = math.log(self.mean) - sigma2 / 2
        from scipy.special import ndtri

        return np.asarray(np.exp(mu + math.sqrt(sigma2) * ndtri(q)), dtype=np.float64)

    def pseudo_samples(self, n: int = 24) -> FloatArray:
        """``n`` equally weighted quantiles of the lognormal prior."""
        return self.quantiles((np.arange(n) + 0.5) / n)


class OutcomeRates:
    """Per-dial probabilities of human answer, machine answer and no contact, with forgetting.

    A Dirichlet posterior whose counts decay by ``1 - 1/memory`` at every observation: the estimate
    weighs the last ~``memory`` dials. ``prior`` gives the starting probabilities, worth
    ``prior_strength`` dials.
    """

    HUMAN, MACHINE, OTHER = 0, 1, 2

    def __init__(
        self,
        prior: tuple[float, float, float] = (0.2, 0.1, 0.7),
        prior_strength: float = 10.0,
        memory: float = 250.0,
        time_memory_s: float | None = None,
    ) -> None:
        total = sum(prior)
        if total <= 0 or min(prior) < 0 or prior_strength <= 0 or memory < 2:
            raise ValueError("outcome prior must be non-negative, strength > 0, memory >= 2")
        self._prior = [float(x) / total * prior_strength for x in prior]
        # (three Python floats, not a numpy array: updated after every dial, where numpy's
        # per-call overhead on a 3-vector cost more than the arithmetic)
        self._counts = [0.0, 0.0, 0.0]
        self._decay = 1.0 - 1.0 / memory
        # Forgetting by time as well (when dials come with their times): whichever is slower.
        # A big campaign dials hundreds a second, and ``memory`` dials would be a second or two
        # of them: the estimate would swing by a fifth from one second to the next at a 5 %
        # hit rate, and every low swing over-dials a thousand lines in flight at once.
        self._time_memory = time_memory_s
        self._recent: deque[float] = deque()  # placement times within the time memory
        self.observations = 0
        self.last_decay = 1.0  # the forgetting factor the last observation applied
        # Figures derived from the counts, valid until the next observation (a pacing decision
        # reads them several times; the counts change only in ``observe``).
        self._derived: dict[object, float] = {}

    def _decay_for(self, at: float | None) -> float:
        """The forgetting factor for one more dial: ``memory`` dials', or as many as were
        placed in the last ``time_memory_s`` seconds if that is more."""
        tau = self._time_memory
        if at is None or not tau:
            return self._decay
        recent = self._recent
        recent.append(at)
        while recent[0] < at - tau:
            recent.popleft()
        return max(self._decay, 1.0 - 1.0 / len(recent))

    def observe(self, outcome: int, at: float | None = None) -> None:
        """Record one resolved dial: ``HUMAN``, ``MACHINE`` or ``OTHER``; ``at``, when it was
        placed (outcomes are fed in placement order), for the forgetting by time."""
        c, d = self._counts, self._decay_for(at)
        c[0] *= d
        c[1] *= d
        c[2] *= d
        c[outcome] += 1.0
        self.last_decay = d
        self.observations += 1
        self._derived.clear()

    def forget(self) -> None:
        """Drop every outcome seen: the estimate is the prior's again, with no evidence."""
        self._counts = [0.0, 0.0, 0.0]
        self._recent.clear()
        self.observations = 0
        self._derived.clear()

    def observe_mixed(self, human: float, machine: float, at: float | None = None) -> None:
        """Record one dial whose outcome is not known, only its odds: a call hung up while it
        still rang (see :mod:`pacing.trim`) counts as ``human`` of a live answer, ``machine`` of
        a machine and the rest of a no contact, so hanging up unanswered calls does not pull
        the hit rate down."""
        human = min(max(human, 0.0), 1.0)
        machine = min(max(machine, 0.0), 1.0 - human)
        c, d = self._counts, self._decay_for(at)
        c[0] = c[0] * d + human
        c[1] = c[1] * d + machine
        c[2] = c[2] * d + (1.0 - human - machine)
        self.last_decay = d
        self.observations += 1
        self._derived.clear()

    def _alpha(self) -> list[float]:
        c, p = self._counts, self._prior
        return [c[0] + p[0], c[1] + p[1], c[2] + p[2]]

    def _fill(self) -> dict[object, float]:
        d = self._derived
        a = self._alpha()
        a0 = a[0] + a[1] + a[2]
        d["human"] = a[0] / a0
        d["machine"] = a[1] / a0
        m = a[0] / a0
        d["m"] = m
        d["sd"] = math.sqrt(m * (1 - m) / (a0 + 1))
        return d

    @property
    def human(self) -> float:
        """Posterior mean of the live-answer (hit) rate per dial."""
        return (self._derived or self._fill())["human"]

    @property
    def machine(self) -> float:
        return (self._derived or self._fill())["machine"]

    def human_bounds(self, z: float = 1.0) -> tuple[float, float]:
        """Mean -/+ ``z`` posterior standard deviations of the hit rate, clipped to (0, 1)."""
        d = self._derived or self._fill()
        m, sd = d["m"], d["sd"]
        return max(1e-4, m - z * sd), min(1.0, m + z * sd)

    def human_quantile(self, q: float) -> float:
        """The ``q`` quantile of the Beta posterior of the hit rate (e.g. 0.95: an upper bound).

        Tight once many dials are seen (the decayed counts plus the prior: at most ``memory``
        dials' worth, so it never becomes over-confident), wide in the first minutes.
        """
        if not 0.0 < q < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {q}")
        d = self._derived or self._fill()
        key = ("quantile", q)
        cached = d.get(key)
        if cached is not None:
            return cached
        a = self._alpha()
        hits = a[0]
        misses = (a[0] + a[1] + a[2]) - hits
        if min(hits, misses) >= _QUANTILE_EXACT_BELOW:
            value = _beta_quantile_cornish_fisher(hits, misses, q)
        else:
            from scipy.special import betaincinv

            value = float(betaincinv(hits, misses, q))
        d[key] = value
        return value

    @property
    def evidence(self) -> float:
        """Effective number of dials behind the estimate (decayed count)."""
        return sum(self._counts)


_QUANTILE_EXACT_BELOW = 20.0
"""Below this many (decayed) hits or misses the Beta quantile is computed exactly."""


@functools.lru_cache(maxsize=16)
def _normal_quantile(q: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(q))


def _beta_quantile_cornish_fisher(a: float, b: float, q: float) -> float:
    """``q`` quantile of Beta(a, b) by the Cornish-Fisher expansion to the skewness term.

    Within ~1e-3 of the exact quantile once a and b are both >= 20 (the guard that reads it
    sizes with a margin far larger), and ~20x cheaper than ``betaincinv``: it is asked at every
    pacing decision of a busy campaign, after every dial has moved the counts.
    """
    n = a + b
    mean = a / n
    sd = math.sqrt(a * b / (n * n * (n + 1.0)))
    skew = 2.0 * (b - a) * math.sqrt(n + 1.0) / ((n + 2.0) * math.sqrt(a * b))
    z = _normal_quantile(q)
    x = mean + sd * (z + (z * z - 1.0) * skew / 6.0)
    return min(1.0, max(0.0, x))


class HiddenAnswers:
    """The share of answers the ring timeout lets through, from the answer delays seen.

    A call is hung up unanswered at the ring timeout ``T``, so the answer delays seen are a
    sample of the delay distribution *right-truncated* at ``T`` (or at the longest delay seen,
    if longer: see :meth:`observe`): a list whose people take 32 s to answer against a 20-s
    timeout shows only its quickest few percent, and the hit rate the campaign learns is that
    share of the people who would answer. Should the delays shorten,
    the answers it can see jump by up to the inverse of that share — within the ring time of
    the calls placed after the change, before any estimate sees them (see docs/benchmarks.md).

    The delays are taken as lognormal: their logs a normal sample truncated at ``ln T``, whose
    likelihood depends on the (weighted) count, sum and sum of squares alone. Those three sums
    forget with the hit rate's own forgetting (``observe`` is given its decay per dial), so the
    answers behind the share are those behind the hit rate — but never below ``MIN_WEIGHT``
    answers' worth: where the dials slow down (a low share seen keeps the guard tight) the last
    answers stay, or the share would read 1 for want of answers and the dials flood back.
    :meth:`visible_share` is the posterior mean of ``P(delay < T)`` over a grid of (mu, sigma),
    the log-delays' mean and sd: mu normal around the log of the prior answer delay (sd
    ``MU_SD``), sigma lognormal (median ``SIGMA_MEDIAN``, sd of its log ``SIGMA_LOG_SD``;
    answer delays' coefficient of variation is ~0.2-0.8). Where the delays seen crowd against
    the timeout — a density still rising there — most of the posterior lies on distributions
    mostly past it; where they thin out well before it, on distributions all but whole. (A flat
    prior on mu, or a wider one on sigma, put the share of a 32-s list at a 20-s timeout at
    0.4-1 % against the true 3.7 %: the far tail fixes the slope there, not the curvature.)
    """

    #: Prior on the log-delays: mu's sd around the log of the prior delay; sigma's median and
    #: the sd of its log.
    MU_SD = 1.0
    SIGMA_MEDIAN = 0.4
    SIGMA_LOG_SD = 0.3
    #: Answers' weight the sums keep at least, once they have it; below it nothing is inferred
    #: (the share is 1: a campaign's first answers).
    MIN_WEIGHT = 10.0

    def __init__(self, timeout_s: float, prior_delay_s: float = 12.0) -> None:
        if not timeout_s > 0 or not prior_delay_s > 0:
            raise ValueError(
                f"ring timeout and prior delay must be positive, got {timeout_s}, {prior_delay_s}"
            )
        self.timeout = float(timeout_s)
        mu = np.linspace(math.log(0.5), math.log(400.0), 121)[:, None]
        sigma = np.exp(np.linspace(math.log(0.1), math.log(1.6), 31))[None, :]
        self._mu = mu
        self._sigma = sigma
        self._log_sigma = np.log(sigma)
        self._half_prec = 0.5 / (sigma * sigma)
        self._truncate_at(self.timeout)
        self._log_prior = (
            -0.5 * ((self._log_sigma - math.log(self.SIGMA_MEDIAN)) / self.SIGMA_LOG_SD) ** 2
            - 0.5 * ((mu - math.log(prior_delay_s)) / self.MU_SD) ** 2
        )
        self._w = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._share: float | None = 1.0

    def _truncate_at(self, cut: float) -> None:
        """The longest answer delay that can be seen (seconds): the grid's ``P(delay < cut)``."""
        from scipy.special import log_ndtr, ndtr

        self.cut = cut
        z = (math.log(cut) - self._mu) / self._sigma
        self._log_visible = log_ndtr(z)
        self._visible = ndtr(z)

    def observe(self, decay: float, delay: float | None = None) -> None:
        """One dial: the sums forget by ``decay`` (down to ``MIN_WEIGHT`` answers' worth); an
        answered one (``delay``, its answer delay, seconds) adds its log-delay."""
        w = self._w
        if w > self.MIN_WEIGHT:
            decay = max(decay, self.MIN_WEIGHT / w)
            self._w = w * decay
            self._s1 *= decay
            self._s2 *= decay
        if delay is not None:
            if delay > self.cut:
                # Seen past the timeout: measured from the dial, a delay counts the call's
                # set-up (the PBX rings the timeout after it) and, with AMD, the verdict's
                # seconds; the sample is cut where it is seen to end.
                self._truncate_at(delay)
            x = math.log(max(delay, 0.25))
            self._w += 1.0
            self._s1 += x
            self._s2 += x * x
        self._share = None

    @property
    def weight(self) -> float:
        """The answers' (decayed) weight behind the estimate."""
        return self._w

    def visible_share(self) -> float:
        """Posterior mean of the share of answers that come before the ring timeout (1 until
        ``MIN_WEIGHT`` answers have been seen)."""
        if self._share is not None:
            return self._share
        w = self._w
        if w < self.MIN_WEIGHT:
            self._share = 1.0
            return 1.0
        share = truncated_share_posterior(
            self._log_prior, self._log_sigma, self._half_prec, self._mu,
            self._log_visible, self._visible, w, self._s1, self._s2,
        )  # fmt: skip
        self._share = share
        return share


class DurationEstimator:
    """A duration distribution on a grid, from recent completed and still-running durations.

    ``survival_table(censored)`` returns ``S`` with ``S[i] = P(T > i * step)`` for
    ``i = 0 .. bins``; beyond the grid the survival is held flat (conservative for seats: a very
    long call is not expected to end). The table is recomputed only when asked with new data
    (callers cache it per decision interval).
    """

    #: With ``unseen_lasts`` (seat durations: talk, wrap-up), real observations' weight at risk
    #: (completed or running, the prior's pseudo-observations not counted) below which nothing is
    #: expected to end (see survival_table).
    SEEN_AT_RISK = 2.0
    #: Observations' weight at risk below which the tail's hazard is pooled (see survival_table),
    #: and the quantile of the completed durations (prior included) the pooled tail never starts
    #: before: with few observations the body keeps the prior's shape.
    TAIL_AT_RISK = 10.0
    TAIL_FROM = 0.75
    #: The lengthening check (:meth:`lengthened`): the shortfall of deaths, in standard
    #: deviations and in deaths, that says the calls begun lately are outliving the table; and
    #: the ratio between two cohorts' start times it tells apart.
    LENGTHENED_Z = 4.5
    LENGTHENED_DEATHS = 3.0
    COHORT_RATIO = 2.0**0.125

    def __init__(
        self,
        prior: DistributionPrior,
        step: float,
        bins: int,
        window: int = 300,
        half_life: float = 120.0,
        *,
        unseen_lasts: bool = False,
    ) -> None:
        if step <= 0 or bins < 2 or window < 1 or half_life <= 0:
            raise ValueError("duration estimator needs step > 0, bins >= 2, window >= 1")
        self.unseen_lasts = unseen_lasts
        self.step = step
        self.bins = bins
        self.prior = prior
        self._samples: deque[float] = deque(maxlen=window)
        # When each sample ended (campaign clock), for the running-calls table; once one
        # observation comes without its time the table counts every call from age 0.
        self._ended: deque[float] = deque(maxlen=window)
        self._timed = True
        self._half_life = half_life
        prior_x = prior.pseudo_samples()
        prior_w = np.full(prior_x.size, prior.weight / prior_x.size)
        self._prior_deaths = np.bincount(
            self._index(prior_x), weights=prior_w, minlength=bins
        ).astype(np.float64)
        self._recency = 0.5 ** (np.arange(window)[::-1] / half_life)  # oldest first
        self.count = 0
        # Durations cut short (age, weight, ``count`` when cut): at risk up to that age, never a
        # death; forgotten, like completions, once ``window`` completions have come since.
        self._cut: deque[tuple[float, float, int]] = deque(maxlen=window)
        self._window = window
        # The window's completions again, unordered, for the lengthening check (NaN: empty);
        # the hazards of the last running table; calls begun before ``_regime_born`` (the
        # campaign clock) are outlived by those begun since and left out of the table.
        self._ring_x = np.zeros(window)
        self._ring_end = np.full(window, np.nan)
        self._ring_i = 0
        self._hazards: tuple[FloatArray, FloatArray] | None = None
        self._regime_born = -math.inf
        self.lengthenings = 0  # (how often :meth:`lengthened` found a new regime)
        cohorts = math.ceil(math.log(bins) / math.log(self.COHORT_RATIO)) + 1
        self._cuts: FloatArray = step * self.COHORT_RATIO ** np.arange(cohorts, dtype=np.float64)

    def _index(self, x: FloatArray) -> NDArray[np.intp]:
        return np.minimum((np.maximum(x, 0.0) / self.step).astype(np.intp), self.bins - 1)

    def observe(self, duration: float, at: float | None = None) -> None:
        """Record one completed duration (seconds), ended at ``at`` on the campaign's clock
        (seat durations: what lets :meth:`survival_table` weigh them against running ones)."""
        self._samples.append(max(0.0, float(duration)))
        if at is None:
            self._timed = False
        else:
            self._ended.append(float(at))
            i = self._ring_i
            self._ring_x[i] = duration
            self._ring_end[i] = at
            self._ring_i = (i + 1) % self._window
        self.count += 1

    def lengthened(self, now: float, running: FloatArray) -> bool:
        """Whether the durations begun lately outlive the last table built with the running
        ones (``running``, their ages now): if so, from now on the table counts only the calls
        begun since (``True``: the caller rebuilds it).

        The window forgets a regime only as fast as completions replace it, and the hazard of
        the old durations stays in the table until then: when a team's constant 27-s talks
        became 64 s, the seats 15-27 s into a call were still forecast to free at 27 s with a
        chance of ~0.4 a minute later, and the calls dialled for them broke a 3 % cap. The check
        (:func:`pacing.kernels.cohort_lengthening`) compares, cohort by start time, the deaths
        the table expected with those seen; it runs between rebuilds, so it answers within
        seconds of the first calls outliving the old durations (that team: 3 s)."""
        if self._hazards is None:
            return False
        cum_h, cum_v = self._hazards
        cut = cohort_lengthening(
            self._ring_end,
            self._ring_x,
            running,
            now,
            cum_h,
            cum_v,
            self.step,
            self._cuts,
            self._reach(now),
            self.LENGTHENED_Z,
            self.LENGTHENED_DEATHS,
        )
        if cut <= 0.0:
            return False
        self._regime_born = now - cut
        self._hazards = None  # (until the table is rebuilt on the new regime)
        self.lengthenings += 1
        return True

    def _reach(self, now: float) -> float:
        """How far back (seconds before ``now``) the window holds every completion: to its
        oldest once it has forgotten one, all the way (``inf``) until then."""
        return now - self._ended[0] if self.count > len(self._samples) else math.inf

    @property
    def regime_born(self) -> float:
        """When (campaign clock) the calls began that the table now counts alone (-inf: all)."""
        return self._regime_born

    def observe_censored(self, age: float, weight: float = 1.0) -> None:
        """Record one duration known only to exceed ``age`` — cut short before it ended — as
        ``weight`` of an observation (the chance it was one of this distribution's at all).

        Leaving such durations out biases the table short whenever the cutting picks the long
        ones: the ring trim hangs up calls that have rung 15 s, so the failure delays seen were
        mostly the busy signals at a few seconds, a call still ringing at 8 s looked far likelier
        to be answered than it was, and 250-seat campaigns forecast 25-46 % more answers from
        their calls in flight than came (see docs/benchmarks.md, 2026-11-27)."""
        if weight > 0.0:
            self._cut.append((max(0.0, float(age)), min(1.0, float(weight)), self.count))

    def _cut_weights(self) -> FloatArray:
        """Per-bin weight of the durations cut short, by recency like the completed ones."""
        cut = self._cut
        while cut and self.count - cut[0][2] >= self._window:
            cut.popleft()
        if not cut:
            return np.zeros(self.bins)
        a = np.array(cut, np.float64)
        w = a[:, 1] * 0.5 ** ((self.count - a[:, 2]) / self._half_life)
        return np.bincount(self._index(a[:, 0]), weights=w, minlength=self.bins).astype(np.float64)

    def mean(self) -> float:
        """Recency-weighted mean of completed durations, shrunk toward the prior mean (by the
        prior's fading weight, :meth:`_prior_share`); after a lengthening, of the durations
        begun since alone (the prior mean while none has ended: see :meth:`regime_count`)."""
        n = len(self._samples)
        if n == 0:
            return self.prior.mean
        w = self._recency[-n:]
        x = np.fromiter(self._samples, np.float64, n)
        kept = self._in_regime(x)
        if kept is not None:
            w = w * kept
        pw = self.prior.weight * self._prior_share()
        total = float(w.sum()) + pw
        if total <= 1e-12:
            return self.prior.mean
        return float((w @ x + pw * self.prior.mean) / total)

    def _in_regime(self, x: FloatArray) -> NDArray[np.bool_] | None:
        """Which of the window's durations ``x`` (oldest first) began in the current regime;
        None while there is one regime only, or when some came without their end times (then
        when they began is not known: all count)."""
        if self._regime_born == -math.inf or not self._timed:
            return None
        ended = np.fromiter(self._ended, np.float64, x.size)
        return ended - x >= self._regime_born

    def regime_count(self) -> int:
        """How many of the window's durations began in the current regime (all of them until
        :meth:`lengthened` finds a new one): what a caller asks before trusting :meth:`mean`."""
        n = len(self._samples)
        kept = self._in_regime(np.fromiter(self._samples, np.float64, n)) if n else None
        return n if kept is None else int(kept.sum())

    def _prior_share(self) -> float:
        """The share of its weight the prior keeps: it is the oldest evidence there is, so it
        fades with the same recency as the observations (half after ``half_life`` of them).

        With its full weight for ever it never left the estimate: against the ~115 observations'
        worth the recency weights keep, the prior wrap-up of 10 s held a fixed 5-s wrap-up's mean
        at 5.33 s, and every talking seat was forecast free a third of a second late; a 150-s
        talk prior held 45-s talks' table long. The first minutes keep the prior at full weight.
        """
        return 0.5 ** (self.count / self._half_life)

    def survival_table(
        self, censored: FloatArray | None = None, now: float | None = None
    ) -> FloatArray:
        """Weighted Kaplan-Meier survival on the grid: ``S[i] = P(T > i*step)``, ``S[0] = 1``.

        Running durations (``censored``) are the newest evidence: a talk time doubling shows in
        them first. With ``now`` (and completions observed with their end times) each call counts
        at risk only from the age it had when the window of completions began, and recent
        evidence weighs more at every age (:meth:`_running_table`); without, every observation
        counts from age 0, completions weighed by recency and running ones like the newest —
        right only while the window spans many durations (a 25-seat campaign's 400 talks), at
        500 seats with 30-s talks the window is shorter than a talk and the table was far too
        long. Two guards on the table's edges, computed in :func:`pacing.kernels.km_survival`:

        - The sparse tail — where fewer than ``TAIL_AT_RISK`` observations' weight is still at
          risk — gets one constant hazard, its deaths over its exposure. Bin by bin, the last
          death seen would have a hazard of 1: the survival dropped to 0 just past the longest
          talk seen, and a seat talking for about that long was forecast free within seconds for
          sure (a 4-seat campaign abandoned a call on such a seat, 1 in 21 live answers). With
          little evidence (the prior's weight of 8, a campaign's first minute) everything would
          be "sparse" and the whole distribution one exponential — a seat 5 s into a call then
          looked 15 times likelier to be free within 15 s than the prior says, and the first
          minute over-dialled (an 85-seat campaign under a 1 % cap broke it at 87 live
          answers): the tail starts no earlier than the ``TAIL_FROM`` quantile of the completed
          durations.
        - With ``unseen_lasts`` (seat durations), nothing ends past the real observations when
          most of them were still running. There the prior alone would say when durations end,
          and a seat forecast leans on it for every seat at once: a 299-seat campaign whose
          first wrap-ups (28.4 s, the prior 10 s) had run 0-6 s saw 49 seats free within 12 s,
          none did, and it broke the cap in its third minute. So where fewer than
          ``SEEN_AT_RISK`` real observations' weight is at risk (completed or running; the
          prior's pseudo-observations not counted), if the real observations alone put the
          survival there at one half or more, the hazard is 0: the safe side for seats. (Had
          they mostly ended, as a fixed 5-s wrap-up's do, the prior's tail keeps its say.)
        """
        n = len(self._samples)
        bins = self.bins
        if n and now is not None and censored is not None and self._timed:
            return self._running_table(n, censored, now)
        if n:
            x = np.fromiter(self._samples, np.float64, n)
            real_deaths = np.bincount(
                self._index(x), weights=self._recency[-n:], minlength=bins
            ).astype(np.float64)
        else:
            real_deaths = np.zeros(bins)
        if censored is not None and censored.size:
            running = np.bincount(self._index(censored), minlength=bins).astype(np.float64)
        else:
            running = np.zeros(bins)
        if self._cut:
            running = running + self._cut_weights()
        return km_survival(
            real_deaths,
            self._prior_deaths * self._prior_share(),
            running,
            self.TAIL_AT_RISK,
            self.TAIL_FROM,
            self.SEEN_AT_RISK if self.unseen_lasts else 0.0,
        )

    def _running_table(self, n: int, running: FloatArray, now: float) -> FloatArray:
        """The table with the running durations, each call at risk only over the ages it
        lived through since the window's oldest completion, recent evidence weighing more at
        every age (see :func:`pacing.kernels.km_survival_exposed`). The recency half-life is
        ``half_life`` completions, in seconds at the window's pace.

        Until the window has forgotten a completion it holds every one since the first, and
        no call's short companions are missing: every call then counts from age 0. Truncated
        at the oldest completion instead, a team that began together saw its first wrap-ups
        (22.9 s each, all 139 of them) only from the ages they had when the first one ended:
        at 5-13 s the prior's pseudo-deaths outweighed the real evidence, the table put a
        third of the wrap-ups under 20 s, 9-13 seats were forecast free that were not, and
        the calls placed for them broke a 1 % cap (the cap hunt, ``--seed 202``)."""
        x = np.fromiter(self._samples, np.float64, n)
        ago = now - np.fromiter(self._ended, np.float64, n)
        span = float(ago[0])
        decay = math.log(2.0) * n / (self._half_life * span) if span > 0.0 else 0.0
        table = km_survival_exposed(
            x,
            ago,
            running,
            self._prior_deaths * self._prior_share(),
            self.step,
            self._reach(now),
            decay,
            self.TAIL_AT_RISK,
            self.TAIL_FROM,
            self.SEEN_AT_RISK if self.unseen_lasts else 0.0,
            now - self._regime_born,
        )
        self._hazards = cumulative_hazards(table)
        return table


def survival_at(table: FloatArray, step: float, t: FloatArray) -> FloatArray:
    """Look ``P(T > t)`` up in a survival table (grid step ``step``), linearly interpolated."""
    pos = np.minimum(np.maximum(t * (1.0 / step), 0.0), table.size - 1.000001)
    i = pos.astype(np.intp)
    frac = pos - i
    lo = table[i]
    return lo + (table[i + 1] - lo) * frac
