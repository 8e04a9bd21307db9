"""The caller-ID pool: which middle number to show on the next call, as pure state transitions.

A :class:`PoolState` holds every number's state and the campaign's rotation settings. It never
changes in place: :func:`record_use`, :func:`record_result`, :func:`retire` and friends return a
new state, so the daemon can persist exactly what changed and tests can replay any history.

:func:`choose` picks, among the active numbers not over their hourly or daily cap and not cooling
down, one with the called number's area code (local presence) when the pool has one, else one of
the same country, else any; within that, the least recently used.

Quarantine: a number whose answer rate is significantly below the rest of the pool's (a sign its
calls are being labelled as spam) is benched automatically. After ``min_calls`` calls in the
statistics window, a one-sided exact binomial test asks whether its answers are unusually few for
the rest of the pool's rate (p-value below ``significance``), and the rate must also be below
``min_rate_ratio`` of the pool's, so a small but real difference over many calls is not enough.
Retired numbers (an operator's decision) and quarantined ones are never chosen; an operator can
:func:`reinstate` either.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from scipy.special import bdtr, betaincinv

from dialer.config.models import CallerIdConfig

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class NumberStatus(StrEnum):
    """``dialer.states.CallerIdState`` words."""

    ACTIVE = "active"
    QUARANTINED = "quarantined"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class DayStats:
    """Calls and answers of one number on one UTC day (statistics are kept per day)."""

    day: date
    calls: int = 0
    answers: int = 0


@dataclass(frozen=True, slots=True)
class NumberState:
    """One middle number: status, recent uses (for caps and rotation) and answer statistics."""

    number: str
    status: NumberStatus = NumberStatus.ACTIVE
    last_used_at: datetime | None = None
    recent_uses: tuple[datetime, ...] = ()
    """Uses within the last 24 hours, oldest first."""
    stats: tuple[DayStats, ...] = ()
    """Per-day calls and answers within the quarantine window, oldest first."""
    calls: int = 0
    """Calls within the statistics window (the sum of ``stats``)."""
    answers: int = 0
    status_reason: str = ""

    def uses_since(self, since: datetime) -> int:
        """Uses after ``since`` (among the last 24 hours)."""
        return len(self.recent_uses) - bisect_right(self.recent_uses, since)


@dataclass(frozen=True, slots=True)
class PoolState:
    """A caller-ID pool as one campaign rotates it, with the pool's window totals."""

    settings: CallerIdConfig
    numbers: tuple[NumberState, ...]
    calls: int = 0
    answers: int = 0

    def get(self, number: str) -> NumberState:
        for state in self.numbers:
            if state.number == number:
                return state
        raise KeyError(f"{number} is not in the caller-ID pool")

    def _with(self, state: NumberState) -> PoolState:
        """The pool with one number's state replaced (totals kept in step)."""
        index = next(i for i, s in enumerate(self.numbers) if s.number == state.number)
        old = self.numbers[index]
        return PoolState(
            self.settings,
            (*self.numbers[:index], state, *self.numbers[index + 1 :]),
            self.calls + state.calls - old.calls,
            self.answers + state.answers - old.answers,
        )


def new_pool(settings: CallerIdConfig, numbers: Iterable[str]) -> PoolState:
    """A pool of fresh, active numbers."""
    unique = list(dict.fromkeys(numbers))
    return PoolState(settings, tuple(NumberState(n) for n in unique))


# ----------------------------------------------------------------------------- choosing


@lru_cache(maxsize=65536)
def area_of(phone_e164: str) -> tuple[str | None, str | None]:
    """(area key, country) of a number: ``("+1212", "US")``, ``("+4420", "GB")``.

    The area key is the country code plus the geographic area code when the number has one.
    """
    try:
        parsed = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return None, None
    country = phonenumbers.region_code_for_number(parsed)
    country = country if country and country != "ZZ" else None
    national = phonenumbers.national_significant_number(parsed)
    length = phonenumbers.length_of_geographical_area_code(parsed)
    area = f"+{parsed.country_code}{national[:length]}" if length > 0 else None
    return area, country


def available(state: NumberState, settings: CallerIdConfig, now: datetime) -> bool:
    """Whether a number may be shown at ``now``: active, cooled down, under its caps."""
    if state.status is not NumberStatus.ACTIVE:
        return False
    cooldown = timedelta(seconds=settings.cooldown_s)
    if state.last_used_at is not None and now - state.last_used_at < cooldown:
        return False
    hourly, daily = settings.max_calls_per_hour, settings.max_calls_per_day
    if hourly is not None and state.uses_since(now - HOUR) >= hourly:
        return False
    return not (daily is not None and state.uses_since(now - DAY) >= daily)


