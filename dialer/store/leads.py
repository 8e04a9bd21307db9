"""Lead queries: the atomic claim (the hopper's database half), release, recovery, CRM checks.

The claim is one statement on both databases::

    UPDATE leads SET status='dialling', claimed_by=..., claim_token=...
    WHERE id IN (SELECT id FROM leads WHERE <coarse filter>
                 ORDER BY <callbacks due, retries due, fresh>, priority DESC, ...
                 LIMIT :n FOR UPDATE SKIP LOCKED)
    RETURNING ...

On PostgreSQL, ``SKIP LOCKED`` lets several daemons claim side by side; on SQLite (where
SQLAlchemy drops ``FOR UPDATE``) the ``BEGIN IMMEDIATE`` of every transaction serialises writers.
The SQL only does the coarse filter (dialable status, due, under the attempt caps, not on a DNC
list); the daemon re-checks each claimed lead with the pure rules of dialer.engine.leads (calling
window in the called party's local time, min gap, 72-hour rule...) and releases those it may not
call now with ``release_lead``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, insert, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from dialer.engine.leads import ATTEMPT_DAY
from dialer.states import DIALABLE_LEAD_STATUSES, AttemptOutcome, LeadStatus
from dialer.store.errors import LeaseLost
from dialer.store.leases import lease_is_held
from dialer.store.phones import LeadProblem, parse_phone
from dialer.store.schema import attempts, dnc_entries, lead_rejects, leads, trial_samples

_DIALABLE = [s.value for s in DIALABLE_LEAD_STATUSES]


@dataclass(frozen=True, slots=True)
class ClaimedLead:
    """A lead claimed for dialling; ``status`` is the status it had before the claim."""

    id: int
    campaign: str
    phone_e164: str
    country: str | None
    time_zones: tuple[str, ...]
    priority: int
    status: str
    attempts_total: int
    recent_attempts: tuple[datetime, ...]
    """When its attempts of the last 24 hours were placed (the per-day cap's count)."""
    last_attempt_at: datetime | None
    next_call_at: datetime | None
    abandoned_at: datetime | None
    external_id: str | None
    custom_fields: dict[str, Any] | None
    claim_token: str

    @property
    def is_callback(self) -> bool:
        return self.status == LeadStatus.CALLBACK


def utc_day(now: datetime) -> date:
    """The UTC calendar day that ``attempts_today`` counts."""
    return now.astimezone(UTC).date()


def claim_leads(
    conn: Connection,
    campaign: str,
    n: int,
    now: datetime,
    owner: str,
    *,
    max_attempts_total: int | None = None,
    max_attempts_per_day: int | None = None,
    lease_token: int | None = None,
    trial_id: int | None = None,
) -> list[ClaimedLead]:
    """Atomically claim up to ``n`` dialable leads of ``campaign``, best first.

    Order: callbacks due, then retries due, then fresh leads; within each, higher ``priority``
    first, then the earliest due, then the oldest. One claim statement per tier, each walking
    the ``ix_leads_claim_order`` index (a single statement sorting every dialable lead took
    ~100-200 ms at 100,000 leads). With ``lease_token`` the claim only happens while that lease
    is held (raises LeaseLost otherwise). With ``trial_id`` only that trial's sampled leads not
    yet dialled for it are claimed (trial mode). All leads of one call share one claim token."""
    if n <= 0:
        return []
    if lease_token is not None and not _lease_ok(conn, campaign, lease_token):
        raise LeaseLost(f"campaign {campaign!r}: lease token {lease_token} no longer held")
    token = str(uuid.uuid4())
    claimed: list[ClaimedLead] = []
    for tier in DIALABLE_LEAD_STATUSES:
        if len(claimed) >= n:
            break
        claimed += _claim_tier(
            conn,
            campaign,
            tier,
            n - len(claimed),
            now,
            owner,
            token,
            max_attempts_total,
            max_attempts_per_day,
            lease_token,
            trial_id,
        )
    return claimed


def _claim_tier(
    conn: Connection,
    campaign: str,
    tier: LeadStatus,
    n: int,
    now: datetime,
    owner: str,
    token: str,
    max_attempts_total: int | None,
    max_attempts_per_day: int | None,
    lease_token: int | None,
    trial_id: int | None = None,
) -> list[ClaimedLead]:
    t = leads.c
    today = utc_day(now)
    conditions: list[ColumnElement[bool]] = [
        t.campaign == campaign,
        t.status == tier.value,
        t.validated_at.is_not(None),
        t.phone_e164.is_not(None),
        or_(t.next_call_at.is_(None), t.next_call_at <= now),
        ~exists().where(
            dnc_entries.c.phone_e164 == t.phone_e164,
            or_(dnc_entries.c.campaign.is_(None), dnc_entries.c.campaign == campaign),
        ),
    ]
    if trial_id is not None:
        ts = trial_samples.c
        conditions.append(
            exists().where(ts.trial_id == trial_id, ts.lead_id == t.id, ts.attempt_id.is_(None))
        )
    if max_attempts_total is not None:
        conditions.append(t.attempts_total < max_attempts_total)
    if max_attempts_per_day is not None:
        conditions.append(_placed_since(t.id, now - ATTEMPT_DAY) < max_attempts_per_day)
    # A CTE, not an IN (subquery): PostgreSQL may re-run a LIMIT ... SKIP LOCKED subquery for
    # each row the UPDATE scans, each run picking other unlocked rows, and so claim more than n.
    candidates = (
        select(t.id)
        .where(*conditions)
        .order_by(t.priority.desc(), t.next_call_at, t.id)
        .limit(n)
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    where: list[ColumnElement[bool]] = [
        t.id.in_(select(candidates.c.id)),
        t.status == tier.value,
    ]
    if lease_token is not None:
        where.append(lease_is_held(conn, campaign, lease_token))
    stmt = (
        update(leads)
        .where(*where)
        .values(
            status=LeadStatus.DIALLING.value,
            claimed_from=t.status,
            claimed_by=owner,
            claim_token=token,
            claimed_at=now,
            attempts_today=case((t.attempts_day == today, t.attempts_today), else_=0),
            attempts_day=today,
            updated_at=now,
        )
        .returning(
            t.id,
            t.campaign,
            t.phone_e164,
            t.country,
            t.time_zone,
            t.priority,
            t.claimed_from,
            t.attempts_total,
            t.last_attempt_at,
            t.next_call_at,
            t.abandoned_at,
            t.external_id,
            t.custom_fields,
        )
    )
    rows = conn.execute(stmt).all()
    recent = recent_attempt_times(conn, [r.id for r in rows], now - ATTEMPT_DAY)
    claimed = [
        ClaimedLead(
            id=r.id,
            campaign=r.campaign,
            phone_e164=r.phone_e164,
            country=r.country,
            time_zones=split_zones(r.time_zone),
            priority=r.priority,
            status=r.claimed_from,
            attempts_total=r.attempts_total,
            recent_attempts=recent.get(r.id, ()),
            last_attempt_at=r.last_attempt_at,
            next_call_at=r.next_call_at,
            abandoned_at=r.abandoned_at,
            external_id=r.external_id,
            custom_fields=r.custom_fields,
            claim_token=token,
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: (-c.priority, c.next_call_at is not None, c.next_call_at, c.id))
    return claimed


def _placed_since(lead_id: ColumnElement[int], since: datetime) -> ColumnElement[int]:
    """How many calls were placed to the lead after ``since`` (``cancelled`` ones never were)."""
    a = attempts.c
    return (
        select(func.count())
        .where(a.lead_id == lead_id, a.placed_at > since, was_placed())
        .scalar_subquery()
    )


def was_placed() -> ColumnElement[bool]:
    """Attempts that were dialled: all but ``cancelled`` ones (never sent; still in flight too).
    The day cap and the compliance audit count the same calls."""
    a = attempts.c
    return or_(a.outcome.is_(None), a.outcome != AttemptOutcome.CANCELLED.value)


def recent_attempt_times(
    conn: Connection, lead_ids: Sequence[int], since: datetime, *, exclude: str | None = None
) -> dict[int, tuple[datetime, ...]]:
    """When each lead's calls placed after ``since`` were placed, oldest first (leads with none
    are left out); ``exclude`` leaves one attempt out (the one being settled)."""
    a = attempts.c
    found: dict[int, list[datetime]] = {}
    for start in range(0, len(lead_ids), 500):
        query = (
            select(a.lead_id, a.placed_at)
            .where(a.lead_id.in_(lead_ids[start : start + 500]), a.placed_at > since)
            .where(was_placed())
            .order_by(a.placed_at)
        )
        if exclude is not None:
            query = query.where(a.id != exclude)
        for row in conn.execute(query):
            found.setdefault(int(row.lead_id), []).append(row.placed_at)
    return {lead: tuple(times) for lead, times in found.items()}


def _lease_ok(conn: Connection, campaign: str, token: int) -> bool:
    return bool(conn.execute(select(lease_is_held(conn, campaign, token))).scalar())


def split_zones(value: str | None) -> tuple[str, ...]:
    return tuple(z for z in (value or "").split(",") if z)


def release_lead(
    conn: Connection,
    lead_id: int,
    claim_token: str,
    now: datetime,
    *,
    next_call_at: datetime | None = None,
    status: LeadStatus | None = None,
) -> bool:
    """Give back a claimed lead that will not be dialled now.

    It returns to the status it had before the claim (or ``status``, e.g. ``dnc`` when the
    dial-time check found it on a list), with ``next_call_at`` when given (e.g. the start of the
    called party's calling window). False if the lead was not claimed with this token."""
    t = leads.c
    values: dict[str, Any] = {
        "status": status.value if status is not None else func.coalesce(t.claimed_from, "new"),
        "claimed_by": None,
        "claim_token": None,
        "claimed_at": None,
        "claimed_from": None,
        "updated_at": now,
    }
    if next_call_at is not None:
        values["next_call_at"] = next_call_at
    result = conn.execute(
        update(leads)
        .where(
            t.id == lead_id,
            t.claim_token == claim_token,
            t.status == LeadStatus.DIALLING.value,
            t.active_attempt_id.is_(None),
        )
        .values(**values)
    )
    return result.rowcount == 1


def recover_stale_claims(conn: Connection, campaign: str, claimed_before: datetime) -> int:
    """Return to the pool leads claimed before ``claimed_before`` that never got an attempt
    (their daemon died between claim and dial). Returns how many were recovered."""
    t = leads.c
    result = conn.execute(
        update(leads)
        .where(
            t.campaign == campaign,
            t.status == LeadStatus.DIALLING.value,
            t.active_attempt_id.is_(None),
            t.claimed_at < claimed_before,
        )
        .values(
            status=func.coalesce(t.claimed_from, "new"),
            claimed_by=None,
            claim_token=None,
            claimed_at=None,
            claimed_from=None,
        )
    )
    return result.rowcount or 0


def lead_counts(conn: Connection, campaign: str) -> dict[str, int]:
    """How many leads the campaign has in each status."""
    t = leads.c
    rows = conn.execute(
        select(t.status, func.count()).where(t.campaign == campaign).group_by(t.status)
    ).all()
    return {status: count for status, count in rows}


@dataclass(frozen=True, slots=True)
class CheckResult:
    accepted: int
    rejected: int


def check_new_leads(
    conn: Connection,
    campaign: str,
    now: datetime,
    *,
    default_country: str | None = None,
    limit: int = 1000,
) -> CheckResult:
    """Check leads the CRM inserted (``validated_at IS NULL``) before their first call.

    Good ones get ``phone_e164``, ``country`` and ``time_zone`` filled in and ``validated_at`` set;
    bad ones (invalid number, unknown country or zone, duplicate number in the campaign) get status
    ``rejected`` and a lead_rejects row saying why. Claims skip unchecked leads, so a bad CRM row
    can never be dialled. Run by the daemon periodically; safe to run concurrently."""
    t = leads.c
    rows = conn.execute(
        select(t.id, t.phone_raw, t.phone_e164, t.country, t.time_zone, t.external_id)
        .where(t.campaign == campaign, t.validated_at.is_(None), t.status.in_(_DIALABLE))
        .order_by(t.id)
        .limit(limit)
    ).all()
    accepted = rejected = 0
    for row in rows:
        raw = row.phone_raw or row.phone_e164
        try:
            parsed = parse_phone(
                raw, default_country, country=row.country, time_zone=row.time_zone
            )
            duplicate = conn.execute(
                select(t.id).where(
                    t.campaign == campaign, t.phone_e164 == parsed.e164, t.id != row.id
                )
            ).first()
            if duplicate is not None:
                raise LeadProblem(
                    "duplicate_in_campaign",
                    f"duplicate: {parsed.e164} is already lead {duplicate.id} of this campaign",
                )
        except LeadProblem as problem:
            rejected += 1
            conn.execute(
                update(leads)
                .where(t.id == row.id)
                .values(status=LeadStatus.REJECTED.value, validated_at=now, updated_at=now)
            )
            conn.execute(
                insert(lead_rejects).values(
                    campaign=campaign,
                    source=f"lead:{row.id}",
                    lead_id=row.id,
                    raw={
                        "phone_raw": row.phone_raw,
                        "phone_e164": row.phone_e164,
                        "country": row.country,
                        "time_zone": row.time_zone,
                        "external_id": row.external_id,
                    },
                    reason=str(problem),
                    reason_code=problem.code,
                    created_at=now,
                )
            )
            continue
        accepted += 1
        conn.execute(
            update(leads)
            .where(t.id == row.id)
            .values(
                phone_e164=parsed.e164,
                country=parsed.country,
                time_zone=parsed.time_zone_field,
                validated_at=now,
                updated_at=now,
            )
        )
    return CheckResult(accepted, rejected)


def existing_numbers(conn: Connection, campaign: str, numbers: Iterable[str]) -> set[str]:
    """Which of ``numbers`` (E.164) are already leads of ``campaign``."""
    wanted = list(numbers)
    found: set[str] = set()
    t = leads.c
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        found.update(
            conn.execute(
                select(t.phone_e164).where(t.campaign == campaign, t.phone_e164.in_(chunk))
            ).scalars()
        )
    return found


def insert_leads(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert checked leads in one executemany (the CSV import's fast path)."""
    if not rows:
        return 0
    conn.execute(insert(leads), list(rows))
    return len(rows)


def dialable_condition(campaign: str, now: datetime) -> Any:
    """SQL condition for leads that are dialable now (for status displays)."""
    t = leads.c
    return and_(
        t.campaign == campaign,
        t.status.in_(_DIALABLE),
        or_(t.next_call_at.is_(None), t.next_call_at <= now),
    )
