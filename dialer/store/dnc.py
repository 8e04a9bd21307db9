"""Do-not-call lists: global (campaign NULL) and per campaign, checked again at dial time."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, or_, select

from dialer.store.dialect import insert_ignoring_duplicates
from dialer.store.schema import dnc_entries


def add_dnc(
    conn: Connection,
    numbers: Sequence[str],
    now: datetime,
    *,
    campaign: str | None = None,
    source: str | None = None,
    reason: str | None = None,
) -> int:
    """Add E.164 numbers to the global list (``campaign=None``) or a campaign's; numbers already
    on that list are left as they are. Returns how many were new."""
    rows = [
        {"phone_e164": n, "campaign": campaign, "source": source, "reason": reason, "added_at": now}
        for n in dict.fromkeys(numbers)
    ]
    added = 0
    for start in range(0, len(rows), 2000):
        added += insert_ignoring_duplicates(conn, dnc_entries, rows[start : start + 2000])
    return added


def remove_dnc(conn: Connection, number: str, *, campaign: str | None = None) -> int:
    """Take a number off one list (global when ``campaign`` is None). Returns rows removed."""
    t = dnc_entries.c
    cond = t.campaign.is_(None) if campaign is None else t.campaign == campaign
    return conn.execute(delete(dnc_entries).where(t.phone_e164 == number, cond)).rowcount or 0


def dnc_matches(conn: Connection, numbers: Iterable[str], campaign: str) -> set[str]:
    """Which of ``numbers`` are on the global list or on ``campaign``'s (dial-time check)."""
    wanted = list(dict.fromkeys(numbers))
    found: set[str] = set()
    t = dnc_entries.c
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        found.update(
            conn.execute(
                select(t.phone_e164).where(
                    t.phone_e164.in_(chunk), or_(t.campaign.is_(None), t.campaign == campaign)
                )
            ).scalars()
        )
    return found


def dnc_entries_for(conn: Connection, number: str) -> list[RowMapping]:
    """Every list entry for a number (global and per campaign)."""
    t = dnc_entries.c
    return list(
        conn.execute(select(dnc_entries).where(t.phone_e164 == number).order_by(t.id)).mappings()
    )