def choose(pool: PoolState, called_number: str, now: datetime) -> str | None:
    """The caller ID for a call to ``called_number`` at ``now``, or None if none is available."""
    settings = pool.settings
    candidates = [s for s in pool.numbers if available(s, settings, now)]
    if not candidates:
        return None
    if settings.local_presence:
        area, country = area_of(called_number)
        same_area = [s for s in candidates if area is not None and area_of(s.number)[0] == area]
        same_country = same_area or [
            s for s in candidates if country is not None and area_of(s.number)[1] == country
        ]
        candidates = same_country or candidates
    return min(candidates, key=_lru_key).number


def _lru_key(state: NumberState) -> tuple[bool, datetime | None, str]:
    # Never-used numbers first, then the least recently used; the number breaks ties.
    return (state.last_used_at is not None, state.last_used_at, state.number)


# ----------------------------------------------------------------------------- recording


def record_use(pool: PoolState, number: str, now: datetime) -> PoolState:
    """The number was shown on a call placed at ``now``."""
    state = pool.get(number)
    kept = state.recent_uses[bisect_right(state.recent_uses, now - DAY) :]
    uses = tuple(sorted((*kept, now))) if kept and kept[-1] > now else (*kept, now)
    return pool._with(replace(state, last_used_at=now, recent_uses=uses))


def record_result(pool: PoolState, number: str, answered: bool, now: datetime) -> PoolState:
    """A call showing ``number`` ended; ``answered``: a person picked up.

    Updates the number's statistics and quarantines it when its answer rate has become
    significantly lower than the rest of the pool's.
    """
    state = pool.get(number)
    quarantine = pool.settings.quarantine
    first_day = (now - timedelta(seconds=quarantine.window_s)).date()
    today = now.date()
    stats = state.stats
    if stats and stats[-1].day == today:
        last = stats[-1]
        stats = (*stats[:-1], DayStats(today, last.calls + 1, last.answers + int(answered)))
    else:
        stats = (*stats, DayStats(today, 1, int(answered)))
    if stats[0].day <= first_day:
        stats = tuple(d for d in stats if d.day > first_day)
    state = replace(
        state,
        stats=stats,
        calls=sum(d.calls for d in stats),
        answers=sum(d.answers for d in stats),
    )
    pool = pool._with(state)
    if quarantine.enabled and state.status is NumberStatus.ACTIVE:
        verdict = quarantine_test(pool, number)
        if verdict is not None:
            pool = pool._with(
                replace(state, status=NumberStatus.QUARANTINED, status_reason=verdict)
            )
    return pool


def quarantine_test(pool: PoolState, number: str) -> str | None:
    """The reason to quarantine ``number`` now, or None.

    Exact one-sided binomial test of the number's answers against the rest of the pool's answer
    rate; both must have at least ``min_calls`` calls. Repeated looks at the same data inflate
    the false-alarm rate, hence a strict default significance and the practical-size condition.
    """
    settings = pool.settings.quarantine
    state = pool.get(number)
    calls, answers = state.calls, state.answers
    if calls < settings.min_calls:
        return None
    rest_calls, rest_answers = pool.calls - calls, pool.answers - answers
    if rest_calls < settings.min_calls or rest_answers == 0:
        return None
    rate, pool_rate = answers / calls, rest_answers / rest_calls
    if rate >= settings.min_rate_ratio * pool_rate:
        return None
    # The pool's rate is itself estimated: test against its lower confidence bound
    # (Clopper-Pearson, one-sided), so a small pool does not make the test trigger-happy.
    alpha = settings.significance
    pool_low = float(betaincinv(rest_answers, rest_calls - rest_answers + 1, alpha))
    p_value = float(bdtr(answers, calls, pool_low))  # P(X <= answers | the pool's rate)
    if p_value >= alpha:
        return None
    return (
        f"answer rate {rate:.1%} over {calls} calls vs the pool's {pool_rate:.1%} "
        f"(one-sided binomial p = {p_value:.2g})"
    )


def retire(pool: PoolState, number: str, reason: str = "retired by an operator") -> PoolState:
    """Withdraw a number for good (an operator's decision)."""
    state = pool.get(number)
    return pool._with(replace(state, status=NumberStatus.RETIRED, status_reason=reason))


def reinstate(pool: PoolState, number: str) -> PoolState:
    """Put a quarantined or retired number back in rotation, with fresh statistics."""
    state = pool.get(number)
    fresh = replace(
        state, status=NumberStatus.ACTIVE, status_reason="", stats=(), calls=0, answers=0
    )
    return pool._with(fresh)


def add_numbers(pool: PoolState, numbers: Iterable[str]) -> PoolState:
    """The pool with new numbers added (those already in it are left as they are)."""
    known = {s.number for s in pool.numbers}
    fresh = tuple(NumberState(n) for n in dict.fromkeys(numbers) if n not in known)
    return replace(pool, numbers=pool.numbers + fresh)
