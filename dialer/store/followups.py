"""Callback bindings (AXB) and the CRM outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select

from dialer.store.dialect import upsert
from dialer.store.schema import callback_bindings, outbox


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
