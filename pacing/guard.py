"""The budget guard: new calls bounded so that the cap holds even when the forecast is off.

The abandon controller (:mod:`pacing.budget`) steers the predictive policy's risk threshold so
that the *expected* abandons stay under the cap. The guard bounds the bad tail: before each
decision it works out, from the abandons the ledger still allows, how many new calls could be
placed were the hit rate high and the seats slow to free (:meth:`BudgetGuard.room`), so that the
strict reading of the cap — abandons <= floor(cap x live answers) at every instant — survives a
forecast that is wrong. It binds mostly while the budget is thin: a campaign's first minutes, the
minutes after a burst, small teams all day.

What it sizes for comes from signals the estimates are slow to show, each kept here:

- the last seconds' hit rate (:meth:`BudgetGuard.fast_hit`), which sees a jump of the list's
  answer rate within seconds where the main estimate waits for the ring timeout;
- the hit rate that would show were every answer the ring timeout hides to come within it
  (:meth:`BudgetGuard.unhidden_hit`);
- the share of the seats forecast to come free lately that did
  (:meth:`BudgetGuard.frees_shortfall`).

The thin-budget mode (:mod:`pacing.thin`) sizes its hit rate through the same
:meth:`BudgetGuard.sizing_hit`, with its own quantile. Pure: no clock and no I/O; the time comes
in as ``now``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque

import numpy as np

from pacing.budget import AbandonLedger
from pacing.estimators import FloatArray
from pacing.kernels import seat_power_sums, worst_case_room
from pacing.model import PacingEstimators, PacingModel
from pacing.risk import ForecastMoments


class BudgetGuard:
    """One campaign's budget guard and the recent history its signals read (see module
    docstring). The runner tells it of each dial placed (:meth:`dial_placed`) and each seat back
    from wrap-up (:meth:`seat_freed`); at every decision with a forecast, the thin-budget mode's
    included, it hands over the seats expected to free (:meth:`track_frees`; without a forecast
    :meth:`forget_frees`), which :meth:`frees_shortfall` reads; and outside the thin-budget mode
    it asks for the room (:meth:`room`)."""

    #: Dial outcomes the campaign must have seen before the guard and the thin-budget mode
    #: trust the hit-rate estimate; until then they size for every line answering live. A
    #: restart brings the abandon budget back (the ledger) but not the rate, and a weak prior
    #: (20 % by default) under a list that answers at 60 % let a first burst of lines, all
    #: seats idle, cost more abandons than the budget held (seen on the sandbox at 25-100 seats).
    #: The guard then also counts every line in flight as answering by its first horizon, not
    #: by the prior's answer delays: outcomes are learnt in placement order, so a large team
    #: can see two abandons' worth of live answers while its first call still rings (the cap
    #: hunt: 177 seats, a list answering at 0.76 after 19 s against a prior of 0.2 after 12 s;
    #: at 20 s the prior's delays gave 77 calls ringing 1.4 live answers, ~54 came, and 68
    #: more calls made 4 abandons at 183 live answers under a 2 % cap).
    MIN_OUTCOMES = 30

    #: Posterior quantile of the hit rate the guard sizes for.
    HIT_QUANTILE = 0.95
    #: Share of the seats forecast to come free the thin-budget mode counts on (talk time may
    #: double; :mod:`pacing.thin`). The guard counts the fewer of that share and the seats
    #: that would come free were every duration twice as long (:data:`pacing.model.SLOW`, see
    #: :meth:`room`).
    FREES_TRUST = 0.5
    #: Standard deviations of margin on both answers (more) and seats coming free (fewer).
    GUARD_SD = 3.0

    #: Window (s) of the fast hit-rate check, and the dials' worth of weight its prior carries.
    FAST_WINDOW_S = 20.0
    FAST_PRIOR_DIALS = 50.0

    #: Window (s) of the check of seats coming free against the forecast.
    FREES_WINDOW_S = 6.0

    #: How long (s, beyond the ring timeout) the lowest share of answers seen holds (see
    #: :meth:`unhidden_hit`).
    HIDDEN_HOLD_S = 30.0
    #: Campaign seconds between two reckonings of that share (each ~30 us compiled, ~65 us in
    #: numpy: once a second it was 13 % of an 8-hour 100-seat shift's CPU; the hold makes a
    #: few seconds' lag harmless).
    HIDDEN_REFRESH_S = 5.0

    def __init__(self, estimators: PacingEstimators, ledger: AbandonLedger) -> None:
        self.estimators = estimators
        self.ledger = ledger
        self._dial_times: deque[float] = deque()  # recent placements, for the fast hit rate
        self._dial_times_sorted = True  # placements came in time order (always, with a clock)
        # Seats the forecast expected to come free, added up over time, against those that did
        # (see frees_shortfall): (when, running total) per decision; the rate last forecast.
        self._frees_expected: deque[tuple[float, float]] = deque()
        self._frees_expected_total = 0.0
        self._frees_rate = 0.0
        self._frees_seen: deque[float] = deque()  # wrap-ups ended (seats back at ready)
        # The share of answers the ring timeout lets through, per decision, the lowest of the
        # recent ones first (see unhidden_hit): (when, share), shares rising.
        self._shares: deque[tuple[float, float]] = deque()
        self._share_at = -math.inf

    # ------------------------------------------------------------------ what happened
    def dial_placed(self, now: float) -> None:
        """A call was placed at ``now`` (for the fast hit rate)."""
        times = self._dial_times
        if times and now < times[-1]:
            self._dial_times_sorted = False
        times.append(now)

    def seat_freed(self, now: float) -> None:
        """A seat that will take another call came back from wrap-up (for the frees check)."""
        seen = self._frees_seen
        seen.append(now)
        while seen[0] <= now - 2.0 * self.FREES_WINDOW_S:
            seen.popleft()

    # ------------------------------------------------------------------ the hit rate sized for
    def outcomes_learnt(self) -> bool:
        """Whether the hit rate stands on evidence: ``MIN_OUTCOMES`` dial outcomes, one of
        them an answer at least.

        Until a campaign's first answer its calls may all be answered past the ring timeout
        rather than not at all: a list of people who all take 15.5 s to answer, rung for 15 s,
        read as a hit rate of zero while 26 seats kept 1,040 lines ringing; when the delays
        shortened to 9 s, 542 of the next 578 answers were abandoned (cap hunt ``--seed 74
        --delay-shapes``). No answer seen, no rate is known: the lines stay one per idle seat.
        A first answer after a long drought also drops the outcomes before it
        (``PacingEstimators.DROUGHT_DIALS``), so the rate is learnt again from 30 new ones.
        """
        est = self.estimators
        return est.rates.observations >= self.MIN_OUTCOMES and est.answers_seen > 0

    def sizing_hit(self, now: float, model: PacingModel, quantile: float, floor: float) -> float:
        """The hit rate the safety sizing assumes: the highest of the posterior's ``quantile``,
        the last seconds' rate (:meth:`fast_hit`) and ``floor``, at most 1; 1 itself until the
        outcomes are learnt (:meth:`outcomes_learnt`)."""
        if not self.outcomes_learnt():
            return 1.0
        hit = max(
            self.estimators.rates.human_quantile(quantile),
            self.fast_hit(now, float(model.horizons[model.horizons.size // 2])),
            floor,
        )
        return min(hit, 1.0)

    def fast_hit(self, now: float, answer_delay: float) -> float:
        """Hit rate from the last few seconds' live answers, to catch a jump within seconds.

        The main estimate takes outcomes in placement order, so it learns a jump only once the
        ring timeout has passed for the calls placed after it (~20-30 s, while hundreds of lines
        may be placed). Here: live answers in the last ``FAST_WINDOW_S`` over the dials placed
        one typical answer delay earlier, shrunk toward the main estimate (worth
        ``FAST_PRIOR_DIALS`` dials), so only a busy campaign — the one with many lines at
        stake — moves it much. Biased high when dialling slows (the safe side for the guard).
        """
        times = self._dial_times
        w = self.FAST_WINDOW_S
        while times and times[0] <= now - w - answer_delay - 5.0:
            times.popleft()
        lo, hi = now - w - answer_delay, now - answer_delay
        if self._dial_times_sorted:
            # placements after lo up to hi: the same count as the scan below, by bisection
            dials = bisect_right(times, hi) - bisect_right(times, lo)
        else:
            dials = 0
            for t in times:
                if t > hi:
                    break
                if t > lo:
                    dials += 1
        answers = self.ledger.answers_since(now - w)
        prior = self.FAST_PRIOR_DIALS
        return (answers + prior * self.estimators.rates.human) / (dials + prior)

    def unhidden_hit(self, now: float, hit: float, ring_timeout_s: float) -> float:
        """The hit rate that would show were every answer the ring timeout now hides to come
        within it: ``hit`` over the share of answers seen (:meth:`PacingEstimators.visible_share`),
        the lowest of the last ring timeout + ``HIDDEN_HOLD_S`` seconds.

        A list whose answer delays lengthen past the ring timeout shows only its quickest
        answers: the hit rate learnt falls tenfold and the campaign dials ten times the lines
        per seat. Should the delays shorten again, the calls placed in the seconds after are
        answered at the full rate before any estimate sees it (the cap hunt: 294 seats whose
        delays went from 32 s to 19 s against a 20-s timeout, 78 abandons in 30 s). The share
        is held low for a while because the hit rate learns the shorter delays more slowly than
        the share does (it waits for the elder calls' outcomes and forgets over hundreds of
        dials): in between, the hit of the hidden regime over the share of the visible one
        sized the guard at under half the rate that came (112 seats, 41 abandons in 10 s).
        """
        held = self._shares
        if not held or now - self._share_at >= self.HIDDEN_REFRESH_S:
            # (a grid posterior: ~30 us, half a 100-seat decision)
            share = self.estimators.visible_share()
            self._share_at = now
            while held and held[-1][1] >= share:
                held.pop()
            held.append((now, share))
        horizon = now - ring_timeout_s - self.HIDDEN_HOLD_S
        while held[0][0] < horizon:
            held.popleft()
        return hit / max(held[0][1], 1e-3)

    # ------------------------------------------------------------------ seats coming free
    def track_frees(self, now: float, model: PacingModel, moments: ForecastMoments) -> None:
        """Add up the seats the forecast expects to come free: until the next decision, its
        first horizon's count over that horizon (plus the connect window), per second."""
        hist = self._frees_expected
        if hist:
            self._frees_expected_total += self._frees_rate * (now - hist[-1][0])
        self._frees_rate = float(moments.q_sum[0]) / max(float(model.within[0]), 1.0)
        hist.append((now, self._frees_expected_total))
        while len(hist) > 1 and hist[1][0] <= now - self.FREES_WINDOW_S:
            hist.popleft()
        seen = self._frees_seen
        while seen and seen[0] <= hist[0][0]:
            seen.popleft()

    def forget_frees(self) -> None:
        """A decision without a forecast: the check of the frees starts over."""
        self._frees_expected.clear()

    def frees_shortfall(self, now: float) -> float:
        """The share of the seats forecast to come free lately that did, when far fewer did
        (by 3 sd, Poisson); 1 otherwise.

        Talk times that lengthen at once (a new script, a talk time more than doubling) leave
        the forecast counting on seats that stay busy: it learns the new talks only as they
        end, and until then every seat that began one looks due at the old talk time. The
        guard counts the seats that would come free were every duration twice as long; this
        scales that count by the share that came, so the frees that stopped coming stop
        counting within seconds (the cap hunt: 127 seats whose constant 27-s talks became 64 s
        at 417 s, 65 abandons at 1,963 live answers where 58 were allowed, 3.31 % under a 3 %
        cap; 127 and 250 seats whose gamma talks became four times longer, 3.07 and 3.01 %).
        """
        hist = self._frees_expected
        if not hist or now - hist[0][0] < 0.75 * self.FREES_WINDOW_S:
            return 1.0
        total = hist[0][1]
        expected = self._frees_expected_total - total + self._frees_rate * (now - hist[-1][0])
        seen = len(self._frees_seen)  # (those since the window's first decision: track_frees)
        if seen >= expected - 3.0 * math.sqrt(expected + 1.0):
            return 1.0
        return (seen + 1.0) / (expected + 1.0)

    # ------------------------------------------------------------------ the bound
    def room(
        self,
        now: float,
        model: PacingModel,
        moments: ForecastMoments,
        ring_ages: FloatArray,
        *,
        talk: FloatArray,
        wrap: FloatArray,
        idle: int,
        waiting: int,
        allowed: int,
        oldest_ringing: float,
        hit_jump: float,
        ring_timeout_s: float,
    ) -> int:
        """New calls allowed by the remaining abandon budget, even if the forecast is off.

        With a connect window far shorter than a talk, the live answers abandoned by a horizon
        ``h`` are at least ``answers(h) - idle - frees(h)``. For every forecast horizon, the
        guard sizes answers high — the hit rate at the highest of its 95 % posterior quantile
        (wide with few dials, tight with many), the last seconds' rate (:meth:`fast_hit`),
        ``hit_jump`` times the estimate and the estimate over the share of answers the ring
        timeout lets through (:meth:`unhidden_hit`), plus ``GUARD_SD`` sd and Bernstein's
        small-count correction (see :func:`pacing.kernels.worst_case_room`) — and seats coming
        free low: mean - ``GUARD_SD`` sd of the seats that would come free were every talk and
        wrap-up twice as long (the model's ``talk_free_slow`` and ``wrap_free_slow``), and no
        more than ``FREES_TRUST`` of the same of the forecast, less while seats come free far
        fewer than forecast (:meth:`frees_shortfall`) — and keeps that worst case within the
        remaining budget.

        Durations that lengthen at once for the whole team are what the slow tables are for:
        with constant or nearly constant talks every seat fails to free at the same moment,
        and the calls placed an answer delay ahead of it are answered with no seat for them.
        Half the forecast, the guard's count before, was still too many there: 127 seats whose
        27-s talks became 64 s broke a 1 % cap on 5 seeds of 5 (up to 1.46 %), 60 seats whose
        10-s wrap-ups became 40 s a 3 % cap on 3 (4.00 %); now none (0.58 % and 2.70 % at
        worst). The doubled tables count a seat near the end of a fixed talk as busy; but a
        seat in a short wrap-up they count as all but free (a seat 2 s into a 5-s wrap-up frees
        by 10 s even then), where half the forecast counted half of it, and alone they let a
        tenfold jump of the hit rate break the cap on 7 of 17 seeds of seesaw-25 where half
        the forecast had let 2: the guard counts the fewer of the two.

        Calls that have rung past the trim age count with their late answers, up to the seats
        free (the trimmed forecast leaves them out); until the outcomes are learnt
        (:meth:`outcomes_learnt`) every line in flight counts as a live answer.

        ``ring_ages`` the ring ages of the lines in flight (calls requested, not yet placed, at
        0); ``idle`` ready seats, ``waiting`` live answers without a seat, ``allowed`` abandons the
        ledger allows now (asked only while two or more are: with fewer the thin-budget mode
        paces), ``oldest_ringing`` when the oldest call still ringing was placed (``now`` if
        none), ``ring_timeout_s`` the campaign's (for :meth:`unhidden_hit`).
        """
        progressive = max(0, idle - moments.lines - waiting)
        # The next stretch of the list may answer better than the last (seconds pass before any
        # estimate sees it): allow for a jump of hit_jump.
        est = self.estimators
        hit = est.rates.human
        hit_q = self.sizing_hit(
            now,
            model,
            self.HIT_QUANTILE,
            max(hit_jump * hit, self.unhidden_hit(now, hit, ring_timeout_s)),
        )
        scale = hit_q / max(model.hit_upper, 1e-9)
        slow = seat_power_sums(
            talk, model.talk_step, model.talk_free_slow,
            wrap, model.wrap_step, model.wrap_free_slow,
        )  # fmt: skip
        # (the forecast's sums: its calls' are the answers, its seats' bound the slow ones)
        powers = moments.powers
        if not self.outcomes_learnt():
            # Neither the hit rate nor the answer delays are known yet: every line in flight
            # is counted as a live answer by the first horizon (r = 1, no variance).
            powers = powers.copy()
            powers[3:] = float(moments.lines)
            scale = 1.0
        elif est.trim_from is not None and now - oldest_ringing >= est.trim_from:
            # Calls past the trim age are hung up only while no seat is free: while seats are
            # free their answers come and take them, so up to those seats they count, as the
            # other calls in flight do (the variance as if Poisson: an upper bound; none when
            # the forecast is not the trimmed one and counts them already).
            late = est.late_answers_by(model, ring_ages) * scale
            if late.any():
                seats = max(idle - waiting, 0) + moments.q_sum
                powers = powers.copy()
                powers[3] += np.minimum(late, seats) / scale
        k_min = worst_case_room(
            slow,
            powers,
            self.FREES_TRUST,
            model.fractions,
            hit_q,
            scale,
            self.GUARD_SD,
            self.frees_shortfall(now),
            idle + allowed - waiting,
        )
        max_new = int(max(0.0, math.floor(k_min)))
        return max(max_new, progressive)
