"""Pacing policies: how many new calls to place now.

All policies share one interface, ``decide(snapshot, now) -> PacingDecision``:

- :class:`ProgressivePolicy`: one line per idle seat (``ratio`` lines per idle seat for the
  fixed-ratio variant ``ratio:R``); no forecasting.
- :class:`PredictivePolicy`: forecasts seats coming free (talk-time survival conditioned on each
  seat's elapsed talk, wrap-up remaining) and live answers from calls in flight (conditioned on
  their ring age), and places the k-th new call only while the probability that it is answered
  live and finds no seat within the connect window stays at or under ``snapshot.threshold``
  (see :mod:`pacing.risk`).
- :class:`AdaptivePolicy`: a VICIdial-style adaptive dial level, the baseline the benchmark holds
  predictive against (``pacing-sim --mode adaptive``; not a campaign dial mode).
"""

from __future__ import annotations

import functools
import math
from collections import deque
from typing import Protocol

import numpy as np

from pacing.estimators import FloatArray
from pacing.model import PacingModel
from pacing.risk import EXACT_MAX_TRIALS, ForecastMoments, calls_within_risk
from pacing.values import value


@functools.lru_cache(maxsize=16)
def _none(rows: int) -> FloatArray:
    """An empty (rows, 0) forecast (read-only: shared by every decision)."""
    a = np.zeros((rows, 0))
    a.flags.writeable = False
    return a


def seat_free_forecast(m: PacingModel, talk: FloatArray, wrapup: FloatArray) -> FloatArray:
    """P(each busy seat is free by each horizon + connect window), (J, talking + wrap-up)."""
    return m.seat_free(talk, wrapup)


@value
class PacingSnapshot:
    """What the campaign looks like at the moment of a decision."""

    idle_seats: int  # ready seats with nothing assigned
    talk_elapsed: FloatArray  # seats talking (or being connected): elapsed talk seconds
    wrapup_elapsed: FloatArray  # seats in wrap-up: elapsed wrap-up seconds
    ring_ages: FloatArray  # unanswered calls in flight (requested-not-placed at age 0)
    waiting_answers: int  # live answers waiting for a seat
    model: PacingModel | None = None
    threshold: float = 0.0  # max P(answered live and abandoned) for a new call
    connect_window: float = 2.0  # informational: the model's tables are built with it
    max_new_calls: int = 10_000  # line capacity left
    # Optional forecasts already computed from ``model`` for this snapshot (the runner's budget
    # guard needs them too): seat_free (J, busy seats: talking then wrap-up), live_by (J, rings).
    seat_free: FloatArray | None = None
    live_by: FloatArray | None = None
    moments: ForecastMoments | None = None  # their per-horizon sums, when computed
    # The abandon ledger over the regulatory window, for policies that steer by it themselves
    # (the VICIdial-style adaptive baseline); the predictive policy gets its threshold instead.
    live_answers: int = 0
    abandons: int = 0
    abandon_cap: float = 0.03
    # Abandons the threshold's risk may tolerate first: a call counts as at risk only if it
    # would be answered live with this many other answers already short of a seat (the
    # thin-budget mode's one abandon to spare; see :func:`pacing.risk.calls_within_risk`).
    spare_abandons: int = 0
    # With an abandon to spare, the abandon risk of a call (spare or not) is still held under
    # this: spending the last allowed abandon sends the campaign back to the thinnest budget.
    spare_threshold: float = 1.0
    # Ringing calls are hung up from about this ring age when no seat is free for them (the
    # runner's ring trim, see pacing.trim; the runner adds its grace to the legal minimum): a
    # new call's answer that late finds a seat or never comes, so the answer horizons from here
    # on carry no abandon risk. None: calls ring out (or the budget is thin).
    trim_from: float | None = None

    @property
    def lines_in_flight(self) -> int:
        return int(self.ring_ages.size) + self.waiting_answers


