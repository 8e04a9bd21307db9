"""Compliance arithmetic and audit, kept pure.

**Abandon ledger.** The cap is on the cumulative abandon rate over a rolling regulatory window (24 h
in the UK, 30 days in the US): abandons / live answers. The ledger is a sequence of
:class:`LedgerRecord` — one ``live_answer`` for every call a person answered (abandoned ones
included) and one ``abandon`` for every abandoned call. :func:`abandon_window` counts them over the
window ending at ``now``; its ``allowed_abandons`` is ``floor(cap * live answers) - abandons``
(computed exactly, not in floating point), the budget the pacing controller spends.

**Audit.** :func:`audit_attempts` replays an attempt log against the rules and lists every
:class:`Violation`: dials outside the called party's local calling hours or on a holiday, dials to
numbers on a DNC list at the time, attempt caps (total, and per day: within any 24 hours)
exceeded, minimum gap not kept, calls within 72 hours of an abandon (without a reserved seat),
no-answer calls cut before the legal minimum ring, and abandons beyond the cap's budget.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from dialer.config.models import LEGAL_MIN_RING_S, CampaignConfig
from dialer.engine.leads import (
    ABANDON_QUIET,
    ATTEMPT_DAY,
    NO_DNC,
    DncView,
    LeadView,
    hours_refusal,
    lead_time_zones,
)
from dialer.states import AttemptOutcome, LedgerKind

# ----------------------------------------------------------------------------- abandon ledger


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One live answer or one abandon, at an aware UTC time (and the attempt it is about, where
    the ledger names it)."""

    at: datetime
    kind: LedgerKind
    attempt_id: str | None = None


def allowed_abandons(cap: float, live_answers: int, abandons: int) -> int:
    """``floor(cap * live_answers) - abandons``, exact for decimal caps such as 0.03 or 0.29.

    Negative when the cap is already exceeded; the pacing controller dials progressively until
    it is at least 1.
    """
    return math.floor(Fraction(repr(cap)) * live_answers) - abandons


@dataclass(frozen=True, slots=True)
class AbandonWindow:
    """Live answers and abandons in the rolling window ``(start, end]``."""

    start: datetime
    end: datetime
    live_answers: int
    abandons: int
    cap: float

    @property
    def rate(self) -> float:
        """Abandons / live answers (0 with no live answer yet)."""
        return self.abandons / self.live_answers if self.live_answers else 0.0

    @property
    def allowed_abandons(self) -> int:
        """Abandons still allowed now: ``floor(cap * live answers) - abandons``."""
        return allowed_abandons(self.cap, self.live_answers, self.abandons)

    @property
    def within_cap(self) -> bool:
        """Whether the rate is at or under the cap (exactly)."""
        return self.abandons <= Fraction(repr(self.cap)) * self.live_answers

    def answers_needed_for(self, more_abandons: int = 1) -> int:
        """Live answers (in addition to those in the window) before ``more_abandons`` fit."""
        cap = Fraction(repr(self.cap))
        needed = math.ceil((self.abandons + more_abandons) / cap) - self.live_answers
        return max(0, needed)


def abandon_window(
    records: Iterable[LedgerRecord], now: datetime, window_s: float, cap: float
) -> AbandonWindow:
    """Count live answers and abandons over the window ``(now - window_s, now]``."""
    start = now - timedelta(seconds=window_s)
    answers = abandons = 0
    for record in records:
        if start < record.at <= now:
            if record.kind == LedgerKind.ABANDON:
                abandons += 1
            else:
                answers += 1
    return AbandonWindow(start, now, answers, abandons, cap)


class RollingAbandonLedger:
    """Incremental form of :func:`abandon_window` for a stream of records in time order.

    Used where records arrive one by one (the daemon after a restart, the audit): each record and
    each query costs O(1) amortised.
    """

    def __init__(self, window_s: float, cap: float, history: Iterable[LedgerRecord] = ()) -> None:
        self.window = timedelta(seconds=window_s)
        self.cap = cap
        self._answers: deque[datetime] = deque()
        self._abandons: deque[datetime] = deque()
        for record in sorted(history, key=lambda r: r.at):
            self.record(record)

    def record(self, record: LedgerRecord) -> None:
        """Add a record; records must come in time order."""
        queue = self._abandons if record.kind == LedgerKind.ABANDON else self._answers
        if queue and record.at < queue[-1]:
            raise ValueError(f"ledger records out of order: {record.at} after {queue[-1]}")
        queue.append(record.at)

    def at(self, now: datetime) -> AbandonWindow:
        """The window ending at ``now`` (forgets records that left it)."""
        start = now - self.window
        for queue in (self._answers, self._abandons):
            while queue and queue[0] <= start:
                queue.popleft()
        answers = len(self._answers) - _count_after(self._answers, now)
        abandons = len(self._abandons) - _count_after(self._abandons, now)
        return AbandonWindow(start, now, answers, abandons, self.cap)


