"""The thin-budget mode: pacing while one abandon more would break the cap.

While at most one abandon is allowed (a new campaign's first ~2/cap live answers, or after a
burst), any abandon too many breaks the cap and the budget guard (:mod:`pacing.guard`) would
allow only progressive dialling. Yet with many seats idle, or a low hit rate, extra lines can be
all but riskless: a call is abandoned only if more people answer than seats can take. This mode
replaces the controller's threshold with a tiny per-call risk, accounted over the campaign's
life so that the chance it ever causes a breach stays under ``ThinBudget.RISK_TOTAL``, and reads
a more cautious seat forecast. Pure: no clock and no I/O; the time comes in as ``now``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pacing.estimators import FloatArray
from pacing.guard import BudgetGuard
from pacing.model import PacingModel
from pacing.policies import PacingDecision
from pacing.risk import ForecastMoments


class ThinBudget:
    """One campaign's thin-budget account (see module docstring): the risk spent so far
    (``spent``), and ``active``, set by the runner at each snapshot: that decision is paced by
    this mode."""

    #: Chance, over a campaign's life, of a breach of the cap that over-dialling while the budget
    #: is thin may buy (see :meth:`threshold`).
    RISK_TOTAL = 0.005
    #: Posterior quantile of the hit rate the mode sizes its risks with.
    HIT_QUANTILE = 0.99

    def __init__(self, guard: BudgetGuard) -> None:
        self.guard = guard
        self.spent = 0.0  # the risks of the calls placed in this mode, added up
        self.active = False

    def threshold(
        self, now: float, model: PacingModel, cap: float
    ) -> tuple[float, PacingModel] | None:
        """A tiny per-call risk threshold instead of plain progressive, and the pessimistic
        model to read it with; None to stay progressive (the account is spent).

        A call is placed while its abandon risk — with the hit rate at its 99 % posterior
        quantile, or the last seconds' rate if higher — stays under ``left * hit / need``: the
        unspent part of ``RISK_TOTAL`` spread over the dials expected before two abandons are
        allowed (``need`` live answers away). The risks of the calls placed so are added up
        (:meth:`spend`, an upper bound), so the chance this mode ever causes a breach stays
        under ``RISK_TOTAL`` over the campaign's life (a restart begins a new account). With one
        abandon allowed a breach takes two, so a call's risk is then that of being the second
        (answered live with another answer already short of a seat), while its plain abandon
        risk stays under the controller's steady threshold — the last allowed abandon is the
        dearest, it sends the campaign back to no abandon allowed (5 and 10 seats, hit 0.6:
        0.66 → 0.64 without that second bound). Those two readings are the runner's: it sets
        the snapshot's ``spare_abandons`` and ``spare_threshold``.
        """
        left = self.RISK_TOTAL - self.spent
        if left <= 0.0:
            return None
        answers, abandons = self.guard.ledger.counts(now)
        need = max(1.0, (abandons + 2) / cap - answers)
        hit = self.guard.sizing_hit(now, model, self.HIT_QUANTILE, model.hit_upper)
        return left * hit / need, replace(model, hit_upper=hit)

    def spend(self, decision: PacingDecision, idle_seats: int, lines_in_flight: int) -> None:
        """Account a decision taken in this mode: each call beyond one per idle seat carries
        at most the last one's risk."""
        if decision.calls:
            extra = decision.calls - max(0, idle_seats - lines_in_flight)
            self.spent += max(0, extra) * decision.risk_last

    def frees(self, seat_free: FloatArray) -> FloatArray:
        """The mode's seat forecast: each horizon credited with the frees of the one before
        (none for the first: only idle seats) and ``BudgetGuard.FREES_TRUST`` of those.

        Where a single abandon breaks the cap the forecast's own errors matter, not only the
        hit rate's. A horizon stands for the answers of its eighth of the answer-delay
        distribution, the earliest of which come sooner (a 2-seat campaign under a 1 % cap
        dialled for a seat 5.5 s from the end of a fixed wrap-up, counted as free by the first
        horizon, 6 s; the person answered in 1.8 s). And the first minute's seat forecast stands
        on priors (an 85-seat campaign whose wrap-up took 21.6 s against the prior's 10 saw
        seats 12-17 s into wrap-up as all but free and broke a 1 % cap at 87 live answers).
        """
        shifted = np.zeros_like(seat_free)
        shifted[1:] = seat_free[:-1]
        return shifted * self.guard.FREES_TRUST

    def moments(self, moments: ForecastMoments) -> ForecastMoments:
        """:meth:`frees` on the sums a large campaign's decision reads."""
        powers = moments.powers.copy()
        c = self.guard.FREES_TRUST
        powers[:3, 1:] = moments.powers[:3, :-1] * np.array([[c], [c * c], [c * c * c]])
        powers[:3, 0] = 0.0
        return ForecastMoments(powers, moments.lines, moments.seats)