@value
class PacingDecision:
    """How many calls to place now, and the forecast behind it (for logs, metrics and plots)."""

    calls: int
    threshold: float = 0.0
    risk_next: float = 0.0  # abandon probability of one more call beyond ``calls``
    risk_last: float = 0.0  # abandon probability of the last call placed (bounds all of them)
    expected_free: float = 0.0  # seats expected free by the median answer horizon
    expected_answers: float = 0.0  # live answers expected from calls in flight by then
    policy: str = ""


class Policy(Protocol):
    """A pacing policy: pure, no clock, no I/O."""

    name: str

    def decide(self, snapshot: PacingSnapshot, now: float) -> PacingDecision: ...


class ProgressivePolicy:
    """``ratio`` lines per idle seat (1 = progressive: no abandon by construction)."""

    def __init__(self, ratio: float = 1.0) -> None:
        if not (ratio >= 1.0 and math.isfinite(ratio)):
            raise ValueError(f"dial ratio must be a number >= 1, got {ratio!r}")
        self.ratio = ratio
        self.name = "progressive" if ratio == 1.0 else f"ratio:{ratio:g}"

    def decide(self, snapshot: PacingSnapshot, now: float) -> PacingDecision:
        target = math.floor(self.ratio * snapshot.idle_seats + 1e-9)
        calls = max(0, min(target - snapshot.lines_in_flight, snapshot.max_new_calls))
        return PacingDecision(calls=calls, policy=self.name)


class PredictivePolicy:
    """Risk-bounded predictive pacing (see module docstring)."""

    name = "predictive"

    def __init__(self, max_lines_per_seat: float = 40.0) -> None:
        self.max_lines_per_seat = max_lines_per_seat

    def decide(self, snapshot: PacingSnapshot, now: float) -> PacingDecision:
        m = snapshot.model
        if m is None:
            raise ValueError("predictive pacing needs a model in the snapshot")
        seats = snapshot.idle_seats + snapshot.talk_elapsed.size + snapshot.wrapup_elapsed.size
        if seats == 0 or snapshot.max_new_calls <= 0:
            return PacingDecision(calls=0, threshold=snapshot.threshold, policy=self.name)
        h = m.horizons
        mo = snapshot.moments
        seat_free, r = snapshot.seat_free, snapshot.live_by
        if mo is None or mo.seats + mo.lines <= EXACT_MAX_TRIALS:
            if seat_free is None:
                seat_free = seat_free_forecast(m, snapshot.talk_elapsed, snapshot.wrapup_elapsed)
            if r is None:
                r = (
                    m.live_answer_by(snapshot.ring_ages)
                    if snapshot.ring_ages.size
                    else _none(h.size)
                )
            if mo is None:
                mo = ForecastMoments.of(seat_free, r)
        else:
            seat_free, r = _none(h.size), _none(h.size)  # (only the sums are read)
        mid = h.size // 2
        exp_free = snapshot.idle_seats + float(mo.q_sum[mid])
        exp_ans = snapshot.waiting_answers + float(mo.r_sum[mid])
        hit = m.hit_upper
        # Enough candidates to use every seat that can be free over the horizon.
        slack = exp_free - exp_ans + 3.0 * math.sqrt(max(exp_free, 1.0)) + 2.0
        kmax = int(min(snapshot.max_new_calls, max(1.0, slack / max(hit, 0.01)) + 1))
        if snapshot.threshold <= 0.0 or kmax <= 0:
            return self._progressive(snapshot, exp_free, exp_ans)
        # The lines-per-seat bound is on all lines in flight, not on one decision's calls: a list
        # whose people stop answering before the ring timeout reads as a hit rate near zero, and
        # each decision would otherwise add another 40 lines per seat (60,000 lines ringing for
        # 101 seats within a minute, found by the cap hunt).
        line_room = int(self.max_lines_per_seat * seats) - snapshot.lines_in_flight
        if line_room <= 0:
            return PacingDecision(
                calls=0,
                threshold=snapshot.threshold,
                expected_free=exp_free,
                expected_answers=exp_ans,
                policy=self.name,
            )
        kmax = min(kmax, line_room)
        fractions, share = m.fractions, 1.0
        if snapshot.trim_from is not None:
            # (horizons ascend: the early ones are a prefix, sliced without copies)
            n_early = int(np.searchsorted(h, snapshot.trim_from))
            if 0 < n_early < h.size:
                # The risk is hit x the mean over horizons of P(no seat); the late horizons'
                # terms are 0, so the mean over the early ones is held under threshold / share.
                share = n_early / h.size
                fractions = fractions[:n_early]
                seat_free, r = seat_free[:n_early], r[:n_early]
                mo = ForecastMoments(mo.powers[:, :n_early], mo.lines, mo.seats)
        calls, risk_next, risk_last = calls_within_risk(
            seat_free,
            r,
            snapshot.idle_seats,
            snapshot.waiting_answers,
            hit,
            fractions,
            kmax,
            snapshot.threshold / share,
            mo,
            snapshot.spare_abandons,
        )
        risk_next, risk_last = risk_next * share, risk_last * share
        if snapshot.spare_abandons > 0 and calls > 0:
            # (the risk_next and risk_last reported stay those of the spare-abandon reading:
            # the thin-budget account adds them up)
            single, _, _ = calls_within_risk(
                seat_free,
                r,
                snapshot.idle_seats,
                snapshot.waiting_answers,
                hit,
                fractions,
                calls,
                snapshot.spare_threshold / share,
                mo,
            )
            calls = min(calls, single)
        # Never fewer than progressive would place: idle seats with no line for them.
        floor = max(0, snapshot.idle_seats - snapshot.lines_in_flight)
        calls = max(calls, min(floor, snapshot.max_new_calls))
        return PacingDecision(
            calls=calls,
            threshold=snapshot.threshold,
            risk_next=risk_next,
            risk_last=risk_last,
            expected_free=exp_free,
            expected_answers=exp_ans,
            policy=self.name,
        )

    def _progressive(
        self, snapshot: PacingSnapshot, exp_free: float, exp_ans: float
    ) -> PacingDecision:
        calls = max(0, min(snapshot.idle_seats - snapshot.lines_in_flight, snapshot.max_new_calls))
        return PacingDecision(
            calls=calls,
            threshold=0.0,
            expected_free=exp_free,
            expected_answers=exp_ans,
            policy="predictive(progressive fallback)",
        )


