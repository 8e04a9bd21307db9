"""The caller-ID (middle-number) pool as stored: numbers, their state and usage counters.
Choosing a number is pure (dialer.engine.numbers); counters move in create/finish_attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, select, update

from dialer.states import CallerIdState
from dialer.store.dialect import upsert
from dialer.store.schema import caller_ids


def upsert_caller_id(
    conn: Connection,
    number: str,
    pool: str,
    now: datetime,
    *,
    campaign: str | None = None,
    region: str | None = None,
    area_code: str | None = None,
) -> None:
    """Add a number to a pool, or update its pool / region (its state and counters stay)."""
    upsert(
        conn,
        caller_ids,
        {
            "number": number,
            "pool": pool,
            "campaign": campaign,
            "region": region,
            "area_code": area_code,
            "added_at": now,
        },
        key=["number"],
        update=["pool", "campaign", "region", "area_code"],
    )


def set_caller_id_state(
    conn: Connection,
    number: str,
    state: CallerIdState,
    now: datetime,
    *,
    reason: str | None = None,
) -> bool:
    """Retire, quarantine or reactivate a number. False if it is not in any pool."""
    state = CallerIdState(state)
    values: dict[str, object] = {"state": state.value}
    if state is CallerIdState.RETIRED:
        values["retired_at"] = now
    elif state is CallerIdState.QUARANTINED:
        values.update(quarantined_at=now, quarantine_reason=reason)
    else:
        values.update(quarantine_reason=None, quarantined_at=None, retired_at=None)
    result = conn.execute(
        update(caller_ids).where(caller_ids.c.number == number).values(**values)
    )
    return result.rowcount == 1


def list_caller_ids(conn: Connection, pool: str | None = None) -> list[RowMapping]:
    t = caller_ids.c
    stmt = select(caller_ids).order_by(t.pool, t.number)
    if pool is not None:
        stmt = stmt.where(t.pool == pool)
    return list(conn.execute(stmt).mappings())
