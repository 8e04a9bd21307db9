"""Abandon budget: keeps the cumulative abandon rate over the regulatory window under the cap.

The ledger counts live answers and abandons in the rolling window (24 h in the UK, 30 days in the
US). The number of abandons still allowed is ``floor(cap * answers) - abandons``: with 10 live
answers and a 3 % cap that is zero, so a new campaign dials progressively until it has earned
budget (the "first minutes" problem).

The controller turns the ledger into the predictive policy's risk threshold (max probability that
a new call is answered live and abandoned):

- **set-point** below the cap, with a safety margin that shrinks as evidence (live answers) grows;
- **integral gain**, a stochastic-approximation loop that converges where the realised abandon
  share equals the set-point, correcting the model's bias whichever way it goes;
- **progressive fallback** while the remaining budget is thin (fewer than ``min_budget`` abandons
  plus what the calls already in flight may still cost);
- **circuit breaker**: after a burst of abandons in a short time — far above what the live
  answers of that minute should cost at the set-point — the threshold cut to a quarter for a
  cool-down (``breaker_cut``; 0 makes it progressive).

The threshold steers the *expected* abandons; the budget guard (:mod:`pacing.guard`) bounds
the tail, so that the strict reading of the cap — abandons <= floor(cap x live answers) at every
instant — holds even when the forecast is off.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from pacing.values import value


class LedgerKind(StrEnum):
    LIVE_ANSWER = "live_answer"
    ABANDON = "abandon"


@value
class LedgerEntry:
    """One live answer or one abandon at ``at`` (seconds on the campaign's clock), and the call
    it is about where the engine knows it (the daemon files the entry under that attempt)."""

    at: float
    kind: LedgerKind
    call_id: str | None = None


class _Times:
    """Event times in order, with the ones that left the window dropped from the front.

    A list with a moving start (compacted now and then) so "how many since t" is a bisection,
    not a scan: a busy campaign asks it at every pacing decision.
    """

    __slots__ = ("_start", "_t")

    def __init__(self) -> None:
        self._t: list[float] = []
        self._start = 0

    def add(self, at: float) -> None:
        t = self._t
        if t and at < t[-1]:
            insort(t, at, lo=self._start)  # (a clock step backwards: rare)
        else:
            t.append(at)

    def drop_until(self, start: float) -> None:
        """Forget times <= ``start``."""
        t = self._t
        self._start = i = bisect_right(t, start, lo=self._start)
        if i > 1024 and i * 2 > len(t):
            del t[:i]
            self._start = 0

    def __len__(self) -> int:
        return len(self._t) - self._start

    def count_after(self, since: float) -> int:
        t = self._t
        return len(t) - bisect_right(t, since, lo=self._start)


class AbandonLedger:
    """Rolling-window counts of live answers and abandons."""

    def __init__(self, window_s: float) -> None:
        if window_s <= 0:
            raise ValueError(f"abandon window must be positive, got {window_s}")
        self.window_s = window_s
        self._answers = _Times()
        self._abandons = _Times()
        # (pruned and counted for this moment already: a decision asks several times)
        self._counted_at = math.nan
        self._counts = (0, 0)

    def record(self, entry: LedgerEntry) -> None:
        (self._abandons if entry.kind is LedgerKind.ABANDON else self._answers).add(entry.at)
        self._counted_at = math.nan

    def counts(self, now: float) -> tuple[int, int]:
        """(live answers, abandons) in the window ending at ``now``."""
        if now != self._counted_at:
            start = now - self.window_s
            self._answers.drop_until(start)
            self._abandons.drop_until(start)
            self._counted_at = now
            self._counts = len(self._answers), len(self._abandons)
        return self._counts

    def abandons_since(self, since: float) -> int:
        return self._abandons.count_after(since)

    def answers_since(self, since: float) -> int:
        return self._answers.count_after(since)


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    cap: float = 0.03
    window_s: float = 86_400.0
    setpoint: float = 0.92  # aim at this share of the cap once evidence is large
    margin_scale: float = 2.5  # extra margin ~ margin_scale / sqrt(answers) of the cap
    min_budget: float = 1.0  # abandons that must remain allowed before taking risk
    initial_gain: float = 1.0
    soft_budget: float = 3.0  # the threshold eases off over this many abandons of headroom
    # Integral step per abandon (log scale). Small on purpose: abandons are rare random events,
    # and at 0.15 each one cut the threshold by 14 %, so it swung by about a third around its
    # level; occupancy is concave in the threshold, so a swinging threshold buys less for the
    # same abandons (base-25: 0.862 at 0.15, 0.870 at 0.03, same cap). The model's forecast
    # already follows regime changes; this loop only corrects its bias, which moves slowly.
    gain_step: float = 0.03
    # The integral gain stays within [e^-3, e^gain_log_max]. At e^2 it saturates on 250-seat
    # campaigns with 45-s talks, whose forecast risks run 8-10x above the realised abandons:
    # they spend 0.4-1 % of a 3 % cap. e^4 lets them spend 2.5 % (+0.015 occupancy) but leaves
    # less reserve for shocks the guard does not see: a constant talk time doubling at 287
    # seats then broke the cap (3.002 %; 2.94 % at e^2). See docs/benchmarks.md.
    gain_log_max: float = 2.0
    breaker_window_s: float = 60.0
    breaker_abandons: int = 4  # more than this many (and far above expected) trips the breaker
    breaker_cooldown_s: float = 120.0
    # Share of the threshold kept while the breaker is open (0 would mean progressive for the
    # cool-down: at a 5 % hit rate that idles most seats for two minutes, ~0.01 of a 2-h run's
    # occupancy per trip, and the budget guard bounds the tail either way).
    breaker_cut: float = 0.25

    def __post_init__(self) -> None:
        if not 0 < self.cap < 1:
            raise ValueError(f"abandon cap must be in (0, 1), got {self.cap}")
        if not 0 < self.setpoint <= 1:
            raise ValueError(f"set-point must be in (0, 1], got {self.setpoint}")
        if not 0 <= self.breaker_cut <= 1:
            raise ValueError(f"breaker cut must be in [0, 1], got {self.breaker_cut}")


class AbandonController:
    """Turns the abandon ledger into the pacing risk threshold (0 = dial progressively)."""

    def __init__(self, config: BudgetConfig | None = None, history: Iterable[LedgerEntry] = ()):
        self.config = config or BudgetConfig()
        self.ledger = AbandonLedger(self.config.window_s)
        self._log_gain = math.log(self.config.initial_gain)
        self._breaker_until = -math.inf
        self.last_reason = "start"
        for entry in history:
            self.ledger.record(entry)

    def record(self, entry: LedgerEntry) -> None:
        """Feed one live answer or abandon; moves the integral gain."""
        self.ledger.record(entry)
        c = self.config
        target = c.cap * c.setpoint
        # Drift is zero exactly when abandons / live answers == target (abandons are also
        # live answers: both entries are recorded for an abandoned call).
        if entry.kind is LedgerKind.ABANDON:
            self._log_gain -= c.gain_step
        else:
            self._log_gain += c.gain_step * target
        self._log_gain = min(max(self._log_gain, -3.0), c.gain_log_max)

    def allowed_abandons(self, now: float) -> int:
        """``floor(cap * live answers) - abandons`` over the window (may be negative)."""
        answers, abandons = self.ledger.counts(now)
        return math.floor(self.config.cap * answers + 1e-9) - abandons

    def target_rate(self, now: float) -> float:
        """Abandon share aimed at: below the cap by a margin that shrinks with evidence."""
        answers, _ = self.ledger.counts(now)
        c = self.config
        margin = min(0.6, c.margin_scale / math.sqrt(answers + 1.0))
        return c.cap * max(0.2, c.setpoint - margin)

    def threshold(self, now: float, hit: float, at_risk: float = 0.0) -> float:
        """Risk threshold for a new call now; 0 means fall back to progressive.

        ``hit`` is the live-answer rate per dial; ``at_risk`` the abandons the calls already in
        flight may still cost (expected), so budget is kept for them.
        """
        c = self.config
        allowed = self.allowed_abandons(now)
        cut = 1.0
        if now < self._breaker_until:
            cut = c.breaker_cut
        else:
            since = now - c.breaker_window_s
            recent = self.ledger.abandons_since(since)
            # Expected abandons in the breaker window at the target share: a busy campaign sees
            # a few every minute, and only a burst far above that means the forecast has broken.
            expected = self.ledger.answers_since(since) * c.cap * c.setpoint
            if (
                recent > c.breaker_abandons
                and recent > 3.0 * (at_risk + 1.0)
                and recent > 4.0 * expected + 4.0
            ):
                self._breaker_until = now + c.breaker_cooldown_s
                cut = c.breaker_cut
        if cut <= 0.0:
            self.last_reason = "breaker"
            return 0.0
        headroom = allowed - c.min_budget - 3.0 * at_risk
        if headroom < 0:
            self.last_reason = "budget"
            return 0.0
        self.last_reason = "predictive" if cut == 1.0 else "breaker-cut"
        ease = min(1.0, (headroom + 1.0) / c.soft_budget)
        return self.steady_threshold(now, hit) * ease * cut

    def steady_threshold(self, now: float, hit: float) -> float:
        """The threshold with the budget plentiful: the target abandon share per live answer,
        scaled by the hit rate (risk is per dial), corrected by the integral gain."""
        return hit * self.target_rate(now) * math.exp(self._log_gain)
