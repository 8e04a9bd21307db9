"""Pacing policies: how many new calls to place now.

All policies share one interface, ``decide(snapshot, now) -> PacingDecision``:

- :class:`ProgressivePolicy`: one line per idle seat (``ratio`` lines per idle seat for the
  fixed-ratio variant ``ratio:R``); no forecasting.
- :class:`PredictivePolicy`: forecasts seats coming free (talk-time survival conditioned on each
  seat's elapsed talk, wrap-up remaining) and live answers from calls in flight (conditioned on
  their ring age), and places the k-th new call only while the probability that it is answered
  live and finds no seat within the connect window stays at or under ``snapshot.threshold``
  (see :mod:`pacing.risk`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pacing.estimators import FloatArray
from pacing.model import PacingModel
from pacing.risk import EXACT_MAX_TRIALS, ForecastMoments, calls_within_risk


def _none(rows: int) -> FloatArray:
    return np.zeros((rows, 0))


def seat_free_forecast(m: PacingModel, talk: FloatArray, wrapup: FloatArray) -> FloatArray:
    """P(each busy seat is free by each horizon + connect window), (J, talking + wrap-up)."""
    q_talk = m.seat_free_talking(talk)
    if wrapup.size:
        return np.concatenate([q_talk, m.seat_free_wrapup(wrapup)], 1)
    return q_talk


@dataclass(frozen=True, slots=True)
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

    @property
    def lines_in_flight(self) -> int:
        return int(self.ring_ages.size) + self.waiting_answers


@dataclass(frozen=True, slots=True)
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
        kmax = min(kmax, int(self.max_lines_per_seat * seats) + 1)
        if snapshot.threshold <= 0.0 or kmax <= 0:
            return self._progressive(snapshot, exp_free, exp_ans)
        calls, risk_next, risk_last = calls_within_risk(
            seat_free,
            r,
            snapshot.idle_seats,
            snapshot.waiting_answers,
            hit,
            m.fractions,
            kmax,
            snapshot.threshold,
            mo,
        )
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


def make_policy(mode: str) -> Policy:
    """``predictive``, ``progressive`` or ``ratio:R`` (R >= 1) → a policy; clear error otherwise."""
    mode = mode.strip().lower()
    if mode == "predictive":
        return PredictivePolicy()
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
    raise ValueError(f"unknown dial mode {mode!r}: expected predictive, progressive or ratio:R")


__all__ = [
    "PacingDecision",
    "PacingSnapshot",
    "Policy",
    "PredictivePolicy",
    "ProgressivePolicy",
    "make_policy",
    "seat_free_forecast",
]
