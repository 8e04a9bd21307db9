"""Seats: declared by config or dialerctl, asked for a state by agents / operators / the CRM
(``requested_state``), with their actual ``state`` reported by the daemon."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, select, update

from dialer.states import SeatRequest, SeatState
from dialer.store.dialect import upsert
from dialer.store.schema import seats


def upsert_seat(
    conn: Connection,
    seat_id: str,
    endpoint: str,
    *,
    campaign: str | None = None,
    name: str | None = None,
    seat_group: str | None = None,
    inbound_group: str | None = None,
    now: datetime,
) -> None:
    """Create a seat or update its declaration (its states are left alone)."""
    upsert(
        conn,
        seats,
        {
            "id": seat_id,
            "endpoint": endpoint,
            "campaign": campaign,
            "name": name,
            "seat_group": seat_group,
            "inbound_group": inbound_group,
            "created_at": now,
        },
        key=["id"],
        update=["endpoint", "campaign", "name", "seat_group", "inbound_group"],
    )


def request_seat_state(
    conn: Connection,
    seat_id: str,
    requested: SeatRequest,
    now: datetime,
    *,
    pause_reason: str | None = None,
) -> bool:
    """Ask a seat to log in (ready), pause (with a reason) or log out. False if no such seat."""
    requested = SeatRequest(requested)
    result = conn.execute(
        update(seats)
        .where(seats.c.id == seat_id)
        .values(
            requested_state=requested.value,
            pause_reason=pause_reason if requested is SeatRequest.PAUSED else None,
            requested_at=now,
        )
    )
    return result.rowcount == 1


def set_seat_state(conn: Connection, seat_id: str, state: SeatState, now: datetime) -> bool:
    """The daemon reports a seat's actual state (``state_since`` moves only on a change)."""
    state = SeatState(state)
    t = seats.c
    result = conn.execute(
        update(seats)
        .where(t.id == seat_id, t.state != state.value)
        .values(state=state.value, state_since=now)
    )
    return result.rowcount == 1


def list_seats(conn: Connection, campaign: str | None = None) -> list[RowMapping]:
    t = seats.c
    stmt = select(seats).order_by(t.id)
    if campaign is not None:
        stmt = stmt.where(t.campaign == campaign)
    return list(conn.execute(stmt).mappings())


def seat_state_counts(conn: Connection, campaign: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in list_seats(conn, campaign):
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts
