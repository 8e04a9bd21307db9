"""The database jobs of a campaign worker: functions of a connection, run in a thread by
``WorkerBase._db`` or queued on the :class:`~dialer.daemon.db_writer.DbWriter`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from dialer.config import CampaignConfig
from dialer.daemon.reconcile import CRASH_CAUSE_TEXT, Settlement
from dialer.daemon.worker_base import log, utc
from dialer.engine.leads import ATTEMPT_DAY, LeadView
from dialer.engine.retry import after_attempt
from dialer.states import AttemptOutcome, AttemptState, LeadStatus, LedgerKind
from dialer.store.attempts import (
    AttemptResult,
    LeadUpdate,
    NewAttempt,
    OutboxRequest,
    create_attempt,
    finish_attempt,
)
from dialer.store.dnc import dnc_matches
from dialer.store.errors import LeadNotClaimed, LeaseLost
from dialer.store.followups import bind_callback
from dialer.store.leads import ClaimedLead, claim_leads, recent_attempt_times, release_lead
from dialer.store.ledger import record_abandon_ledger
from dialer.store.schema import attempts, leads, seats
from dialer.store.trials import link_trial_attempt


def claim_with_dnc(
    conn: Connection,
    campaign: str,
    n: int,
    now: datetime,
    owner: str,
    max_total: int,
    max_per_day: int,
    lease_token: int,
    trial_id: int | None = None,
) -> tuple[list[ClaimedLead], set[str]]:
    """Claim up to ``n`` leads (only the running trial's sample with ``trial_id``) and say which
    of their numbers are on a DNC list."""
    claimed = claim_leads(
        conn, campaign, n, now, owner,
        max_attempts_total=max_total, max_attempts_per_day=max_per_day, lease_token=lease_token,
        trial_id=trial_id,
    )  # fmt: skip
    listed = dnc_matches(conn, [c.phone_e164 for c in claimed], campaign) if claimed else set()
    return claimed, listed


def create_attempts(
    conn: Connection,
    campaign: str,
    placing: list[tuple[ClaimedLead, str, str]],
    releases: list[tuple[ClaimedLead, datetime | None, LeadStatus | None]],
    now: datetime,
    owner: str,
    lease_token: int,
    server: str,
    binding_s: float,
    trial_id: int | None = None,
) -> set[str]:
    """Release the refused leads and create the attempts (linked to the running trial, if any),
    in one transaction: committed before any Originate is sent. Returns the attempt ids created."""
    for lead, retry_at, status in releases:
        release_lead(conn, lead.id, lead.claim_token, now, next_call_at=retry_at, status=status)
    created: set[str] = set()
    expires = now + timedelta(seconds=binding_s)
    for lead, caller_id, attempt_id in placing:
        savepoint = conn.begin_nested()
        try:
            create_attempt(
                conn,
                NewAttempt(
                    attempt_id, lead.id, lead.claim_token, campaign, lead.phone_e164, caller_id,
                    now, server=server, daemon=owner, lease_token=lease_token,
                ),
            )  # fmt: skip
            if binding_s > 0:
                bind_callback(conn, caller_id, lead.phone_e164, campaign, now, expires,
                              lead_id=lead.id, attempt_id=attempt_id)  # fmt: skip
            if trial_id is not None:
                link_trial_attempt(conn, trial_id, lead.id, attempt_id)
        except (LeadNotClaimed, LeaseLost) as exc:
            savepoint.rollback()
            log.warning("attempt_not_created", lead=lead.id, error=str(exc))
            if isinstance(exc, LeaseLost):
                raise
            continue
        savepoint.commit()
        created.add(attempt_id)
    return created


def ledger_job(
    campaign: str, kind: LedgerKind, at: datetime, attempt_id: str | None
) -> Callable[[Connection], object]:
    return lambda conn: record_abandon_ledger(conn, campaign, kind, at, attempt_id)


def previous_outcomes(conn: Connection, lead_id: int, attempt_id: str) -> list[str]:
    t = attempts.c
    rows = conn.execute(
        select(t.outcome).where(
            t.lead_id == lead_id,
            t.id != attempt_id,
            t.state == AttemptState.ENDED.value,
            t.outcome.is_not(None),
        )
    ).scalars()
    return [o for o in rows if o != AttemptOutcome.CANCELLED.value]


def seat_requests(conn: Connection, seat_ids: list[str]) -> Mapping[str, tuple[str, str]]:
    if not seat_ids:
        return {}
    t = seats.c
    rows = conn.execute(
        select(t.id, t.requested_state, t.pause_reason).where(t.id.in_(seat_ids))
    ).all()
    return {r.id: (r.requested_state, r.pause_reason or "") for r in rows}


def settle_job(
    campaign: CampaignConfig, name: str, row: Mapping[str, Any], s: Settlement, now: float
) -> Callable[[Connection], None]:
    """The write that finishes an attempt a previous daemon left in flight."""
    ended = utc(now)

    def write(conn: Connection) -> None:
        lead_row = None
        if row["lead_id"] is not None:
            lead_row = (
                conn.execute(select(leads).where(leads.c.id == row["lead_id"])).mappings().first()
            )
        answered = row.get("answered_at")
        if s.live_answer:
            at = answered or ended
            record_abandon_ledger(conn, name, LedgerKind.LIVE_ANSWER, at, s.attempt_id)
            if s.outcome is AttemptOutcome.ABANDONED:
                record_abandon_ledger(conn, name, LedgerKind.ABANDON, ended, s.attempt_id)
        update = None
        outbox: list[OutboxRequest] = []
        if lead_row is not None:
            view = LeadView(
                id=lead_row["id"],
                phone_e164=lead_row["phone_e164"] or row["phone_e164"],
                time_zones=tuple(z for z in (lead_row["time_zone"] or "").split(",") if z),
                attempts_total=max(0, lead_row["attempts_total"] - 1),
                recent_attempts=recent_attempt_times(
                    conn, [lead_row["id"]], ended - ATTEMPT_DAY, exclude=s.attempt_id
                ).get(lead_row["id"], ()),
                last_attempt_at=None,
                abandoned_at=lead_row["abandoned_at"],
                next_call_at=None,
                status=lead_row["claimed_from"] or LeadStatus.RETRY.value,
                priority=lead_row["priority"],
            )
            previous = previous_outcomes(conn, lead_row["id"], s.attempt_id)
            after = after_attempt(s.outcome, view, campaign, ended, previous_outcomes=previous,
                                  placed_at=row["placed_at"])  # fmt: skip
            update = LeadUpdate(after.status, after.next_call_at)
            if after.queue_sms:
                outbox.append(OutboxRequest("sms", {
                    "template": campaign.sms_follow_up.template, "reason": after.reason,
                }))  # fmt: skip
        connected = row.get("connected_at")
        result = AttemptResult(
            outcome=s.outcome,
            ended_at=ended,
            cause_text=CRASH_CAUSE_TEXT,
            talk_s=(ended - connected).total_seconds() if connected is not None else None,
        )
        finish_attempt(conn, s.attempt_id, result, update, outbox_requests=outbox)

    return write
