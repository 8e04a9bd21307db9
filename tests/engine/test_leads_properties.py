"""Whatever the lead, campaign, lists and time: no dial outside local hours, to DNC, past caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.config import WEEKDAYS, CampaignConfig
from dialer.engine.leads import (
    ABANDON_QUIET,
    ATTEMPT_DAY,
    FINAL_STATUSES,
    DncEntry,
    DncSet,
    LeadView,
    lead_time_zones,
    may_dial,
    next_allowed_time,
)
from tests.engine.rules_support import campaign

PHONES = [
    "+12125550199",  # New York
    "+14155550199",  # Los Angeles
    "+18005550199",  # toll-free: every North American zone
    "+13055550199",  # Miami
    "+442079460000",  # London
    "+61412345678",  # Australian mobile: several zones
    "+80012345678",  # no zone at all
]
ZONES = ["America/New_York", "America/Chicago", "Europe/London", "Asia/Kolkata", "Pacific/Chatham"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)

instants = st.integers(0, 366 * 24 * 60).map(lambda m: BASE + timedelta(minutes=m, seconds=m % 7))
offsets = st.integers(-10 * 24 * 60, 10 * 24 * 60).map(lambda m: timedelta(minutes=m))


@st.composite
def windows(draw: st.DrawFn) -> str:
    start = draw(st.integers(0, 22 * 4)) * 15
    end = draw(st.integers(start // 15 + 1, 24 * 4)) * 15
    return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"


WINDOW = windows()
WEEKDAY_HOURS = st.dictionaries(st.sampled_from(WEEKDAYS), WINDOW | st.just("closed"))
HOLIDAYS = st.lists(st.dates(date(2025, 12, 25), date(2027, 1, 10)), max_size=5)
SOURCES = st.sampled_from(["lead_then_number", "lead", "number", "union"])
DEFAULT_ZONE = st.none() | st.sampled_from(ZONES)
REGION_KEY = st.sampled_from(["+1212", "+1", "GB", "AU"])
MAYBE_OFFSET = st.none() | offsets
OWN_ZONES = st.lists(st.sampled_from(ZONES), max_size=2).map(tuple)
STATUSES = st.sampled_from(["new", "retry", "callback", "dialling", *sorted(FINAL_STATUSES)])


@st.composite
def campaigns(draw: st.DrawFn) -> CampaignConfig:
    hours: dict[str, Any] = {
        "window": draw(WINDOW),
        "weekdays": draw(WEEKDAY_HOURS),
        "holidays": draw(HOLIDAYS),
        "time_zone_source": draw(SOURCES),
        "default_time_zone": draw(DEFAULT_ZONE),
    }
    if draw(st.booleans()):
        hours["regions"] = {draw(REGION_KEY): {"window": draw(WINDOW)}}
    return campaign(
        calling_hours=hours,
        attempts={
            "max_total": draw(st.integers(1, 8)),
            "max_per_day": draw(st.integers(1, 4)),
            "min_gap_s": draw(st.integers(0, 48 * 3600)),
        },
        abandon={"rule_72h": draw(st.booleans())},
    )


@st.composite
def leads(draw: st.DrawFn, now: datetime) -> LeadView:
    def maybe_time() -> datetime | None:
        offset = draw(MAYBE_OFFSET)
        return None if offset is None else now + offset

    return LeadView(
        id=draw(st.integers(1, 10**6)),
        phone_e164=draw(st.sampled_from(PHONES)),
        time_zones=draw(OWN_ZONES),
        attempts_total=draw(st.integers(0, 9)),
        recent_attempts=tuple(
            sorted(
                now - timedelta(minutes=m)
                for m in draw(st.lists(st.integers(0, 30 * 60), max_size=5))
            )
        ),
        last_attempt_at=maybe_time(),
        abandoned_at=maybe_time(),
        next_call_at=maybe_time(),
        status=draw(STATUSES),
        priority=draw(st.integers(-5, 5)),
        is_callback=draw(st.booleans()),
    )


DNC_ENTRIES = st.lists(
    st.builds(DncEntry, st.sampled_from(PHONES), st.sampled_from([None, "c", "other"])),
    max_size=3,
)


@st.composite
def dnc_sets(draw: st.DrawFn) -> DncSet:
    return DncSet(draw(DNC_ENTRIES))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[LeadView, CampaignConfig, datetime, DncSet, bool]:
    now = draw(instants)
    return draw(leads(now)), draw(campaigns()), now, draw(dnc_sets()), draw(st.booleans())


def inside_campaign_hours(lead: LeadView, config: CampaignConfig, at: datetime) -> bool:
    """Oracle, written independently: the campaign's own day window and holidays in every zone.

    (Region rules only narrow these hours, so this is a necessary condition for any dial.)
    """
    hours = config.calling_hours
    zones = lead_time_zones(lead, hours)
    if not zones:
        return False
    for name in zones:
        local = at.astimezone(ZoneInfo(name))
        if local.date() in hours.holidays:
            return False
        day = WEEKDAYS[local.weekday()]
        window = hours.weekdays.get(day, hours.window)
        if window is None:
            return False
        minutes = local.hour * 60 + local.minute + local.second / 60
        if not window.start_minute <= minutes < window.end_minute:
            return False
    return True


def check_every_rule(
    lead: LeadView, config: CampaignConfig, at: datetime, dnc: DncSet, seat_reserved: bool
) -> None:
    assert inside_campaign_hours(lead, config, at)
    assert dnc.listed(lead.phone_e164, "c", at) is None
    assert lead.status not in FINAL_STATUSES
    assert lead.attempts_total < config.attempts.max_total
    assert (
        sum(at - ATTEMPT_DAY < t <= at for t in lead.recent_attempts) < config.attempts.max_per_day
    )
    if lead.last_attempt_at is not None:
        assert at - lead.last_attempt_at >= timedelta(seconds=config.attempts.min_gap_s)
    if lead.abandoned_at is not None and config.abandon.rule_72h and not seat_reserved:
        assert at - lead.abandoned_at >= ABANDON_QUIET
    if lead.next_call_at is not None:
        assert lead.next_call_at <= at


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_an_allowed_dial_breaks_no_rule(
    scenario: tuple[LeadView, CampaignConfig, datetime, DncSet, bool],
) -> None:
    lead, config, now, dnc, reserved = scenario
    verdict = may_dial(lead, config, now, dnc, seat_reserved=reserved)
    if verdict:
        check_every_rule(lead, config, now, dnc, reserved)
    else:
        assert verdict.reason is not None and verdict.detail
        assert verdict.retry_at is None or verdict.retry_at > now


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_next_allowed_time_is_allowed_and_earliest(
    scenario: tuple[LeadView, CampaignConfig, datetime, DncSet, bool],
) -> None:
    lead, config, now, dnc, reserved = scenario
    when = next_allowed_time(lead, config, now, dnc, seat_reserved=reserved)
    if when is None:
        return
    assert when >= now
    assert may_dial(lead, config, when, dnc, seat_reserved=reserved)
    check_every_rule(lead, config, when, dnc, reserved)
    for before in (when - timedelta(seconds=1), now + (when - now) / 2):
        if now <= before < when:
            assert not may_dial(lead, config, before, dnc, seat_reserved=reserved)
