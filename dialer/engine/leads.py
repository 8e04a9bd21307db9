"""May this lead be dialled now? The hopper's rules, as pure functions of the lead and ``now``.

Every rule the law or the campaign sets on *whom* to call and *when* lives here: calling hours in
the called party's local time (every time zone the number might be in), holidays, do-not-call lists
(global and per campaign), attempt caps per lead (total and per day), the minimum gap between
attempts, the 72-hour rule after an abandoned call, and the lead's own due time. Nothing here reads
a clock, the database or the network: ``now`` is an aware datetime and the DNC lists come in
through :class:`DncView`.

- :func:`may_dial` gives a :class:`Verdict`: allowed, or the first rule that forbids the call, and
  when the lead may next be dialled (``retry_at``), so the hopper can park it until then.
- :func:`next_allowed_time` is that time on its own: the earliest instant at or after ``now`` when
  every rule allows the call, or ``None`` when none ever will (DNC, attempt cap, final status).
- :func:`hopper_order` sorts candidates: callbacks due, retries due, fresh leads; then priority.

The per-day cap counts the attempts of the last 24 hours (:data:`ATTEMPT_DAY`), not those of a
calendar day: every calendar day, in any time zone (the called party's, the campaign's, UTC), lies
within some 24 hours, so a lead never gets more than the cap on any day whoever counts it — and
the rolling reading is itself the law in some places (e.g. Florida's three calls per 24 hours).
A lead's own local day would not do: a US Pacific lead's calling hours straddle the UTC midnight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from enum import StrEnum
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_time_zones

from dialer.config.models import WEEKDAYS, CallingHours, CampaignConfig, RegionHours
from dialer.config.values import TimeWindow

ABANDON_QUIET = timedelta(hours=72)
"""No new call to a number within this long after an abandoned call to it."""

ATTEMPT_DAY = timedelta(hours=24)
"""The per-day attempt cap counts the attempts placed within this long before the call."""

FINAL_STATUSES = frozenset({"done", "no_contact", "dnc", "rejected", "cancelled"})
"""Lead statuses that are never dialled again (``dialer.states.LeadStatus`` words)."""

_UNKNOWN_ZONE = "Etc/Unknown"


class Refusal(StrEnum):
    """Why a lead may not be dialled now (also the label of the rejected-dials metric)."""

    FINAL_STATUS = "final_status"
    DNC_GLOBAL = "dnc_global"
    DNC_CAMPAIGN = "dnc_campaign"
    MAX_ATTEMPTS_TOTAL = "max_attempts_total"
    MAX_ATTEMPTS_DAY = "max_attempts_day"
    MIN_GAP = "min_gap"
    ABANDON_72H = "abandon_72h"
    NOT_DUE = "not_due"
    UNKNOWN_TIME_ZONE = "unknown_time_zone"
    HOLIDAY = "holiday"
    OUTSIDE_HOURS = "outside_hours"


@dataclass(frozen=True, slots=True)
class LeadView:
    """What the rules need to know about a lead (a row of the leads table, read-only)."""

    id: int
    phone_e164: str
    time_zones: tuple[str, ...] = ()
    """The lead's own time-zone field (IANA names); empty when the CRM gave none."""
    attempts_total: int = 0
    recent_attempts: tuple[datetime, ...] = ()
    """When its attempts of the last :data:`ATTEMPT_DAY` were placed (older ones may be
    included: the rules ignore them)."""
    last_attempt_at: datetime | None = None
    abandoned_at: datetime | None = None
    """When the last call to this lead was abandoned (for the 72-hour rule)."""
    next_call_at: datetime | None = None
    status: str = "new"
    priority: int = 0
    is_callback: bool = False


@dataclass(frozen=True, slots=True)
class DncEntry:
    """A number on a do-not-call list; ``campaign`` None means the global list."""

    phone_e164: str
    campaign: str | None = None
    added_at: datetime | None = None


class DncView(Protocol):
    """Read access to the DNC lists, as of a moment (the store implements it with one query)."""

    def listed(self, phone_e164: str, campaign: str, at: datetime) -> DncEntry | None:
        """The entry barring ``phone_e164`` for ``campaign`` at ``at`` (global first), or None."""
        ...


class DncSet:
    """An in-memory :class:`DncView` over a set of entries (tests, simulator, audits)."""

    def __init__(self, entries: Iterable[DncEntry] = ()) -> None:
        self._entries: dict[str, list[DncEntry]] = {}
        for entry in entries:
            self._entries.setdefault(entry.phone_e164, []).append(entry)

    def listed(self, phone_e164: str, campaign: str, at: datetime) -> DncEntry | None:
        found = [
            e
            for e in self._entries.get(phone_e164, ())
            if (e.campaign is None or e.campaign == campaign)
            and (e.added_at is None or e.added_at <= at)
        ]
        found.sort(key=lambda e: e.campaign is not None)  # global entries first
        return found[0] if found else None


