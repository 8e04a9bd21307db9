"""The hopper rules: calling hours in every candidate zone, holidays, DNC, caps, gaps, 72 h."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.engine.leads import (
    DncEntry,
    DncSet,
    HopperClass,
    LeadView,
    Refusal,
    hopper_class,
    hopper_order,
    lead_time_zones,
    may_dial,
    next_allowed_time,
    number_time_zones,
)
from tests.engine.rules_support import campaign, utc

NY = "+12125550199"  # America/New_York
LA = "+14155550199"  # America/Los_Angeles
LONDON = "+442079460000"
TOLL_FREE = "+18005550199"  # every North American zone

# Wednesday 25 Nov 2026, 17:00 UTC = 12:00 New York = 09:00 Los Angeles = 17:00 London.
WED_NOON_NY = utc(2026, 11, 25, 17, 0)


def test_inside_hours_is_allowed() -> None:
    assert may_dial(LeadView(1, NY), campaign(), WED_NOON_NY)


@pytest.mark.parametrize(
    ("utc_hour", "allowed"),
    [
        (12, False),
        (13, True),
        (20, True),
        (1, True),
        (2, False),
    ],  # 07:00 08:00 15:00 20:00 21:00 NY
)
def test_window_is_in_the_called_partys_local_time(utc_hour: int, allowed: bool) -> None:
    day = 26 if utc_hour < 12 else 25
    verdict = may_dial(LeadView(1, NY), campaign(), utc(2026, 11, day, utc_hour))
    assert bool(verdict) is allowed
    if not allowed:
        assert verdict.reason is Refusal.OUTSIDE_HOURS


def test_every_candidate_zone_must_be_inside_the_window() -> None:
    # 13:30 UTC: 08:30 in New York but 05:30 in Los Angeles: a toll-free number may be in either.
    now = utc(2026, 11, 25, 13, 30)
    assert may_dial(LeadView(1, NY), campaign(), now)
    verdict = may_dial(LeadView(2, TOLL_FREE), campaign(), now)
    assert verdict.reason is Refusal.OUTSIDE_HOURS
    # A lead with its own zone field is judged in that zone (lead_then_number, the default) ...
    assert may_dial(LeadView(3, TOLL_FREE, ("America/New_York",)), campaign(), now)
    # ... unless the campaign asks for the strictest reading: every zone either source names.
    strict = campaign(calling_hours={"time_zone_source": "union"})
    lead = LeadView(4, LA, ("America/New_York",))
    assert lead_time_zones(lead, strict.calling_hours) == (
        "America/Los_Angeles",
        "America/New_York",
    )
    assert may_dial(lead, strict, now).reason is Refusal.OUTSIDE_HOURS


def test_unknown_zone_is_refused_unless_a_default_is_set() -> None:
    lead = LeadView(1, "+80012345678")  # international freephone: no zone
    assert number_time_zones(lead.phone_e164) == ()
    assert may_dial(lead, campaign(), WED_NOON_NY).reason is Refusal.UNKNOWN_TIME_ZONE
    with_default = campaign(calling_hours={"default_time_zone": "America/New_York"})
    assert may_dial(lead, with_default, WED_NOON_NY)


def test_weekdays_holidays_and_regions() -> None:
    sunday = utc(2026, 11, 29, 17)
    config = campaign(calling_hours={"weekdays": {"sun": "closed"}, "holidays": ["2026-12-25"]})
    assert may_dial(LeadView(1, NY), config, sunday).reason is Refusal.OUTSIDE_HOURS
    assert may_dial(LeadView(1, NY), config, utc(2026, 12, 25, 17)).reason is Refusal.HOLIDAY
    # Holidays are local dates: 03:00 UTC on the 26th is still the 25th in New York.
    late = campaign(calling_hours={"window": "08:00-23:00", "holidays": ["2026-12-25"]})
    assert may_dial(LeadView(1, NY), late, utc(2026, 12, 26, 3)).reason is Refusal.HOLIDAY
    # Regions narrow the campaign's hours: by number prefix, then by country.
    regional = campaign(
        calling_hours={
            "regions": {"+1212": {"window": "13:00-14:00"}, "GB": {"window": "18:00-20:00"}}
        }
    )
    assert may_dial(LeadView(1, NY), regional, WED_NOON_NY).reason is Refusal.OUTSIDE_HOURS
    assert may_dial(LeadView(1, NY), regional, WED_NOON_NY + timedelta(hours=1))
    assert may_dial(LeadView(2, "+13125550199"), regional, WED_NOON_NY)  # Chicago: no override
    assert may_dial(LeadView(3, LONDON), regional, WED_NOON_NY).reason is Refusal.OUTSIDE_HOURS
    assert may_dial(LeadView(3, LONDON), regional, WED_NOON_NY + timedelta(hours=1))


def test_dnc_global_and_per_campaign() -> None:
    dnc = DncSet([DncEntry(NY), DncEntry(LA, campaign="c"), DncEntry(LONDON, campaign="other")])
    assert may_dial(LeadView(1, NY), campaign(), WED_NOON_NY, dnc).reason is Refusal.DNC_GLOBAL
    assert may_dial(LeadView(2, LA), campaign(), WED_NOON_NY, dnc).reason is Refusal.DNC_CAMPAIGN
    assert may_dial(LeadView(3, LONDON), campaign(), WED_NOON_NY, dnc)
    later = DncSet([DncEntry(NY, added_at=WED_NOON_NY + timedelta(hours=1))])
    assert may_dial(LeadView(1, NY), campaign(), WED_NOON_NY, later)
    refused = may_dial(LeadView(1, NY), campaign(), WED_NOON_NY + timedelta(hours=2), later)
    assert refused.reason is Refusal.DNC_GLOBAL
    assert refused.retry_at is None


def test_caps_gap_72h_and_due_time() -> None:
    config = campaign(attempts={"max_total": 5, "max_per_day": 2, "min_gap_s": "1h"})
    now = WED_NOON_NY
    cases = [
        (LeadView(1, NY, attempts_total=5), Refusal.MAX_ATTEMPTS_TOTAL, None),
        (
            LeadView(1, NY, recent_attempts=(now - timedelta(hours=3), now - timedelta(hours=2))),
            Refusal.MAX_ATTEMPTS_DAY,
            now + timedelta(hours=21),  # 24 h after the older one: 09:00 in New York
        ),
        (
            LeadView(1, NY, last_attempt_at=now - timedelta(minutes=20)),
            Refusal.MIN_GAP,
            now + timedelta(minutes=40),
        ),
        (
            LeadView(1, NY, abandoned_at=now - timedelta(hours=71)),
            Refusal.ABANDON_72H,
            now + timedelta(hours=1),
        ),
        (
            LeadView(1, NY, next_call_at=now + timedelta(minutes=5)),
            Refusal.NOT_DUE,
            now + timedelta(minutes=5),
        ),
        (LeadView(1, NY, status="done"), Refusal.FINAL_STATUS, None),
    ]
    for lead, reason, retry_at in cases:
        verdict = may_dial(lead, config, now)
        assert (verdict.reason, verdict.retry_at) == (reason, retry_at), lead


def test_the_day_cap_counts_any_24_hours_not_a_calendar_day() -> None:
    """A Los Angeles lead's calling hours (08:00-21:00 PST) straddle the UTC midnight and its own
    midnight lies outside them: whichever calendar day one counts, three calls in one evening and
    three the next morning would be six on somebody's day. The cap counts the last 24 hours."""
    config = campaign(attempts={"max_per_day": 3, "min_gap_s": "1h"})
    evening = datetime(2026, 11, 25, 17, tzinfo=ZoneInfo("America/Los_Angeles"))
    called = (evening, evening + timedelta(hours=1), evening + timedelta(hours=2))
    lead = LeadView(1, LA, recent_attempts=called, last_attempt_at=called[-1])
    next_morning = datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("America/Los_Angeles"))
    refused = may_dial(lead, config, next_morning)
    assert refused.reason is Refusal.MAX_ATTEMPTS_DAY
    assert refused.retry_at == evening + timedelta(hours=24)
    assert next_allowed_time(lead, config, next_morning) == evening + timedelta(hours=24)
    # One attempt ages out of the window at a time; ones older than 24 h never count.
    assert may_dial(lead, config, evening + timedelta(hours=24))
    older = LeadView(1, LA, recent_attempts=(evening - timedelta(hours=30), *called[1:]))
    assert may_dial(older, config, next_morning)


