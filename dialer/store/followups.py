"""Callback bindings (AXB) and the CRM outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from dialer.store.dialect import upsert
from dialer.store.schema import attempts, callback_bindings, outbox


def bind_callback(
    conn: Connection,
    caller_id: str,
    called_number: str,
    campaign: str,
    now: datetime,
    expires_at: datetime,
    *,
    seat_id: str | None = None,
    lead_id: int | None = None,
    attempt_id: str | None = None,
) -> None:
    """Remember that ``called_number`` saw ``caller_id``: a call back reaches this campaign or
    seat until ``expires_at``. A newer call between the same two numbers replaces the binding."""
    upsert(
        conn,
        callback_bindings,
        {
            "caller_id": caller_id,
            "called_number": called_number,
            "campaign": campaign,
            "seat_id": seat_id,
            "lead_id": lead_id,
            "attempt_id": attempt_id,
            "created_at": now,
            "expires_at": expires_at,
        },
        key=["caller_id", "called_number"],
        update=["campaign", "seat_id", "lead_id", "attempt_id", "created_at", "expires_at"],
    )


def find_callback_binding(
    conn: Connection, caller_id: str, calling_number: str, now: datetime
) -> RowMapping | None:
    """The live binding for an inbound call from ``calling_number`` to our ``caller_id``."""
    t = callback_bindings.c
    return (
        conn.execute(
            select(callback_bindings).where(
                t.caller_id == caller_id, t.called_number == calling_number, t.expires_at > now
            )
        )
        .mappings()
        .first()
    )


@dataclass(frozen=True, slots=True)
class CallbackTarget:
    """Where a callback belongs: the bound campaign, lead, outbound attempt and its seat."""

    campaign: str
    lead_id: int | None
    attempt_id: str | None
    seat_id: str | None


def number_forms(number: str) -> list[str]:
    """Ways a number may be written in a binding: as given, and as E.164 (``+`` and digits)
    when Asterisk hands over only the digits (``12125550100`` for ``+12125550100``)."""
    text = number.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    forms = [text]
    if digits:
        forms += [f"+{digits}", digits]
    return list(dict.fromkeys(f for f in forms if f))


def find_callback(
    conn: Connection, dialled_number: str, caller_number: str, now: datetime
) -> CallbackTarget | None:
    """The live binding for a call from ``caller_number`` into our ``dialled_number`` (either
    written with or without ``+``), with the seat that took the bound attempt (the binding's own
    seat if set, else the attempt's)."""
    b, a = callback_bindings.c, attempts.c
    row = conn.execute(
        select(b.campaign, b.lead_id, b.attempt_id, b.seat_id, a.seat_id.label("attempt_seat"))
        .select_from(callback_bindings.outerjoin(attempts, a.id == b.attempt_id))
        .where(
            b.caller_id.in_(number_forms(dialled_number)),
            b.called_number.in_(number_forms(caller_number)),
            b.expires_at > now,
        )
        .order_by(b.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return CallbackTarget(
        campaign=row.campaign,
        lead_id=row.lead_id,
        attempt_id=row.attempt_id,
        seat_id=row.seat_id or row.attempt_seat,
    )


def add_outbox(
    conn: Connection,
    kind: str,
    now: datetime,
    *,
    campaign: str | None = None,
    lead_id: int | None = None,
    attempt_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> int:
    """Queue a follow-up request for the CRM; returns its id."""
    row = conn.execute(
        insert(outbox)
        .values(
            kind=kind,
            campaign=campaign,
            lead_id=lead_id,
            attempt_id=attempt_id,
            payload=payload,
            created_at=now,
        )
        .returning(outbox.c.id)
    ).first()
    assert row is not None
    return int(row.id)
