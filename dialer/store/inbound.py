"""Inbound calls (callbacks to a caller-ID pool number): one ``inbound_calls`` row per call.

Written by the daemon: :func:`record_inbound_arrival` when the call comes in (with the binding
found, if any), :func:`record_inbound_route` once it is routed, :func:`finish_inbound_call` when
it ends. Outbound attempts stay in ``attempts``; the reports of outbound dialling are unaffected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from dialer.states import InboundOutcome, InboundRoute
from dialer.store.schema import inbound_calls


@dataclass(frozen=True, slots=True)
class InboundArrival:
    """A call that came in: who called which of our numbers, and what the binding said."""

    id: str  # the inbound channel's Uniqueid
    caller_number: str
    dialled_number: str
    arrived_at: datetime
    campaign: str | None = None
    lead_id: int | None = None
    binding_attempt_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundEnd:
    """How an inbound call ended, with its timings (seconds)."""

    outcome: InboundOutcome
    ended_at: datetime
    connected_at: datetime | None = None
    wait_s: float | None = None
    talk_s: float | None = None


def record_inbound_arrival(conn: Connection, arrival: InboundArrival) -> None:
    """Insert the call's row (idempotent: a second arrival with the same id changes nothing)."""
    exists = conn.execute(select(inbound_calls.c.id).where(inbound_calls.c.id == arrival.id))
    if exists.first() is not None:
        return
    conn.execute(insert(inbound_calls).values(**asdict(arrival)))


def record_inbound_route(
    conn: Connection, call_id: str, route: InboundRoute, seat_id: str | None
) -> bool:
    """Where the call was sent (``seat_id`` None for the closed path)."""
    done = conn.execute(
        update(inbound_calls)
        .where(inbound_calls.c.id == call_id)
        .values(route=InboundRoute(route).value, seat_id=seat_id)
    )
    return done.rowcount == 1


def finish_inbound_call(conn: Connection, call_id: str, end: InboundEnd) -> bool:
    """The call ended: outcome and timings. False if its row does not exist."""
    values = {k: v for k, v in asdict(end).items() if v is not None}
    values["outcome"] = InboundOutcome(end.outcome).value
    done = conn.execute(update(inbound_calls).where(inbound_calls.c.id == call_id).values(**values))
    return done.rowcount == 1


def get_inbound_call(conn: Connection, call_id: str) -> RowMapping | None:
    return (
        conn.execute(select(inbound_calls).where(inbound_calls.c.id == call_id)).mappings().first()
    )