NO_DNC: DncView = DncSet()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer of :func:`may_dial`. Truthy when the call is allowed."""

    allowed: bool
    reason: Refusal | None = None
    detail: str = ""
    retry_at: datetime | None = None
    """When the lead may next be dialled, if ever (None when allowed or never)."""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Verdict(True)


# ----------------------------------------------------------------------------- time zones


@lru_cache(maxsize=65536)
def number_time_zones(phone_e164: str) -> tuple[str, ...]:
    """Time zones phonenumbers gives for a number's area code (empty when unknown).

    Area-code zones are wrong for ported numbers and several zones are common: callers must make
    the calling window hold in every zone returned.
    """
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = phone_time_zones.time_zones_for_number(number)
    return tuple(sorted(z for z in zones if z != _UNKNOWN_ZONE))


@lru_cache(maxsize=65536)
def number_country(phone_e164: str) -> str | None:
    """ISO country code of a number (``US``, ``GB``), or None when unknown."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return None
    region: str | None = phonenumbers.region_code_for_number(number)
    return region if region and region != "ZZ" else None


def lead_time_zones(lead: LeadView, hours: CallingHours) -> tuple[str, ...]:
    """The zones the lead may be in, per the campaign's ``time_zone_source`` rule.

    Falls back to ``default_time_zone`` when no source names one; empty means unknown.
    """
    own = tuple(z for z in lead.time_zones if z and z != _UNKNOWN_ZONE)
    source = hours.time_zone_source
    if source == "lead":
        zones = own
    elif source == "number":
        zones = number_time_zones(lead.phone_e164)
    elif source == "union":
        zones = tuple(sorted({*own, *number_time_zones(lead.phone_e164)}))
    else:  # lead_then_number
        zones = own or number_time_zones(lead.phone_e164)
    if not zones and hours.default_time_zone:
        zones = (hours.default_time_zone,)
    return zones


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


# ----------------------------------------------------------------------------- calling hours


def region_rules(phone_e164: str, hours: CallingHours) -> RegionHours | None:
    """The region override for a number: longest matching ``+prefix``, else its country code."""
    if not hours.regions:
        return None
    best: str | None = None
    for key in hours.regions:
        if key.startswith("+") and phone_e164.startswith(key) and len(key) > len(best or ""):
            best = key
    if best is not None:
        return hours.regions[best]
    country = number_country(phone_e164)
    return hours.regions.get(country) if country else None


def day_window(hours: CallingHours, region: RegionHours | None, day: date) -> TimeWindow | None:
    """The calling window on a local date, or None when calling is closed all day.

    A region's rules narrow the campaign's (both must allow a call): a law can only forbid.
    """
    if day in hours.holidays or (region is not None and day in region.holidays):
        return None
    weekday = WEEKDAYS[day.weekday()]
    window = hours.weekdays.get(weekday, hours.window)
    if window is None or region is None:
        return window
    narrower = region.weekdays.get(weekday, region.window)
    if weekday in region.weekdays and narrower is None:
        return None
    if narrower is None:
        return window
    start = max(window.start_minute, narrower.start_minute)
    end = min(window.end_minute, narrower.end_minute)
    return TimeWindow(start, end) if start < end else None


def hours_refusal(
    phone_e164: str, zones: tuple[str, ...], hours: CallingHours, now: datetime
) -> tuple[Refusal, str] | None:
    """Why ``now`` is outside calling hours in one of ``zones``; None when inside all of them."""
    if not zones:
        return Refusal.UNKNOWN_TIME_ZONE, "no time zone known for the number"
    region = region_rules(phone_e164, hours)
    for name in zones:
        local = now.astimezone(_zone(name))
        day = local.date()
        if day in hours.holidays or (region is not None and day in region.holidays):
            return Refusal.HOLIDAY, f"{day.isoformat()} is a holiday ({name})"
        window = day_window(hours, region, day)
        if window is None:
            return Refusal.OUTSIDE_HOURS, f"no calling on {WEEKDAYS[day.weekday()]} ({name})"
        if not window.contains(local.time()):
            return (
                Refusal.OUTSIDE_HOURS,
                f"local time {local:%H:%M} outside {window} ({name})",
            )
    return None


# ----------------------------------------------------------------------------- the rules