def test_72h_rule_lifted_by_a_reserved_seat_or_switched_off() -> None:
    lead = LeadView(1, NY, abandoned_at=WED_NOON_NY - timedelta(hours=1))
    assert not may_dial(lead, campaign(), WED_NOON_NY)
    assert may_dial(lead, campaign(), WED_NOON_NY, seat_reserved=True)
    strict = campaign(abandon={"rule_72h_allow_reserved_seat": False})
    assert not may_dial(lead, strict, WED_NOON_NY, seat_reserved=True)
    assert may_dial(lead, campaign(abandon={"rule_72h": False}), WED_NOON_NY)


def test_next_allowed_time_finds_the_next_opening() -> None:
    config = campaign(calling_hours={"weekdays": {"sat": "closed", "sun": "closed"}})
    friday_late = utc(2026, 11, 28, 2, 30)  # Fri 21:30 New York
    assert next_allowed_time(LeadView(1, NY), config, friday_late) == utc(2026, 11, 30, 13)
    # A gap that ends outside hours: the next opening after it.
    lead = LeadView(1, NY, last_attempt_at=utc(2026, 11, 25, 1, 30))  # 20:30 NY, gap until 21:30
    assert next_allowed_time(lead, campaign(), utc(2026, 11, 25, 1, 45)) == utc(2026, 11, 25, 13)
    # Toll-free: the window must be open everywhere, i.e. 08:00 in Guam ... 21:00 in Adak.
    opening = next_allowed_time(LeadView(2, TOLL_FREE), campaign(), utc(2026, 11, 25, 12))
    assert opening is not None and may_dial(LeadView(2, TOLL_FREE), campaign(), opening)
    assert not may_dial(LeadView(2, TOLL_FREE), campaign(), opening - timedelta(seconds=1))
    # Never: DNC, caps.
    assert (
        next_allowed_time(LeadView(1, NY), campaign(), WED_NOON_NY, DncSet([DncEntry(NY)])) is None
    )


