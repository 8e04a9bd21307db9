"""What happens to a lead after an attempt: done, retry later, call back, or final no-contact.

Pure: :func:`after_attempt` takes the attempt's outcome, the lead as it was before the attempt, the
outcomes of its earlier attempts and ``now``, and returns a :class:`LeadUpdate` holding the lead's
new status and ``next_call_at`` (already moved to the first moment the hopper rules allow: calling
hours, minimum gap, 72-hour rule), plus whether to queue an SMS follow-up.

Outcomes are the words of ``dialer.states.AttemptOutcome``: a person reached (``human``,
``robot``) ends the lead unless the agent booked a callback; ``busy``, ``no_answer``, ``machine``,
``abandoned`` and ``failed``/``congestion`` follow the campaign's retry rule of that name (a
``customer_hangup`` before a seat took the call counts as ``no_answer``); ``invalid_number`` ends
the lead; ``cancelled`` (never placed) leaves it as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from dialer.config.models import CampaignConfig, Outcome
from dialer.engine.leads import ATTEMPT_DAY, LeadView, next_allowed_time
from dialer.states import AttemptOutcome, LeadStatus

RULE_FOR_OUTCOME: dict[AttemptOutcome, Outcome] = {
    AttemptOutcome.BUSY: "busy",
    AttemptOutcome.NO_ANSWER: "no_answer",
    AttemptOutcome.CUSTOMER_HANGUP: "no_answer",
    AttemptOutcome.MACHINE: "machine",
    AttemptOutcome.ABANDONED: "abandoned",
    AttemptOutcome.FAILED: "failed",
    AttemptOutcome.CONGESTION: "failed",
}
"""Which retry rule of the campaign applies to each unsuccessful outcome."""

CONTACT_OUTCOMES = frozenset({AttemptOutcome.HUMAN, AttemptOutcome.ROBOT})


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """The lead's new state after an attempt."""

    status: LeadStatus
    next_call_at: datetime | None
    attempts_total: int
    recent_attempts: tuple[datetime, ...]
    """The lead's attempts of the last 24 hours, this one included (the per-day cap's count)."""
    last_attempt_at: datetime | None
    abandoned_at: datetime | None
    queue_sms: bool = False
    reason: str = ""


def after_attempt(
    outcome: AttemptOutcome | str,
    lead: LeadView,
    campaign: CampaignConfig,
    now: datetime,
    *,
    previous_outcomes: Sequence[AttemptOutcome | str] = (),
    callback_at: datetime | None = None,
    placed_at: datetime | None = None,
) -> LeadUpdate:
    """The lead's new status and next call time after an attempt ending at ``now``.

    ``lead`` is the lead before this attempt (its ``recent_attempts`` without this one);
    ``previous_outcomes`` are its earlier attempts' outcomes (for each rule's ``max_tries``);
    ``callback_at`` is a callback the agent booked; ``placed_at`` is when this attempt was
    placed (default ``now``), the start of the min gap and of its 24 hours in the day cap.
    """
    outcome = AttemptOutcome(outcome)
    placed_at = placed_at or now
    if outcome is AttemptOutcome.CANCELLED:
        status = LeadStatus(lead.status) if lead.status in _DIALABLE else LeadStatus.RETRY
        return LeadUpdate(
            status,
            lead.next_call_at,
            lead.attempts_total,
            lead.recent_attempts,
            lead.last_attempt_at,
            lead.abandoned_at,
            reason="attempt never placed",
        )
    after = replace(
        lead,
        attempts_total=lead.attempts_total + 1,
        recent_attempts=(*(t for t in lead.recent_attempts if t > now - ATTEMPT_DAY), placed_at),
        last_attempt_at=placed_at,
        abandoned_at=now if outcome is AttemptOutcome.ABANDONED else lead.abandoned_at,
        next_call_at=None,
        is_callback=False,
        status=LeadStatus.RETRY.value,
    )

    def update(
        status: LeadStatus, when: datetime | None, reason: str, sms: bool = False
    ) -> LeadUpdate:
        return LeadUpdate(
            status,
            when,
            after.attempts_total,
            after.recent_attempts,
            after.last_attempt_at,
            after.abandoned_at,
            queue_sms=sms,
            reason=reason,
        )

    if callback_at is not None and outcome in CONTACT_OUTCOMES:
        callback_lead = replace(after, next_call_at=callback_at, is_callback=True)
        when = next_allowed_time(callback_lead, campaign, max(now, callback_at)) or callback_at
        return update(LeadStatus.CALLBACK, when, "callback booked")
    if outcome in CONTACT_OUTCOMES:
        return update(LeadStatus.DONE, None, f"contact made ({outcome.value})")
    sms = campaign.sms_follow_up.enabled
    if outcome is AttemptOutcome.INVALID_NUMBER:
        return update(LeadStatus.NO_CONTACT, None, "invalid number")
    rule_name = RULE_FOR_OUTCOME[outcome]
    rule = campaign.retry.for_outcome(rule_name)
    tries = 1 + sum(
        1 for o in previous_outcomes if RULE_FOR_OUTCOME.get(AttemptOutcome(o)) == rule_name
    )
    if tries >= rule.max_tries:
        return update(
            LeadStatus.NO_CONTACT,
            None,
            f"{rule_name}: {tries} attempts ended so (rule allows {rule.max_tries})",
            sms,
        )
    if after.attempts_total >= campaign.attempts.max_total:
        return update(
            LeadStatus.NO_CONTACT,
            None,
            f"attempt cap reached ({after.attempts_total} of {campaign.attempts.max_total})",
            sms,
        )
    due = replace(after, next_call_at=now + timedelta(seconds=rule.delay_s))
    # No allowed time within the search horizon (or unknown zone): the hopper refuses the lead
    # at dial time anyway; keep the rule's own delay so it is looked at again.
    retry_at = next_allowed_time(due, campaign, now) or due.next_call_at
    return update(LeadStatus.RETRY, retry_at, f"{rule_name}: attempt {tries} of {rule.max_tries}")


_DIALABLE = frozenset(s.value for s in (LeadStatus.NEW, LeadStatus.RETRY, LeadStatus.CALLBACK))