def may_dial(
    lead: LeadView,
    campaign: CampaignConfig,
    now: datetime,
    dnc: DncView = NO_DNC,
    *,
    seat_reserved: bool = False,
    find_retry_at: bool = True,
) -> Verdict:
    """Whether the lead may be dialled at ``now`` (aware); if not, the first rule that forbids it.

    ``seat_reserved``: a seat is held for this call, which lifts the 72-hour rule when the
    campaign allows that. ``find_retry_at=False`` skips the search for ``retry_at`` (cheaper
    when the caller only needs yes or no).
    """
    refusal = _first_refusal(lead, campaign, now, dnc, seat_reserved)
    if refusal is None:
        return ALLOWED
    reason, detail = refusal
    retry_at = None
    if find_retry_at and reason not in _NEVER:
        retry_at = next_allowed_time(lead, campaign, now, dnc, seat_reserved=seat_reserved)
    return Verdict(False, reason, detail, retry_at)


_NEVER = frozenset(
    {
        Refusal.FINAL_STATUS,
        Refusal.DNC_GLOBAL,
        Refusal.DNC_CAMPAIGN,
        Refusal.MAX_ATTEMPTS_TOTAL,
        Refusal.UNKNOWN_TIME_ZONE,
    }
)


def _first_refusal(
    lead: LeadView,
    campaign: CampaignConfig,
    now: datetime,
    dnc: DncView,
    seat_reserved: bool,
) -> tuple[Refusal, str] | None:
    _require_aware(now)
    static = _static_refusal(lead, campaign, now, dnc)
    if static is not None:
        return static
    limits = campaign.attempts
    lifted_at = day_cap_lifts_at(lead, limits.max_per_day, now)
    if lifted_at is not None:
        return (
            Refusal.MAX_ATTEMPTS_DAY,
            f"at the cap of {limits.max_per_day} attempts within 24 h until "
            f"{lifted_at.isoformat()}",
        )
    earliest, reason = _earliest_by_timers(lead, campaign, seat_reserved)
    if earliest is not None and now < earliest and reason is not None:
        return reason, f"not before {earliest.isoformat()}"
    zones = lead_time_zones(lead, campaign.calling_hours)
    return hours_refusal(lead.phone_e164, zones, campaign.calling_hours, now)


def _static_refusal(
    lead: LeadView, campaign: CampaignConfig, now: datetime, dnc: DncView
) -> tuple[Refusal, str] | None:
    """Refusals that time alone never lifts."""
    if lead.status in FINAL_STATUSES:
        return Refusal.FINAL_STATUS, f"lead status is {lead.status}"
    entry = dnc.listed(lead.phone_e164, campaign.name, now)
    if entry is not None:
        if entry.campaign is None:
            return Refusal.DNC_GLOBAL, "number on the global do-not-call list"
        return Refusal.DNC_CAMPAIGN, f"number on campaign {entry.campaign}'s do-not-call list"
    limits = campaign.attempts
    if lead.attempts_total >= limits.max_total:
        return (
            Refusal.MAX_ATTEMPTS_TOTAL,
            f"{lead.attempts_total} attempts (cap {limits.max_total})",
        )
    if not lead_time_zones(lead, campaign.calling_hours):
        return Refusal.UNKNOWN_TIME_ZONE, "no time zone known for the number"
    return None


def _earliest_by_timers(
    lead: LeadView, campaign: CampaignConfig, seat_reserved: bool
) -> tuple[datetime | None, Refusal | None]:
    """The latest of the lead's timers (min gap, 72-hour rule, due time) and which one it is."""
    candidates: list[tuple[datetime, Refusal]] = []
    if lead.last_attempt_at is not None:
        gap = timedelta(seconds=campaign.attempts.min_gap_s)
        candidates.append((lead.last_attempt_at + gap, Refusal.MIN_GAP))
    abandon = campaign.abandon
    lifted = seat_reserved and abandon.rule_72h_allow_reserved_seat
    if lead.abandoned_at is not None and abandon.rule_72h and not lifted:
        candidates.append((lead.abandoned_at + ABANDON_QUIET, Refusal.ABANDON_72H))
    if lead.next_call_at is not None:
        candidates.append((lead.next_call_at, Refusal.NOT_DUE))
    if not candidates:
        return None, None
    return max(candidates, key=lambda c: c[0])


def next_allowed_time(
    lead: LeadView,
    campaign: CampaignConfig,
    now: datetime,
    dnc: DncView = NO_DNC,
    *,
    seat_reserved: bool = False,
    horizon_days: int = 14,
) -> datetime | None:
    """The earliest instant ``>= now`` at which :func:`may_dial` allows the call, or None.

    None when no time ever will (final status, DNC, total cap, unknown zone) or none within
    ``horizon_days`` (e.g. every day closed). Assumes the lead is not dialled meanwhile; a lead at
    its per-day cap waits until the oldest of its last 24 hours' attempts is 24 hours old.
    """
    _require_aware(now)
    if _static_refusal(lead, campaign, now, dnc) is not None:
        return None
    hours = campaign.calling_hours
    zones = lead_time_zones(lead, hours)
    earliest, _ = _earliest_by_timers(lead, campaign, seat_reserved)
    start = now if earliest is None or earliest < now else earliest
    lifted_at = day_cap_lifts_at(lead, campaign.attempts.max_per_day, start)
    if lifted_at is not None:
        start = lifted_at
    if hours_refusal(lead.phone_e164, zones, hours, start) is None:
        return start
    # The allowed set is the intersection, over the zones, of each zone's daily windows: intersect
    # the interval lists and take the first point at or after `start`.
    region = region_rules(lead.phone_e164, hours)
    for days in sorted({min(2, horizon_days), horizon_days}):  # usually found within 2 days
        allowed: list[tuple[datetime, datetime]] | None = None
        for name in zones:
            intervals = _zone_intervals(hours, region, _zone(name), start, days)
            allowed = intervals if allowed is None else _intersect(allowed, intervals)
            if not allowed:
                break
        for begin, end in allowed or ():
            if end > start:
                candidate = max(begin, start)
                if hours_refusal(lead.phone_e164, zones, hours, candidate) is None:
                    return candidate
    return None


def _zone_intervals(
    hours: CallingHours, region: RegionHours | None, zone: ZoneInfo, start: datetime, days: int
) -> list[tuple[datetime, datetime]]:
    """One zone's calling windows as UTC intervals ``[begin, end)``, from ``start``'s local day."""
    first_day = start.astimezone(zone).date()
    intervals = []
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        window = day_window(hours, region, day)
        if window is None:
            continue
        begin = _local_instant(day, window.start_minute, zone)
        if window.end_minute == 24 * 60:
            end = _local_instant(day + timedelta(days=1), 0, zone)
        else:
            end = _local_instant(day, window.end_minute, zone)
        if begin < end:
            intervals.append((begin, end))
    return intervals


def _intersect(
    a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """Intersection of two sorted lists of disjoint intervals."""
    result = []
    i = j = 0
    while i < len(a) and j < len(b):
        begin, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if begin < end:
            result.append((begin, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; a time skipped by DST maps just after the gap."""
    wall = datetime.combine(day, clock(minute // 60, minute % 60))
    instant = wall.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant
    # Non-existent local time (spring forward): the first instant whose wall clock is past it,
    # i.e. the transition itself, found minute by minute between the two readings of the gap.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    while low < high and low.astimezone(zone).replace(tzinfo=None) < wall:
        low += timedelta(minutes=1)
    return low


def day_cap_lifts_at(lead: LeadView, max_per_day: int, now: datetime) -> datetime | None:
    """When the per-day cap next allows a call to ``lead`` if it is at the cap at ``now``, else
    None: the moment the oldest attempt that keeps it there turns 24 hours old."""
    recent = sorted(t for t in lead.recent_attempts if t > now - ATTEMPT_DAY)
    excess = len(recent) - max_per_day
    return None if excess < 0 else recent[excess] + ATTEMPT_DAY


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got naive {now.isoformat()}")


# ----------------------------------------------------------------------------- hopper order


class HopperClass(StrEnum):
    """The hopper's order of preference among leads that may be dialled."""

    CALLBACK_DUE = "callback_due"
    RETRY_DUE = "retry_due"
    FRESH = "fresh"
    NOT_DUE = "not_due"


_CLASS_RANK = {c: i for i, c in enumerate(HopperClass)}


def hopper_class(lead: LeadView, now: datetime) -> HopperClass:
    """Callbacks due, then retries due, then fresh leads; leads not yet due last."""
    due = lead.next_call_at is None or lead.next_call_at <= now
    if not due:
        return HopperClass.NOT_DUE
    if lead.is_callback:
        return HopperClass.CALLBACK_DUE
    if lead.attempts_total > 0:
        return HopperClass.RETRY_DUE
    return HopperClass.FRESH


def hopper_key(lead: LeadView, now: datetime) -> tuple[int, int, datetime, int]:
    """Sort key: class, higher priority first, longest due first, then lead id."""
    due = lead.next_call_at or datetime.min.replace(tzinfo=UTC)
    return (_CLASS_RANK[hopper_class(lead, now)], -lead.priority, due, lead.id)


def hopper_order(leads: Iterable[LeadView], now: datetime) -> list[LeadView]:
    """Candidates in the order the hopper should try them."""
    return sorted(leads, key=lambda lead: hopper_key(lead, now))


def refusal_counts(verdicts: Iterable[Verdict]) -> Mapping[Refusal, int]:
    """How many verdicts were refused for each reason (for the rejected-dials metric)."""
    counts: dict[Refusal, int] = {}
    for verdict in verdicts:
        if verdict.reason is not None:
            counts[verdict.reason] = counts.get(verdict.reason, 0) + 1
    return counts