def _count_after(queue: deque[datetime], now: datetime) -> int:
    count = 0
    for at in reversed(queue):
        if at <= now:
            break
        count += 1
    return count


# ----------------------------------------------------------------------------- audit


class Rule(StrEnum):
    """The rule a :class:`Violation` breaks."""

    CALLING_HOURS = "calling_hours"
    DNC = "dnc"
    MAX_ATTEMPTS_TOTAL = "max_attempts_total"
    MAX_ATTEMPTS_DAY = "max_attempts_day"
    MIN_GAP = "min_gap"
    ABANDON_72H = "abandon_72h"
    MIN_RING = "min_ring"
    ABANDON_CAP = "abandon_cap"
    LEDGER = "ledger"


@dataclass(frozen=True, slots=True)
class AttemptLogEntry:
    """One dial from the attempts table, with what the audit needs."""

    attempt_id: str
    lead_id: int
    phone_e164: str
    placed_at: datetime
    outcome: AttemptOutcome | str | None
    """None while the call is still in flight (the rules on how it ended wait)."""
    time_zones: tuple[str, ...] = ()
    """The lead's own zone field (as for :class:`LeadView`)."""
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    ring_s: float | None = None
    """Placement to give-up (no-answer calls): the call set-up included."""
    ringing_at: datetime | None = None
    """When the called phone began to ring, where the PBX reported it."""
    seat_reserved: bool = False

    @property
    def rang_s(self) -> float | None:
        """How long the phone rang before the dialer or the network gave up: from the ringing
        event to the end where both are recorded (the minimum ring is of ringing, not of call
        set-up), else ``ring_s``."""
        if self.ringing_at is not None and self.ended_at is not None:
            return (self.ended_at - self.ringing_at).total_seconds()
        return self.ring_s


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule broken by one attempt."""

    rule: Rule
    attempt_id: str
    lead_id: int
    at: datetime
    detail: str

    def __str__(self) -> str:
        who = f"attempt {self.attempt_id} lead {self.lead_id}"
        return f"{self.at.isoformat()} {who}: {self.rule}: {self.detail}"


def audit_attempts(
    attempts: Iterable[AttemptLogEntry],
    campaign: CampaignConfig,
    dnc: DncView = NO_DNC,
    *,
    prior_attempts: Sequence[AttemptLogEntry] = (),
    ledger: Sequence[LedgerRecord] | None = None,
    ledger_from: datetime | None = None,
    ledgered_abandons: Collection[str] | None = None,
) -> list[Violation]:
    """Every rule broken by ``attempts`` (one campaign's log), in time order.

    ``prior_attempts`` are earlier attempts of the same leads (before the audited period): they
    count towards caps, gaps and the 72-hour rule but are not themselves audited.

    The abandon cap is judged on ``ledger`` when given — the daemon's compliance record, which
    also counts what an attempt's outcome alone does not show (a person who hung up while
    waiting for a seat, an answer racing a ring trim) — from ``ledger_from`` on (earlier
    records fill the window), and every abandoned attempt must be in it (:attr:`Rule.LEDGER`;
    ``ledgered_abandons``: the attempt ids the whole ledger has an abandon for, when ``ledger``
    stops short of some — an abandon is recorded when the connect window runs out, which can
    fall after the audited period). Without a ledger the cap is judged on the live answers the
    attempts imply.
    """
    audited = sorted(attempts, key=lambda a: (a.placed_at, a.attempt_id))
    audited_ids = {a.attempt_id for a in audited}
    everything = sorted([*prior_attempts, *audited], key=lambda a: (a.placed_at, a.attempt_id))
    violations: list[Violation] = []
    by_lead: dict[int, list[AttemptLogEntry]] = defaultdict(list)
    for attempt in everything:
        by_lead[attempt.lead_id].append(attempt)
    for history in by_lead.values():
        violations.extend(
            v for v in _lead_violations(history, campaign, dnc) if v.attempt_id in audited_ids
        )
    if ledger is None:
        violations.extend(_abandon_cap_violations(everything, audited_ids, campaign))
    else:
        lead_of = {a.attempt_id: a.lead_id for a in everything}
        violations.extend(_ledger_cap_violations(ledger, ledger_from, lead_of, campaign))
        if ledgered_abandons is None:
            ledgered_abandons = {
                r.attempt_id for r in ledger if r.kind == LedgerKind.ABANDON and r.attempt_id
            }
        violations.extend(_missing_from_ledger(audited, ledgered_abandons))
    violations.sort(key=lambda v: (v.at, v.attempt_id, v.rule))
    return violations


def _lead_violations(
    history: list[AttemptLogEntry], campaign: CampaignConfig, dnc: DncView
) -> Iterable[Violation]:
    limits = campaign.attempts
    min_gap = timedelta(seconds=campaign.attempts.min_gap_s)
    within_day: deque[datetime] = deque()  # this lead's attempts of the last ATTEMPT_DAY
    previous: AttemptLogEntry | None = None
    last_abandon: datetime | None = None
    for number, attempt in enumerate(history, start=1):
        at = attempt.placed_at

        def violation(rule: Rule, detail: str, attempt: AttemptLogEntry = attempt) -> Violation:
            return Violation(rule, attempt.attempt_id, attempt.lead_id, attempt.placed_at, detail)

        view = LeadView(attempt.lead_id, attempt.phone_e164, attempt.time_zones)
        zones = lead_time_zones(view, campaign.calling_hours)
        refusal = hours_refusal(attempt.phone_e164, zones, campaign.calling_hours, at)
        if refusal is not None:
            yield violation(Rule.CALLING_HOURS, refusal[1])
        entry = dnc.listed(attempt.phone_e164, campaign.name, at)
        if entry is not None:
            listed = "global" if entry.campaign is None else f"campaign {entry.campaign}"
            yield violation(Rule.DNC, f"number on the {listed} do-not-call list")
        if number > limits.max_total:
            yield violation(Rule.MAX_ATTEMPTS_TOTAL, f"attempt {number} (cap {limits.max_total})")
        while within_day and within_day[0] <= at - ATTEMPT_DAY:
            within_day.popleft()
        within_day.append(at)
        if len(within_day) > limits.max_per_day:
            yield violation(
                Rule.MAX_ATTEMPTS_DAY,
                f"attempt {len(within_day)} within 24 h, the first at "
                f"{within_day[0].isoformat()} (cap {limits.max_per_day})",
            )
        if previous is not None and at - previous.placed_at < min_gap:
            gap = (at - previous.placed_at).total_seconds()
            yield violation(
                Rule.MIN_GAP,
                f"{gap:g} s after the previous attempt (min {min_gap.total_seconds():g} s)",
            )
        if (
            campaign.abandon.rule_72h
            and last_abandon is not None
            and at - last_abandon < ABANDON_QUIET
            and not (attempt.seat_reserved and campaign.abandon.rule_72h_allow_reserved_seat)
        ):
            hours = (at - last_abandon).total_seconds() / 3600
            yield violation(Rule.ABANDON_72H, f"{hours:.1f} h after an abandoned call")
        outcome = None if attempt.outcome is None else AttemptOutcome(attempt.outcome)
        if outcome is AttemptOutcome.NO_ANSWER:
            floor = max(LEGAL_MIN_RING_S, campaign.min_ring_s)
            rang = attempt.rang_s
            if rang is None:
                yield violation(Rule.MIN_RING, "no-answer call without a recorded ring time")
            elif rang < floor:
                yield violation(Rule.MIN_RING, f"rang {rang:g} s (min {floor:g} s)")
        if outcome is AttemptOutcome.ABANDONED:
            last_abandon = attempt.answered_at or attempt.ended_at or at
        previous = attempt


# A robot-mode call the IVR handled without a hand-over request is no live answer for the cap
# (docs/robot-and-callbacks.md); a customer who hung up while waiting for a seat is one, and an
# abandon, in the daemon's ledger, but the attempt row alone cannot tell that wait from a hang-up
# before the answering-machine verdict, so the ledger is the record to audit the cap on.
_LIVE = frozenset({AttemptOutcome.HUMAN, AttemptOutcome.ABANDONED})


def ledger_from_attempts(attempts: Iterable[AttemptLogEntry]) -> list[LedgerRecord]:
    """Ledger records implied by an attempt log: each live answer, and each abandon."""
    records: list[LedgerRecord] = []
    for attempt in attempts:
        if attempt.outcome is None:
            continue
        outcome = AttemptOutcome(attempt.outcome)
        if outcome in _LIVE:
            at = attempt.answered_at or attempt.placed_at
            records.append(LedgerRecord(at, LedgerKind.LIVE_ANSWER))
            if outcome is AttemptOutcome.ABANDONED:
                records.append(LedgerRecord(at, LedgerKind.ABANDON))
    return records


def _abandon_cap_violations(
    attempts: list[AttemptLogEntry], audited_ids: set[str], campaign: CampaignConfig
) -> Iterable[Violation]:
    """Abandons that took the window's count over ``floor(cap * live answers)``."""
    cap = campaign.abandon.cap
    events = sorted(
        (
            (a.answered_at or a.placed_at, a)
            for a in attempts
            if a.outcome is not None and AttemptOutcome(a.outcome) in _LIVE
        ),
        key=lambda e: (e[0], e[1].attempt_id),
    )
    ledger = RollingAbandonLedger(campaign.abandon.window_s, cap)
    for at, attempt in events:
        ledger.record(LedgerRecord(at, LedgerKind.LIVE_ANSWER))
        if attempt.outcome != AttemptOutcome.ABANDONED:
            continue
        ledger.record(LedgerRecord(at, LedgerKind.ABANDON))
        window = ledger.at(at)
        if window.allowed_abandons < 0 and attempt.attempt_id in audited_ids:
            yield Violation(
                Rule.ABANDON_CAP,
                attempt.attempt_id,
                attempt.lead_id,
                at,
                f"{window.abandons} abandons for {window.live_answers} live answers in the window "
                f"(cap {cap:.2%} allows {window.abandons + window.allowed_abandons})",
            )


