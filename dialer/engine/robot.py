"""Robot (voice-broadcast) mode: pacing by lines, with the hand-over side kept within its seats.

A robot campaign's answered calls go to an IVR (a dialplan context: a message, then "press 1 to
speak to someone"); a caller who presses 1 asks for a person, and only then does the call need a
seat — within the connect window, else it is abandoned (safe-harbour message).

What counts toward the abandon rate (docs/robot-and-callbacks.md): the two-second rule of the US
Telemarketing Sales Rule, 16 CFR 310.4(b)(1)(iv) — a call is abandoned when the person who answered
is not connected to a sales representative within two seconds of the completed greeting — applied
to the moment the caller *asks* for a person. The recorded message itself is the (consented)
prerecorded-message call of 310.4(b)(1)(v), not an abandon. So the ledger gets a live answer per
hand-over request (key press) and an abandon per request not connected to a seat within the
connect window (or hung up while waiting). Counting every IVR-answered call as a live answer would
dilute the rate by the press rate (a 10 % press rate turns a 30 % hand-over abandon share into a
"3 %" one); counting only requests keeps the cap meaningful.

Pacing (:func:`robot_room`): calls in flight up to ``max_lines`` (the IVR needs no seat); with
hand-over seats, a new call is placed only while the chance that more callers press 1 than seats
are ready stays under ``HANDOVER_RISK`` (:func:`new_calls_within_risk`: callers in the IVR press at
the upper estimate of the press rate, ringing and new calls are answered at the upper estimate of
the answer rate, then press); the abandon budget absorbs that chance, and with no budget left the
pacing assumes every call is answered and presses 1 (progressive for the hand-over side). Seats
talking do not count (a talk may last minutes): a robot campaign with hand-over seats dials as fast
as its seats can take the callers who ask for them, and with no seat ready it waits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

from dialer.engine.seats import SeatBoard, SeatState
from pacing.policies import PacingDecision, PacingSnapshot

ROBOT_MODE = "robot"
HANDOVER_RISK = 0.05
"""Largest chance, per pacing decision, that more people press 1 than seats are ready."""
NO_LINE_LIMIT = 10_000
_ON_DUTY = (SeatState.READY, SeatState.RESERVED, SeatState.TALKING, SeatState.WRAPUP)


@dataclass(slots=True)
class IvrTally:
    """How callers left the IVR so far: the press rate estimate (hand-over requests per call)."""

    entered: int = 0
    pressed: int = 0
    finished: int = 0  # left the IVR without pressing

    def press_rate_upper(self, z: float = 1.645) -> float:
        """Upper bound (about 95 %) of the press rate: Beta(pressed+1, finished+1) mean + z sd,
        within [0.02, 1]. With no evidence it is near 1: the hand-over side starts cautious."""
        a, b = self.pressed + 1.0, self.finished + 1.0
        n = a + b
        mean = a / n
        sd = math.sqrt(a * b / (n * n * (n + 1.0)))
        return min(1.0, max(0.02, mean + z * sd))


def robot_room(
    *,
    max_lines: int | None,
    lines: int,
    unanswered: int,
    in_ivr: int,
    waiting: int,
    seats: SeatBoard,
    press_rate: float,
    hit_rate: float,
    allowed_abandons: int,
) -> int:
    """How many new calls a robot campaign may place now.

    ``lines``: calls in flight (placed or requested); ``unanswered``: of them, not answered yet;
    ``in_ivr``: in the IVR; ``waiting``: hand-over requests waiting for a seat. Without seats
    (pure broadcast) only ``max_lines`` limits; with seats, see the module docstring.
    """
    room = (NO_LINE_LIMIT if max_lines is None else max_lines) - lines
    if room <= 0:
        return 0
    if not seats.seats:
        return room
    on_duty = sum(1 for s in seats.seats.values() if s.state in _ON_DUTY)
    if on_duty == 0:
        return 0  # hand-overs would all be abandoned
    free = seats.ready_count  # seats that can take a hand-over at once
    if free <= 0:
        return 0
    hit = min(1.0, max(hit_rate, 0.05))
    if allowed_abandons - waiting <= 0:
        # No abandon to spare: assume every call in flight is answered and presses 1.
        return max(0, min(room, free - in_ivr - unanswered))
    return new_calls_within_risk(
        free, in_ivr, unanswered, press_rate, hit * press_rate, HANDOVER_RISK, room
    )


def new_calls_within_risk(
    seats: int, in_ivr: int, ringing: int, p: float, q: float, risk: float, room: int
) -> int:
    """The most new calls (at most ``room``) such that the chance that more than ``seats`` people
    press 1 stays at most ``risk``: each caller in the IVR presses with probability ``p``, each
    ringing or new call is answered and presses with probability ``q``. Exact (a Poisson-binomial
    computed up to ``seats``) for up to 60 seats, a normal approximation beyond."""
    p, q = min(1.0, max(p, 0.0)), min(1.0, max(q, 0.0))
    if seats > 60:
        mean = in_ivr * p + ringing * q
        var = in_ivr * p * (1 - p) + ringing * q * (1 - q)
        z = NormalDist().inv_cdf(1.0 - risk)
        k = 0
        step = max(1, room // 64)
        while k < room:
            nxt = min(room, k + step)
            m, v = mean + nxt * q, var + nxt * q * (1 - q)
            if m + z * math.sqrt(v) > seats + 0.5:
                if step == 1:
                    break
                step = max(1, step // 4)
                continue
            k = nxt
        return k
    dist = [1.0] + [0.0] * seats  # P(presses = i), i <= seats
    over = 0.0  # P(presses > seats)

    def add(prob: float) -> None:
        nonlocal over
        over += dist[seats] * prob
        for i in range(seats, 0, -1):
            dist[i] = dist[i] * (1.0 - prob) + dist[i - 1] * prob
        dist[0] *= 1.0 - prob

    for _ in range(in_ivr):
        add(p)
    for _ in range(ringing):
        add(q)
    if over > risk:
        return 0
    if q <= 0.0:
        return room
    k = 0
    while k < room and over + dist[seats] * q <= risk:  # the chance after one more call
        add(q)
        k += 1
    return k


class RobotPolicy:
    """The pacing policy of robot campaigns: :func:`robot_room` through the runner's counts."""

    name = ROBOT_MODE

    def __init__(self, room: Callable[[float], int]) -> None:
        self._room = room

    def decide(self, snapshot: PacingSnapshot, now: float) -> PacingDecision:
        return PacingDecision(calls=max(0, self._room(now)), policy=self.name)