class AdaptivePolicy:
    """VICIdial-style adaptive dial level: the baseline the predictive policy must clearly beat.

    Modelled on VICIdial's ADAPT_* dial methods (AST_VDauto_dial / AST_VDadapt, defaults):

    - calls now = round(level x (ready + talking seats)) - (lines in flight + talking seats);
    - every ``interval_s`` (15 s) the level moves by the relative gap between seats waiting and
      answers waiting: level x (1 + (R - W) / A), with R and W the means of ready seats and of
      live answers waiting for a seat over the last 15 s, A the mean of logged-in seats over
      the last 60 s; kept within [1, ``max_level``] (3);
    - drop rules: over the last minute, more than 20 dials and abandons above half of them
      halve the level; over the window (more than 50 dials so far), an abandon rate above the
      cap sets the level to 1 (``hard_limit``, the method that holds a cap) or halves it
      (``average``).

    Not a model of anything it cannot see: it reacts to idle seats and waiting answers after the
    fact, which is the point of the comparison. Stateful (the level), pure (no clock, no I/O).
    """

    METHODS = ("hard_limit", "average")

    def __init__(
        self, method: str = "hard_limit", max_level: float = 3.0, interval_s: float = 15.0
    ) -> None:
        if method not in self.METHODS:
            raise ValueError(f"adaptive method must be one of {', '.join(self.METHODS)}")
        self.method = method
        self.max_level = max_level
        self.interval_s = interval_s
        self.name = "adaptive" if method == "hard_limit" else f"adaptive:{method}"
        self.level = 1.0
        self._next_update: float | None = None
        self._samples: deque[tuple[float, int, int, int]] = deque()  # t, ready, waiting, seats
        self._dials: deque[tuple[float, int]] = deque()  # t, calls asked for
        self._total_dials = 0
        self._abandons_at: deque[tuple[float, int]] = deque()  # t, window abandons then

    def decide(self, snapshot: PacingSnapshot, now: float) -> PacingDecision:
        talking = int(snapshot.talk_elapsed.size)
        seats = snapshot.idle_seats + talking + int(snapshot.wrapup_elapsed.size)
        if not self._samples or now - self._samples[-1][0] >= 1.0:
            self._samples.append((now, snapshot.idle_seats, snapshot.waiting_answers, seats))
            self._abandons_at.append((now, snapshot.abandons))
        while self._samples and self._samples[0][0] < now - 60.0:
            self._samples.popleft()
        while self._dials and self._dials[0][0] < now - 60.0:
            self._dials.popleft()
        while len(self._abandons_at) > 1 and self._abandons_at[1][0] <= now - 60.0:
            self._abandons_at.popleft()
        if self._next_update is None:
            self._next_update = now + self.interval_s
        elif now >= self._next_update:
            self._next_update = now + self.interval_s
            self._adapt(snapshot, now)
        goal = round(self.level * (snapshot.idle_seats + talking))
        calls = max(0, min(goal - snapshot.lines_in_flight - talking, snapshot.max_new_calls))
        if calls:
            self._dials.append((now, calls))
            self._total_dials += calls
        return PacingDecision(calls=calls, policy=self.name)

    def _adapt(self, snapshot: PacingSnapshot, now: float) -> None:
        recent = [s for s in self._samples if s[0] >= now - self.interval_s]
        ready = sum(s[1] for s in recent) / len(recent)
        waiting = sum(s[2] for s in recent) / len(recent)
        agents = sum(s[3] for s in self._samples) / len(self._samples)
        level = self.level
        if agents > 0 and ready != waiting:
            level *= 1.0 + (ready - waiting) / agents
        level = min(max(round(level, 3), 1.0), self.max_level)
        minute_dials = sum(n for _, n in self._dials)
        minute_abandons = snapshot.abandons - self._abandons_at[0][1]
        if minute_dials > 20 and minute_abandons > 0.5 * minute_dials:
            level /= 2.0
        answers = snapshot.live_answers
        if (
            self._total_dials > 50
            and answers
            and snapshot.abandons / answers > snapshot.abandon_cap
        ):
            level = 1.0 if self.method == "hard_limit" else level / 2.0
        self.level = max(level, 1.0)