def _ledger_cap_violations(
    ledger: Sequence[LedgerRecord],
    since: datetime | None,
    lead_of: dict[str, int],
    campaign: CampaignConfig,
) -> Iterable[Violation]:
    """Ledger abandons (from ``since``) after which the window held more than the cap allows;
    an instant is judged once all its records are in."""
    cap = campaign.abandon.cap
    ordered = sorted(ledger, key=lambda r: r.at)
    rolling = RollingAbandonLedger(campaign.abandon.window_s, cap)
    pending: list[LedgerRecord] = []
    for i, record in enumerate(ordered):
        rolling.record(record)
        if record.kind == LedgerKind.ABANDON and (since is None or record.at >= since):
            pending.append(record)
        if i + 1 < len(ordered) and ordered[i + 1].at == record.at:
            continue
        if not pending:
            continue
        window = rolling.at(record.at)
        if window.allowed_abandons < 0:
            for abandon in pending:
                attempt_id = abandon.attempt_id or "?"
                yield Violation(
                    Rule.ABANDON_CAP,
                    attempt_id,
                    lead_of.get(attempt_id, 0),
                    abandon.at,
                    f"{window.abandons} abandons for {window.live_answers} live answers in the "
                    f"window (cap {cap:.2%} allows {window.abandons + window.allowed_abandons})",
                )
        pending.clear()


def _missing_from_ledger(
    attempts: Sequence[AttemptLogEntry], recorded: Collection[str | None]
) -> Iterable[Violation]:
    """Abandoned attempts the ledger has no abandon for: the cap's record would be short."""
    for attempt in attempts:
        if attempt.outcome == AttemptOutcome.ABANDONED and attempt.attempt_id not in recorded:
            yield Violation(
                Rule.LEDGER,
                attempt.attempt_id,
                attempt.lead_id,
                attempt.answered_at or attempt.placed_at,
                "abandoned call missing from the abandon ledger",
            )


def max_rolling_rate(
    records: Sequence[LedgerRecord], window_s: float, since: datetime | None = None
) -> float:
    """The highest abandon rate the rolling window showed at any record time (for reports);
    with ``since``, at record times from then on (earlier records still fill the window)."""
    ordered = sorted(records, key=lambda r: r.at)
    times = [r.at for r in ordered]
    worst = 0.0
    window = timedelta(seconds=window_s)
    answers = abandons = 0
    left = 0
    for i, record in enumerate(ordered):
        if record.kind == LedgerKind.ABANDON:
            abandons += 1
        else:
            answers += 1
        while times[left] <= record.at - window:
            if ordered[left].kind == LedgerKind.ABANDON:
                abandons -= 1
            else:
                answers -= 1
            left += 1
        if i + 1 < len(ordered) and bisect_right(times, record.at) > i + 1:
            continue  # several records at one instant: judge after the last of them
        if answers and (since is None or record.at >= since):
            worst = max(worst, abandons / answers)
    return worst
