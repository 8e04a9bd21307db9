"""Attempt queries: one row per dial, created before the Originate, finished once.

Life of an attempt, from the daemon's side::

    lead = claim_leads(...)[i]
    attempt_id = new_attempt_id()
    create_attempt(conn, NewAttempt(attempt_id, lead.id, lead.claim_token, ...))   # commit!
    ... send Originate with ChannelId=attempt_id ...
    update_attempt(conn, attempt_id, ringing_at=..., answered_at=...)               # as events come
    finish_attempt(conn, attempt_id, AttemptResult(...), LeadUpdate(...))          # one transaction

``create_attempt`` is fenced by the lead's claim token (and the campaign lease token when given) and
a partial unique index forbids two in-flight attempts for one lead. ``finish_attempt`` is *not*
fenced by the lease: a call placed before a lease was lost still has its result recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, case, insert, select, update

from dialer.states import AttemptOutcome, AttemptState, LeadStatus
from dialer.store.errors import LeadNotClaimed, LeaseLost
from dialer.store.leads import utc_day
from dialer.store.leases import lease_is_held
from dialer.store.schema import attempts, caller_ids, leads, outbox

ANSWERED_OUTCOMES = frozenset(
    {
        AttemptOutcome.HUMAN,
        AttemptOutcome.MACHINE,
        AttemptOutcome.ABANDONED,
        AttemptOutcome.ROBOT,
        AttemptOutcome.CUSTOMER_HANGUP,
    }
)


def new_attempt_id() -> str:
    """A fresh attempt id (UUID4 text), used as the Asterisk ChannelId. Never reused."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class NewAttempt:
    id: str
    lead_id: int | None
    claim_token: str | None
    campaign: str
    phone_e164: str
    caller_id: str | None
    placed_at: datetime
    server: str | None = None
    daemon: str | None = None
    seat_id: str | None = None  # preview mode: the seat the call is for
    lease_token: int | None = None


def create_attempt(conn: Connection, attempt: NewAttempt) -> None:
    """Record a dial about to be placed, and count it on the lead and on the caller ID.

    Raises LeadNotClaimed when the lead is not (or no longer) claimed with this token or already
    has a live attempt, LeaseLost when ``lease_token`` is given and no longer held. Commit before
    sending the Originate: the row must exist before the call does."""
    now = attempt.placed_at
    if attempt.lease_token is not None and not conn.execute(
        select(lease_is_held(conn, attempt.campaign, attempt.lease_token))
    ).scalar():
        raise LeaseLost(f"campaign {attempt.campaign!r}: lease token {attempt.lease_token} lost")
    if attempt.lead_id is not None:
        t = leads.c
        today = utc_day(now)
        result = conn.execute(
            update(leads)
            .where(
                t.id == attempt.lead_id,
                t.claim_token == attempt.claim_token,
                t.status == LeadStatus.DIALLING.value,
                t.active_attempt_id.is_(None),
            )
            .values(
                active_attempt_id=attempt.id,
                attempts_total=t.attempts_total + 1,
                attempts_today=case(
                    (t.attempts_day == today, t.attempts_today + 1), else_=1
                ),
                attempts_day=today,
                last_attempt_at=now,
                updated_at=now,
            )
        )
        if result.rowcount != 1:
            raise LeadNotClaimed(
                f"lead {attempt.lead_id} is not claimed with token {attempt.claim_token} "
                "or already has a live attempt"
            )
    conn.execute(
        insert(attempts).values(
            id=attempt.id,
            lead_id=attempt.lead_id,
            campaign=attempt.campaign,
            phone_e164=attempt.phone_e164,
            caller_id=attempt.caller_id,
            seat_id=attempt.seat_id,
            server=attempt.server,
            daemon=attempt.daemon,
            lease_token=attempt.lease_token,
            state=AttemptState.IN_FLIGHT.value,
            placed_at=now,
            created_at=now,
        )
    )
    if attempt.caller_id is not None:
        c = caller_ids.c
        today = utc_day(now)
        conn.execute(
            update(caller_ids)
            .where(c.number == attempt.caller_id)
            .values(
                calls_today=case((c.calls_day == today, c.calls_today + 1), else_=1),
                calls_day=today,
                calls_total=c.calls_total + 1,
                last_used_at=now,
            )
        )


_PROGRESS_FIELDS = frozenset(
    {
        "ringing_at",
        "answered_at",
        "amd_result",
        "amd_cause",
        "connected_at",
        "seat_id",
        "server",
        "ring_s",
        "wait_s",
        "talk_s",
        "hold_s",
        "transferred",
        "handover_at",
        "ivr_result",
    }
)


def update_attempt(conn: Connection, attempt_id: str, **fields: Any) -> bool:
    """Record progress of a live attempt (``ringing_at``, ``answered_at``, ``amd_result``,
    ``connected_at``, ``seat_id``, ...). False if the attempt is unknown or already ended."""
    unknown = set(fields) - _PROGRESS_FIELDS
    if unknown:
        raise ValueError(f"update_attempt: unknown field(s) {sorted(unknown)}")
    if not fields:
        return True
    t = attempts.c
    result = conn.execute(
        update(attempts)
        .where(t.id == attempt_id, t.state == AttemptState.IN_FLIGHT.value)
        .values(**fields)
    )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How an attempt ended, with its timings (seconds) as far as they are known."""

    outcome: AttemptOutcome
    ended_at: datetime
    hangup_cause: int | None = None
    cause_text: str | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    amd_result: str | None = None
    amd_cause: str | None = None
    connected_at: datetime | None = None
    seat_id: str | None = None
    ring_s: float | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    hold_s: float | None = None
    wrapup_s: float | None = None
    transferred: bool | None = None
    ivr_result: str | None = None  # robot mode: pressed / not_pressed
    handover_at: datetime | None = None  # robot mode: when the caller asked for a person


@dataclass(frozen=True, slots=True)
class LeadUpdate:
    """The lead's new status after the attempt (from the campaign's retry rules)."""

    status: LeadStatus
    next_call_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxRequest:
    """A follow-up for the CRM, e.g. ``OutboxRequest("sms", {"template": "missed-you"})``."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)


def finish_attempt(
    conn: Connection,
    attempt_id: str,
    result: AttemptResult,
    lead_update: LeadUpdate | None,
    *,
    outbox_requests: Sequence[OutboxRequest] = (),
) -> bool:
    """End an attempt: its outcome and timings, the lead's new status and next call time, the
    lead's ``abandoned_at`` (72-hour rule), the caller ID's answer count and any CRM follow-ups,
    all in the caller's one transaction.

    Idempotent: False (and nothing written) when the attempt already ended or does not exist."""
    outcome = AttemptOutcome(result.outcome)
    lead_status = LeadStatus(lead_update.status) if lead_update is not None else None
    t = attempts.c
    values = {k: v for k, v in asdict(result).items() if v is not None}
    values["outcome"] = outcome.value
    values["state"] = AttemptState.ENDED.value
    row = conn.execute(
        update(attempts)
        .where(t.id == attempt_id, t.state == AttemptState.IN_FLIGHT.value)
        .values(**values)
        .returning(t.lead_id, t.campaign, t.caller_id, t.answered_at)
    ).first()
    if row is None:
        return False
    now = result.ended_at
    if row.lead_id is not None:
        lt = leads.c
        lead_values: dict[str, Any] = {
            "last_outcome": outcome.value,
            "active_attempt_id": None,
            "claimed_by": None,
            "claim_token": None,
            "claimed_at": None,
            "claimed_from": None,
            "updated_at": now,
        }
        if lead_status is not None:
            lead_values["status"] = lead_status.value
            lead_values["next_call_at"] = lead_update.next_call_at if lead_update else None
        else:
            lead_values["status"] = case(
                (lt.status == LeadStatus.DIALLING.value, LeadStatus.RETRY.value),
                else_=lt.status,
            )
        if outcome is AttemptOutcome.ABANDONED:
            lead_values["abandoned_at"] = row.answered_at or now
        conn.execute(
            update(leads)
            .where(lt.id == row.lead_id, lt.active_attempt_id == attempt_id)
            .values(**lead_values)
        )
    if row.caller_id is not None and outcome in ANSWERED_OUTCOMES:
        c = caller_ids.c
        conn.execute(
            update(caller_ids)
            .where(c.number == row.caller_id)
            .values(answers_total=c.answers_total + 1)
        )
    for request in outbox_requests:
        conn.execute(
            insert(outbox).values(
                kind=request.kind,
                campaign=row.campaign,
                lead_id=row.lead_id,
                attempt_id=attempt_id,
                payload=request.payload,
                created_at=now,
            )
        )
    return True


def in_flight_attempts(
    conn: Connection, campaign: str | None = None, *, daemon: str | None = None
) -> list[RowMapping]:
    """Attempts not yet finished: what a starting (or taking-over) daemon must reconcile with
    Asterisk before dialling again."""
    t = attempts.c
    stmt = select(attempts).where(t.state == AttemptState.IN_FLIGHT.value)
    if campaign is not None:
        stmt = stmt.where(t.campaign == campaign)
    if daemon is not None:
        stmt = stmt.where(t.daemon == daemon)
    return list(conn.execute(stmt.order_by(t.placed_at)).mappings())


def get_attempt(conn: Connection, attempt_id: str) -> RowMapping | None:
    return conn.execute(select(attempts).where(attempts.c.id == attempt_id)).mappings().first()