def make_policy(mode: str) -> Policy:
    """``predictive``, ``progressive``, ``ratio:R`` (R >= 1) or ``adaptive[:average]`` (the
    VICIdial-style baseline) → a policy; clear error otherwise."""
    mode = mode.strip().lower()
    if mode == "predictive":
        return PredictivePolicy()
    if mode == "adaptive" or mode.startswith("adaptive:"):
        method = mode.split(":", 1)[1] if ":" in mode else "hard_limit"
        try:
            return AdaptivePolicy(method)
        except ValueError as exc:
            raise ValueError(f"dial mode {mode!r}: {exc} (adaptive or adaptive:average)") from None
    if mode == "progressive":
        return ProgressivePolicy(1.0)
    if mode.startswith("ratio:"):
        try:
            ratio = float(mode.split(":", 1)[1])
        except ValueError:
            raise ValueError(
                f"dial mode {mode!r}: ratio must be a number, e.g. ratio:1.8"
            ) from None
        return ProgressivePolicy(ratio)
    raise ValueError(
        f"unknown dial mode {mode!r}: expected predictive, progressive, ratio:R or adaptive"
    )


__all__ = [
    "AdaptivePolicy",
    "PacingDecision",
    "PacingSnapshot",
    "Policy",
    "PredictivePolicy",
    "ProgressivePolicy",
    "make_policy",
    "seat_free_forecast",
]