def test_next_allowed_time_across_dst_change() -> None:
    # 8 March 2026: New York springs forward at 02:00. Window starting 02:30 does not exist.
    config = campaign(calling_hours={"window": "02:30-21:00"})
    opening = next_allowed_time(LeadView(1, NY), config, utc(2026, 3, 8, 5))  # 00:00 EST
    assert opening is not None
    assert may_dial(LeadView(1, NY), config, opening)
    assert opening == utc(2026, 3, 8, 7)  # 03:00 EDT, the first minute that exists


def test_hopper_order() -> None:
    now = WED_NOON_NY
    past = now - timedelta(hours=1)
    callback = LeadView(1, NY, next_call_at=past, is_callback=True, attempts_total=1)
    retry_low = LeadView(2, NY, next_call_at=past, attempts_total=1, priority=0)
    retry_high = LeadView(3, NY, next_call_at=past, attempts_total=1, priority=5)
    fresh = LeadView(4, NY, priority=9)
    future_callback = LeadView(5, NY, next_call_at=now + timedelta(hours=1), is_callback=True)
    ordered = hopper_order([fresh, future_callback, retry_low, retry_high, callback], now)
    assert [lead.id for lead in ordered] == [1, 3, 2, 4, 5]
    assert hopper_class(future_callback, now) is HopperClass.NOT_DUE


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        may_dial(LeadView(1, NY), campaign(), WED_NOON_NY.replace(tzinfo=None))


def test_a_claimed_lead_is_rechecked_by_the_rules_not_refused_for_being_claimed() -> None:
    assert may_dial(LeadView(1, NY, status="dialling"), campaign(), WED_NOON_NY)
    for final in ("done", "no_contact", "dnc", "rejected", "cancelled"):
        assert (
            may_dial(LeadView(1, NY, status=final), campaign(), WED_NOON_NY).reason
            is Refusal.FINAL_STATUS
        )
