"""Preview offers: a lead offered to a seat, accepted or skipped by its agent (the CRM contract).

The daemon inserts an ``offered`` row (:func:`insert_offer`) while it holds the lead's claim; the
agent's desktop, through the CRM or ``dialerctl preview``, decides it with :func:`decide_offer`
(a conditional update: only an ``offered`` row that has not expired can be decided, so a decision
racing the daemon's timeout has exactly one winner); the daemon then places the call or gives the
lead back and closes the row (:func:`close_offer`). Rows are never deleted: they are the record of
what each agent was offered and did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from dialer.states import PreviewOfferState
from dialer.store.errors import NotFound, StoreError
from dialer.store.schema import leads, preview_offers

OPEN_STATES = (PreviewOfferState.OFFERED, PreviewOfferState.ACCEPTED)
"""States of an offer whose seat is waiting for it (decided or not, no call placed yet)."""


class OfferNotOpen(StoreError):
    """The offer cannot be decided: already decided, expired, withdrawn or dialled."""


def insert_offer(
    conn: Connection,
    campaign: str,
    seat_id: str,
    lead_id: int,
    now: datetime,
    expires_at: datetime,
) -> int:
    """Record that ``lead_id`` is offered to ``seat_id`` until ``expires_at``; returns its id."""
    result = conn.execute(
        insert(preview_offers)
        .values(
            campaign=campaign,
            seat_id=seat_id,
            lead_id=lead_id,
            state=PreviewOfferState.OFFERED.value,
            offered_at=now,
            expires_at=expires_at,
        )
        .returning(preview_offers.c.id)
    )
    return int(result.scalar_one())


def decide_offer(
    conn: Connection,
    offer_id: int,
    accept: bool,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    """The agent accepts (the call will be placed for their seat) or skips (the lead goes back).

    Raises NotFound for an unknown offer and OfferNotOpen, naming its state, when it was already
    decided, withdrawn or dialled, or has expired."""
    t = preview_offers.c
    state = PreviewOfferState.ACCEPTED if accept else PreviewOfferState.SKIPPED
    done = conn.execute(
        update(preview_offers)
        .where(
            t.id == offer_id,
            t.state == PreviewOfferState.OFFERED.value,
            t.closed_at.is_(None),
            t.expires_at > now,
        )
        .values(state=state.value, decided_at=now, reason=reason)
    )
    if done.rowcount == 1:
        return
    row = conn.execute(select(t.state, t.expires_at, t.closed_at).where(t.id == offer_id)).first()
    if row is None:
        raise NotFound(f"no preview offer {offer_id}")
    if row.state == PreviewOfferState.OFFERED.value and row.expires_at <= now:
        raise OfferNotOpen(f"preview offer {offer_id} expired at {row.expires_at.isoformat()}")
    raise OfferNotOpen(f"preview offer {offer_id} is {row.state}, not offered")


def offer_states(conn: Connection, offer_ids: Iterable[int]) -> dict[int, str]:
    """The current state of each of these offers (the daemon polls its open ones)."""
    ids = list(offer_ids)
    if not ids:
        return {}
    t = preview_offers.c
    rows = conn.execute(select(t.id, t.state).where(t.id.in_(ids))).all()
    return {int(r.id): str(r.state) for r in rows}


def close_offer(
    conn: Connection,
    offer_id: int,
    state: PreviewOfferState,
    now: datetime,
    *,
    from_states: Iterable[PreviewOfferState] = (
        PreviewOfferState.OFFERED,
        PreviewOfferState.ACCEPTED,
        PreviewOfferState.SKIPPED,
    ),
    reason: str | None = None,
    attempt_id: str | None = None,
) -> bool:
    """The daemon is done with an offer: it becomes ``state`` (dialled, expired, withdrawn or
    stays skipped) with ``closed_at`` set. Only from ``from_states`` and while still open, so a
    decision the agent made in the meantime is never overwritten; False if it was not open."""
    t = preview_offers.c
    values: dict[str, object] = {"state": state.value, "closed_at": now}
    if reason is not None:
        values["reason"] = reason
    if attempt_id is not None:
        values["attempt_id"] = attempt_id
    if state in (PreviewOfferState.EXPIRED, PreviewOfferState.WITHDRAWN):
        values["decided_at"] = now
    done = conn.execute(
        update(preview_offers)
        .where(
            t.id == offer_id,
            t.closed_at.is_(None),
            t.state.in_([s.value for s in from_states]),
        )
        .values(**values)
    )
    return done.rowcount == 1


def withdraw_open_offers(conn: Connection, campaign: str, now: datetime, reason: str) -> int:
    """Close every open offer of a campaign as withdrawn (a daemon taking the campaign over: the
    leads' claims are recovered separately). Returns how many."""
    t = preview_offers.c
    done = conn.execute(
        update(preview_offers)
        .where(t.campaign == campaign, t.closed_at.is_(None))
        .values(
            state=PreviewOfferState.WITHDRAWN.value, closed_at=now, decided_at=now, reason=reason
        )
    )
    return done.rowcount or 0


def list_offers(
    conn: Connection,
    *,
    campaign: str | None = None,
    seat_id: str | None = None,
    open_only: bool = True,
    limit: int = 200,
) -> list[RowMapping]:
    """Offers with what the agent's desktop shows of the lead (number, external id, fields),
    newest first; ``open_only``: those the daemon has not closed yet."""
    t = preview_offers.c
    lt = leads.c
    stmt = (
        select(
            t.id,
            t.campaign,
            t.seat_id,
            t.lead_id,
            t.state,
            t.offered_at,
            t.expires_at,
            t.decided_at,
            t.reason,
            t.attempt_id,
            t.closed_at,
            lt.phone_e164,
            lt.external_id,
            lt.custom_fields,
        )
        .join(leads, lt.id == t.lead_id)
        .order_by(t.id.desc())
        .limit(limit)
    )
    if campaign is not None:
        stmt = stmt.where(t.campaign == campaign)
    if seat_id is not None:
        stmt = stmt.where(t.seat_id == seat_id)
    if open_only:
        stmt = stmt.where(t.closed_at.is_(None))
    return list(conn.execute(stmt).mappings())


def seat_offer(conn: Connection, seat_id: str, now: datetime) -> RowMapping | None:
    """The seat's offer awaiting a decision (state ``offered``, not expired at ``now``), if any."""
    t = preview_offers.c
    return (
        conn.execute(
            select(preview_offers)
            .where(
                t.seat_id == seat_id,
                t.state == PreviewOfferState.OFFERED.value,
                t.closed_at.is_(None),
                t.expires_at > now,
            )
            .order_by(t.id.desc())
        )
        .mappings()
        .first()
    )
