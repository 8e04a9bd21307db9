"""After an attempt: done, retry at an allowed time, callback, or final no-contact (with SMS)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.engine.leads import LeadView, may_dial
from dialer.engine.retry import RULE_FOR_OUTCOME, after_attempt
from dialer.states import AttemptOutcome, LeadStatus
from tests.engine.rules_support import campaign, utc

NY = "+12125550199"
NOON_NY = utc(2026, 11, 25, 17)  # Wednesday 12:00 New York


def test_contact_ends_the_lead() -> None:
    update = after_attempt("human", LeadView(1, NY), campaign(), NOON_NY)
    assert (update.status, update.next_call_at, update.attempts_total) == (LeadStatus.DONE, None, 1)
    assert not update.queue_sms


def test_busy_retries_after_the_rules_delay() -> None:
    config = campaign(retry={"busy": {"delay_s": "10m", "max_tries": 3}}, attempts={"min_gap_s": 0})
    update = after_attempt(AttemptOutcome.BUSY, LeadView(1, NY), config, NOON_NY)
    assert update.status is LeadStatus.RETRY
    assert update.next_call_at == NOON_NY + timedelta(minutes=10)
    assert (update.attempts_total, update.recent_attempts, update.last_attempt_at) == (
        1,
        (NOON_NY,),
        NOON_NY,
    )


def test_retry_time_respects_gap_and_calling_hours() -> None:
    config = campaign(
        retry={"no_answer": {"delay_s": "10m", "max_tries": 5}}, attempts={"min_gap_s": "2h"}
    )
    late = utc(2026, 11, 26, 1, 30)  # 20:30 New York: gap ends after 21:00
    update = after_attempt("no_answer", LeadView(1, NY), config, late)
    assert update.next_call_at == utc(2026, 11, 26, 13)  # 08:00 the next morning


def test_abandon_waits_72_hours_and_records_the_abandon() -> None:
    config = campaign(retry={"abandoned": {"delay_s": "1h", "max_tries": 3}})
    update = after_attempt("abandoned", LeadView(1, NY), config, NOON_NY)
    assert update.abandoned_at == NOON_NY
    assert update.next_call_at is not None
    assert update.next_call_at >= NOON_NY + timedelta(hours=72)


def test_exhausted_rule_is_final_no_contact_with_sms() -> None:
    config = campaign(
        retry={"machine": {"delay_s": "4h", "max_tries": 2}},
        sms_follow_up={"enabled": True, "template": "Sorry we missed you"},
    )
    first = after_attempt("machine", LeadView(1, NY), config, NOON_NY)
    assert first.status is LeadStatus.RETRY
    second = after_attempt(
        "machine", LeadView(1, NY, attempts_total=1), config, NOON_NY, previous_outcomes=["machine"]
    )
    assert (second.status, second.queue_sms) == (LeadStatus.NO_CONTACT, True)
    # Other outcomes' tries do not count against this rule.
    other = after_attempt(
        "machine", LeadView(1, NY, attempts_total=1), config, NOON_NY, previous_outcomes=["busy"]
    )
    assert other.status is LeadStatus.RETRY


def test_total_attempt_cap_is_final() -> None:
    config = campaign(attempts={"max_total": 3})
    update = after_attempt("busy", LeadView(1, NY, attempts_total=2), config, NOON_NY)
    assert update.status is LeadStatus.NO_CONTACT
    assert not update.queue_sms  # SMS follow-up is off by default


def test_invalid_number_is_final_without_sms() -> None:
    config = campaign(sms_follow_up={"enabled": True, "template": "x"})
    update = after_attempt("invalid_number", LeadView(1, NY), config, NOON_NY)
    assert (update.status, update.queue_sms) == (LeadStatus.NO_CONTACT, False)


def test_booked_callback() -> None:
    at = NOON_NY + timedelta(days=1)
    update = after_attempt("human", LeadView(1, NY), campaign(), NOON_NY, callback_at=at)
    assert (update.status, update.next_call_at) == (LeadStatus.CALLBACK, at)


def test_cancelled_attempt_changes_nothing() -> None:
    lead = LeadView(1, NY, attempts_total=2, status="retry", next_call_at=NOON_NY)
    update = after_attempt("cancelled", lead, campaign(), NOON_NY)
    assert (update.status, update.next_call_at, update.attempts_total) == ("retry", NOON_NY, 2)


def test_unknown_outcome_is_an_error() -> None:
    with pytest.raises(ValueError):
        after_attempt("exploded", LeadView(1, NY), campaign(), NOON_NY)


@settings(max_examples=150, deadline=None)
@given(
    outcome=st.sampled_from(sorted(RULE_FOR_OUTCOME)),
    minutes=st.integers(0, 14 * 24 * 60),
    attempts=st.integers(0, 8),
    per_day=st.integers(1, 4),
    earlier=st.lists(st.integers(1, 30 * 60), max_size=4),
)
def test_a_scheduled_retry_is_dialable_when_due(
    outcome: AttemptOutcome, minutes: int, attempts: int, per_day: int, earlier: list[int]
) -> None:
    """Whatever the day cap and the lead's calls of the last hours, the retry is due when the
    rolling 24-hour count allows it (``earlier``: minutes before this call)."""
    config = campaign(attempts={"max_total": 10, "max_per_day": per_day, "min_gap_s": 0})
    now = utc(2026, 1, 1) + timedelta(minutes=minutes)
    recent = tuple(sorted(now - timedelta(minutes=m) for m in earlier))
    lead = LeadView(1, NY, attempts_total=attempts, recent_attempts=recent)
    update = after_attempt(outcome, lead, config, now)
    if update.status is not LeadStatus.RETRY:
        return
    assert update.next_call_at is not None and update.next_call_at > now
    after = LeadView(
        1,
        NY,
        attempts_total=update.attempts_total,
        recent_attempts=update.recent_attempts,
        last_attempt_at=update.last_attempt_at,
        abandoned_at=update.abandoned_at,
        next_call_at=update.next_call_at,
        status=update.status,
    )
    assert may_dial(after, config, update.next_call_at)
