"""The campaign's learned model: estimators in, survival tables for the policy out.

:class:`PacingEstimators` is fed by the campaign runner (each resolved dial, each talk and wrap-up
duration) and hands the policy a :class:`PacingModel`: immutable tables on time grids, cached and
rebuilt at most every ``refresh_s`` seconds of campaign time, so one pacing decision only does
vectorised look-ups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from pacing.estimators import (
    DistributionPrior,
    DurationEstimator,
    FloatArray,
    HiddenAnswers,
    OutcomeRates,
    survival_at,
)
from pacing.kernels import (
    conditional_table,
    forecast_power_sums,
    live_answer_matrix,
    live_power_sums,
    ring_gain_table,
    seat_free_matrix,
)
from pacing.risk import ForecastMoments
from pacing.trim import LATE_SHARE_MAX


@dataclass(frozen=True, slots=True)
class Priors:
    """What the campaign expects before it has seen a call (conservative defaults)."""

    hit: float = 0.2
    machine: float = 0.05
    strength: float = 10.0
    talk: DistributionPrior = field(default_factory=lambda: DistributionPrior(150.0, 120.0, 8.0))
    wrapup: DistributionPrior = field(default_factory=lambda: DistributionPrior(10.0, 5.0, 8.0))
    answer_delay: DistributionPrior = field(
        default_factory=lambda: DistributionPrior(12.0, 6.0, 8.0)
    )
    fail_delay: DistributionPrior = field(default_factory=lambda: DistributionPrior(10.0, 8.0, 8.0))


@dataclass(slots=True)
class PacingModel:
    """Rates and look-up tables at one moment; everything the predictive policy reads.

    The conditional tables are precomputed on the grids when the model is built, so a decision
    only turns elapsed times into grid indices and gathers rows: ``talk_free[i, j]`` is the chance
    a seat that has talked for ``i * talk_step`` seconds is free (talk over and wrap-up done)
    within ``within[j]`` seconds; ``wrap_free`` the same for a seat in wrap-up; ``ring_gain[i, j]``
    the chance a call answered at all answers between ring age ``i * ring_step`` and
    ``+ horizons[j]``, unconditioned (divided by the alive share at decision time, because that
    share depends on the hit rate, which moves with every dial).
    """

    hit: float  # posterior mean of P(live answer) per dial
    hit_upper: float  # credible upper bound, used where more answers is the safe side
    machine: float
    horizons: FloatArray  # answer-delay quantiles at (j + 0.5) / J
    fractions: FloatArray  # (j + 0.5) / J
    within: FloatArray  # horizons + connect window
    talk_step: float
    talk_free: FloatArray  # (talk bins, J)
    wrap_step: float
    wrap_free: FloatArray  # (wrap bins, J)
    ring_step: float
    answer_surv: FloatArray  # P(answer delay > t) among answered calls, on the ring grid
    fail_surv: FloatArray  # P(failure delay > t) among calls that fail or ring out
    ring_gain: FloatArray  # (ring bins, J): S_a(a) - S_a(a + h_j)
    talk_mean: float
    wrap_mean: float
    # The same as talk_free and wrap_free were every duration ``SLOW`` times longer (the
    # budget guard's seats coming free, :meth:`pacing.guard.BudgetGuard.room`).
    talk_free_slow: FloatArray
    wrap_free_slow: FloatArray

    def seat_free(self, talk_elapsed: FloatArray, wrapup_elapsed: FloatArray) -> FloatArray:
        """P(each busy seat is free within each horizon), shape (J, talking + wrap-up): a seat
        talking for ``talk_elapsed`` s (its call over and wrap-up done), one in wrap-up for
        ``wrapup_elapsed`` s (ready again)."""
        return seat_free_matrix(
            talk_elapsed, self.talk_step, self.talk_free,
            wrapup_elapsed, self.wrap_step, self.wrap_free,
        )  # fmt: skip

    def live_answer_by(self, ring_age: FloatArray) -> FloatArray:
        """P(an unanswered call of ring age ``a`` is a live answer within each horizon), (J, n).

        Conditioned on the call still being alive at age ``a``: the answered share decays with the
        answer-delay survival, the failing share with the failure-delay survival (the chance is
        ``ring_gain * hit / P(alive at a)``, at most ``hit / P(answered)`` <= 1, as ``ring_gain
        <= answer_surv``).
        """
        hit = self.hit_upper
        return live_answer_matrix(
            ring_age, self.ring_step, self.ring_gain, self.answer_surv, self.fail_surv,
            hit, min(1.0, hit + self.machine),
        )  # fmt: skip

    def outcome_odds(self, ring_age: float) -> tuple[float, float]:
        """P(live answer), P(machine) for a call still ringing at ``ring_age`` had it rung on to
        the ring timeout (posterior means; what a call hung up while ringing is counted as)."""
        last = min(self.answer_surv.size, self.fail_surv.size) - 1
        i = min(int(max(ring_age, 0.0) / self.ring_step), last)
        answered = min(1.0, self.hit + self.machine)
        s_ans = float(self.answer_surv[i])
        alive = answered * s_ans + (1.0 - answered) * float(self.fail_surv[i])
        if alive <= 1e-9:
            return 0.0, 0.0
        return self.hit * s_ans / alive, self.machine * s_ans / alive

    def moments(
        self, talk_elapsed: FloatArray, wrapup_elapsed: FloatArray, ring_age: FloatArray
    ) -> ForecastMoments:
        """The per-horizon sums of :meth:`seat_free` (busy seats) and :meth:`live_answer_by`
        (calls in flight) and of their squares and cubes, without building those arrays (what a
        large campaign's decision reads)."""
        hit = self.hit_upper
        powers = forecast_power_sums(
            talk_elapsed, self.talk_step, self.talk_free,
            wrapup_elapsed, self.wrap_step, self.wrap_free,
            ring_age, self.ring_step, self.ring_gain, self.answer_surv, self.fail_surv,
            hit, min(1.0, hit + self.machine),
        )  # fmt: skip
        return ForecastMoments(powers, ring_age.size, talk_elapsed.size + wrapup_elapsed.size)


#: How many times longer every seat duration may become at once, for the budget guard: the
#: seats it counts on are those that would come free even then.
SLOW = 2.0


def _stretched(surv: FloatArray, factor: float) -> FloatArray:
    """The survival table of the same durations ``factor`` times longer, on the same grid."""
    grid = np.arange(surv.size, dtype=np.float64) / factor
    return np.interp(grid, np.arange(surv.size, dtype=np.float64), surv)


def _conditional_table(
    surv: FloatArray, step: float, shift: FloatArray, if_gone: float
) -> FloatArray:
    """``T[i, j] = 1 - S(i*step + shift_j) / S(i*step)``: done within shift_j, given i*step
    (``S`` linearly interpolated, as :func:`pacing.estimators.survival_at`)."""
    return conditional_table(surv, step, shift, if_gone)


class PacingEstimators:
    """All online estimates of one campaign, and the cached :class:`PacingModel` built from them."""

    #: Campaign seconds between two checks that the seats' durations have not lengthened at
    #: once (:meth:`pacing.estimators.DurationEstimator.lengthened`; a table found outlived is
    #: rebuilt at once rather than at the next refresh).
    CHECK_S = 1.0
    #: A first answer after this many outcomes ends a drought: the outcomes before it are
    #: dropped (see :meth:`observe_dial`). A list answering 2 % of dials goes 100 dials
    #: without an answer once in eight campaigns, and learns its rate again from there.
    DROUGHT_DIALS = 100

    def __init__(
        self,
        priors: Priors | None = None,
        *,
        max_ring_s: float = 60.0,
        horizons: int = 8,
        refresh_s: float = 15.0,
        rate_memory: float = 500.0,
        rate_memory_s: float | None = 30.0,
        connect_window_s: float = 2.0,
        hit_z: float = 0.5,
        horizon_cap_s: float | None = None,
        ring_timeout_s: float | None = None,
    ) -> None:
        p = priors or Priors()
        self.priors = p
        self.rates = OutcomeRates(
            (p.hit, p.machine, max(1e-3, 1.0 - p.hit - p.machine)),
            p.strength,
            rate_memory,
            rate_memory_s,
        )
        ring_bins = math.ceil(max_ring_s / 0.25) + 2
        self.talk = DurationEstimator(
            p.talk, step=2.0, bins=2048, window=400, half_life=150, unseen_lasts=True
        )
        self.wrapup = DurationEstimator(
            p.wrapup, step=1.0, bins=600, window=200, half_life=80, unseen_lasts=True
        )
        self.answer_delay = DurationEstimator(p.answer_delay, 0.25, ring_bins, 300, 120)
        self.fail_delay = DurationEstimator(p.fail_delay, 0.25, ring_bins, 300, 120)
        # The share of answers the ring timeout lets through (None: the timeout is not known).
        self.hidden = (
            None if ring_timeout_s is None else HiddenAnswers(ring_timeout_s, p.answer_delay.mean)
        )
        self._j = horizons
        self._connect_window = connect_window_s
        self._horizon_cap = horizon_cap_s  # forecast no further ahead than this
        self.hit_z = hit_z  # posterior sds added to the hit rate where more answers is safer
        self._refresh_s = refresh_s
        self._checked_at = -math.inf
        self._model: PacingModel | None = None
        self._trimmed_model: PacingModel | None = None  # the same, late answers trimmed
        self._built_at = -math.inf
        # The ring trim (see pacing.trim): the ring age past which the trimmed forecast counts
        # no answers — the runner's trim age plus LATE_ANSWER_GRACE_S (None: calls ring out).
        self.trim_from: float | None = None
        self.answers_seen = 0  # dials answered (live or machine) since the campaign began

    # ------------------------------------------------------------------ observations
    def observe_dial(
        self,
        outcome: int | tuple[float, float],
        ring_s: float | None = None,
        at: float | None = None,
    ) -> None:
        """One resolved dial, placed at ``at`` (fed in placement order): its outcome for the
        rates (``OutcomeRates.HUMAN``, ``MACHINE`` or ``OTHER``; or, for a call hung up while it
        still rang, its live and machine odds) and its ring time (None: not known) for the
        delay it ended — the answer delay, the failure delay, or, hung up, the failure delay
        censored there as the chance it was a call that would have failed. Such a call is not
        censored in the answer delays: weighed by odds the model itself gives, censored answers
        fed back into those odds, and at a 2 % hit rate with most calls hung up the hit rate
        swung tenfold; the answers they lose (a few late ones) were already known to be
        missing."""
        if isinstance(outcome, tuple):
            self.rates.observe_mixed(*outcome, at)
            if self.hidden is not None:
                self.hidden.observe(self.rates.last_decay)
            if ring_s is not None:
                answering = min(1.0, outcome[0] + outcome[1])
                self.fail_delay.observe_censored(ring_s, 1.0 - answering)
            return
        answered = outcome != OutcomeRates.OTHER
        if answered and not self.answers_seen and self.rates.observations >= self.DROUGHT_DIALS:
            # The no-answers before a first answer this late may be answers the ring timeout
            # hid, not people who did not answer (a list answering 15.5 s after the dial, rung
            # 15 s, then 9.3 s: a rate learnt from them read ~1 % against 70 %). They are
            # dropped, and the rate is learnt again from here (see BudgetGuard.outcomes_learnt).
            self.rates.forget()
        self.rates.observe(outcome, at)
        if answered:
            self.answers_seen += 1
        if self.hidden is not None:
            self.hidden.observe(self.rates.last_decay, ring_s if answered else None)
        if ring_s is not None:
            (self.answer_delay if answered else self.fail_delay).observe(ring_s)

    def visible_share(self) -> float:
        """The share of would-be answers the ring timeout lets through (see
        :class:`pacing.estimators.HiddenAnswers`; 1 when the timeout is not known)."""
        return 1.0 if self.hidden is None else self.hidden.visible_share()

    def observe_talk(self, seconds: float, at: float | None = None) -> None:
        self.talk.observe(seconds, at)

    def observe_wrapup(self, seconds: float, at: float | None = None) -> None:
        self.wrapup.observe(seconds, at)

    @staticmethod
    def _ring_gain(
        answer_surv: FloatArray, step: float, horizons: FloatArray, trim_from: float | None
    ) -> FloatArray:
        """``S_a(a) - S_a(a + h)`` on the ring grid x horizons: the answers of a call of ring
        age ``a`` within ``h``; with ``trim_from``, none past that ring age (the call is hung
        up then, see :meth:`model`)."""
        return ring_gain_table(
            answer_surv, step, horizons, math.inf if trim_from is None else trim_from
        )

    #: Completed wrap-ups before the learnt mean alone says when a talking seat is free again.
    MIN_WRAPUPS = 10

    def _wrap_shift(self, wrapup_elapsed: FloatArray) -> float:
        """The wrap-up a talking seat is forecast to need after its call: the learnt mean, and
        until ``MIN_WRAPUPS`` wrap-ups have ended (in the current regime: after a lengthening
        the old ones' mean is not the new ones') at least the prior's 95th percentile and the
        longest wrap-up still running.

        A campaign's first wave of calls ends together; until one of their wrap-ups ends, the
        mean is the prior's. A 299-seat campaign with a fixed 28.4-s wrap-up (prior 10 s) and a
        fixed 111.6-s talk saw its whole first wave free 18 s early, placed 58 calls at once
        and broke the cap (4.8 %) before its first wrap-up ended.
        """
        mean = self.wrapup.mean()
        if self.wrapup.regime_count() >= self.MIN_WRAPUPS:
            return mean
        running = float(wrapup_elapsed.max()) if wrapup_elapsed.size else 0.0
        p95 = float(self.priors.wrapup.quantiles(np.array([0.95]))[0])
        return max(mean, running, p95)

    def late_answers_by(self, model: PacingModel, ring_age: FloatArray) -> FloatArray:
        """Per horizon, the live answers ``model`` leaves out of the calls of ``ring_age``
        that have already rung past the trim age (zeros unless ``model`` is the trimmed one):
        summed over those calls, at ``model``'s hit rate.

        The trim hangs such a call up only while no seat is free, so while seats are free their
        answers come and take them: seats the forecast left to the calls placed now. (Counting
        the late tail of the younger calls as well held no more breaches and cost 0.004 of
        occupancy over the benchmark family; docs/benchmarks.md.)"""
        full = self._model
        if full is None or model is not self._trimmed_model or self.trim_from is None:
            return np.zeros(model.horizons.size)
        # (past the trim age the trimmed forecast counts no answer at all: what is left out
        # is the whole of the untrimmed one)
        late = ring_age[ring_age >= self.trim_from]
        hit = model.hit_upper
        sums = live_power_sums(
            late, model.ring_step, full.ring_gain, model.answer_surv, model.fail_surv,
            hit, min(1.0, hit + model.machine),
        )  # fmt: skip
        return np.asarray(sums[0])

    # ------------------------------------------------------------------ model
    @property
    def last_trimmed_model(self) -> PacingModel | None:
        """The model without late answers (see :meth:`model`), None when none was built: no
        trim, or late answers more than ``LATE_SHARE_MAX`` of the answers."""
        return self._trimmed_model

    @property
    def last_model(self) -> PacingModel | None:
        """The model the last decision read (None before the first): tables up to
        ``refresh_s`` old, rates as of that decision."""
        return self._model

    def model(
        self,
        now: float,
        talk_elapsed: FloatArray,
        wrapup_elapsed: FloatArray,
        *,
        late_trimmed: bool = False,
    ) -> PacingModel:
        """The model for a decision at ``now``; tables are rebuilt every ``refresh_s`` seconds.

        ``late_trimmed`` (with a ``trim_from``): the forecast counts no answers past the trim
        age — a call that has rung that long is hung up unless a seat is free for it, so where
        seats run short (what an abandon needs) its answer does not come. Where a seat stays
        free it does, and takes that seat: a 1-seat campaign forecasting late answers away
        dialled a second call for its seat and abandoned it, so the runner asks for this only
        with budget to spare, where the budget loop absorbs that bias.
        """
        _, hi = self.rates.human_bounds(self.hit_z)
        if self._model is not None and now - self._checked_at >= self.CHECK_S:
            self._checked_at = now
            talk = self.talk.lengthened(now, talk_elapsed)
            if self.wrapup.lengthened(now, wrapup_elapsed) or talk:
                self._built_at = -math.inf
        if self._model is None or now - self._built_at >= self._refresh_s:
            answer_surv = self.answer_delay.survival_table()
            cdf = 1.0 - answer_surv
            fractions = (np.arange(self._j) + 0.5) / self._j
            # Quantiles among answered calls: the first grid point where the cdf reaches q.
            top = max(float(cdf[-1]), 1e-9)
            idx = np.searchsorted(cdf, fractions * top)
            step = self.answer_delay.step
            horizons = (np.minimum(idx, cdf.size - 1) * step).astype(np.float64)
            if self._horizon_cap is not None:
                horizons = np.minimum(horizons, self._horizon_cap)
            within = horizons + self._connect_window
            wrap_mean = self._wrap_shift(wrapup_elapsed)
            wrap_surv = self.wrapup.survival_table(wrapup_elapsed, now)
            talk_surv = self.talk.survival_table(talk_elapsed, now)
            # (all tables are rebuilt together: at 15 s intervals this costs ~1 ms)
            self._model = PacingModel(
                hit=self.rates.human,
                hit_upper=hi,
                machine=self.rates.machine,
                horizons=horizons,
                fractions=fractions,
                within=within,
                talk_step=self.talk.step,
                talk_free=_conditional_table(talk_surv, self.talk.step, within - wrap_mean, 0.0),
                wrap_step=self.wrapup.step,
                wrap_free=_conditional_table(wrap_surv, self.wrapup.step, within, 1.0),
                ring_step=step,
                answer_surv=answer_surv,
                fail_surv=self.fail_delay.survival_table(),
                ring_gain=self._ring_gain(answer_surv, step, horizons, None),
                talk_mean=self.talk.mean(),
                wrap_mean=wrap_mean,
                talk_free_slow=_conditional_table(
                    _stretched(talk_surv, SLOW), self.talk.step, within - SLOW * wrap_mean, 0.0
                ),
                wrap_free_slow=_conditional_table(
                    _stretched(wrap_surv, SLOW), self.wrapup.step, within, 1.0
                ),
            )
            self._trimmed_model = None
            if (
                self.trim_from is not None
                and float(survival_at(answer_surv, step, np.array([self.trim_from]))[0])
                <= LATE_SHARE_MAX
            ):
                self._trimmed_model = replace(
                    self._model,
                    ring_gain=self._ring_gain(answer_surv, step, horizons, self.trim_from),
                )
            self._built_at = now
        m = self._model
        if late_trimmed and self._trimmed_model is not None:
            m = self._trimmed_model
        if m.hit_upper != hi:
            # Rates move with every dial; the tables only every refresh. (Updated in place: a
            # model is read by the decision it was built for, never kept.)
            m.hit, m.hit_upper, m.machine = self.rates.human, hi, self.rates.machine
        return m
