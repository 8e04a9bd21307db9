"""Which unanswered calls to hang up: trimming the ringing lines the seats cannot take.

A predictive dialler places calls ahead of the seats; most of them resolve within the first
15 seconds (answered, busy, failed), but some still ring then, and a few of those are answered in
the seconds left before the ring timeout. When no seat is free for such a late answer (every
ready seat spoken for by live answers already waiting), it is more likely an abandon than a
contact. The law (and the product: "no-answer calls ring at least 15 seconds") lets the dialler
give up on a call that has rung that long, so it hangs those calls up: no person is lost to an
abandon, the lead is simply not reached this time (an attempt with outcome ``no_answer`` and a
ring time of at least ``trim_from``; its retry follows the campaign's rules).

The rule is deliberately simple: a call that has rung ``trim_from`` seconds or more is hung up
while the free seats (ready, not taken by a waiting live answer) number zero or fewer. A
risk-scored variant (the chance the late answer finds no seat over the next seconds, held under
the policy's threshold) did no better at twice the cost; keeping at most one late call per free
seat lost more contacts than abandons it saved; hanging up every call at 15 s (a shorter ring
timeout) gained half as much.

What it buys comes from the forecast knowing it: with budget to spare the policy counts no
answers past the trim age (plus :data:`LATE_ANSWER_GRACE_S`) — neither the new call's own late
answer as a risk nor the late answers of calls in flight as competitors (see
:meth:`pacing.model.PacingEstimators.model`). Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pacing.estimators import FloatArray

#: The shortest ring a call gets before the dialler may give up on it (seconds): the US
#: Telemarketing Sales Rule's safe harbour, 16 CFR 310.4(b)(4)(ii) (15 s or four rings), and
#: Ofcom's persistent-misuse policy (15 s).
MIN_RING_S = 15.0


#: Answers still counted past the trim age when the forecast leaves late answers out (see
#: :meth:`pacing.model.PacingEstimators.model`): the trim acts at the next decision, up to a
#: second later, and an answer that came just before it holds a seat. Measured 0 / 1 / 2 s on
#: seesaw-25 (a tenfold jump of the hit rate, seeds 1-3): 3 / 1 / 0 seeds over the cap; base-25
#: 0.872 / 0.871 / 0.875; a 100-seat 5 %-hit campaign 0.805 / 0.808 / 0.792 (0.757 with late
#: answers counted in full).
LATE_ANSWER_GRACE_S = 2.0

#: The forecast leaves late answers out only while they are the tail of the answer delays: at
#: most this share of answers past the trim age plus the grace. Where most people answer late
#: (a list answering after 23 s on average), every late call is kept whenever one seat is free
#: and their answers flood it: a random 89-seat campaign so paced broke the cap (3.8 %, 2.8 %
#: with late answers counted). The trim itself still acts there.
LATE_SHARE_MAX = 0.25


def calls_to_trim(ring_ages: FloatArray, free_seats: int, trim_from: float) -> NDArray[np.bool_]:
    """Mask of the calls (by ring age) to hang up now: those that have rung ``trim_from``
    seconds or more, while no seat is free for a late answer (``free_seats <= 0``)."""
    if trim_from < MIN_RING_S:
        raise ValueError(f"calls must ring at least {MIN_RING_S:g} s, got trim_from={trim_from}")
    if free_seats > 0:
        return np.zeros(ring_ages.shape, dtype=np.bool_)
    return np.asarray(ring_ages >= trim_from, dtype=np.bool_)


__all__ = ["LATE_ANSWER_GRACE_S", "LATE_SHARE_MAX", "MIN_RING_S", "calls_to_trim"]
