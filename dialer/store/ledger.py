"""The abandon ledger: the compliance record from which the rolling-window abandon rate is rebuilt
after a restart or a takeover (the math itself is pure: dialer.engine.compliance)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from dialer.states import LedgerKind
from dialer.store.dialect import insert_ignoring_duplicates
from dialer.store.schema import abandon_ledger


def record_abandon_ledger(
    conn: Connection,
    campaign: str,
    kind: LedgerKind,
    at: datetime,
    attempt_id: str | None = None,
) -> bool:
    """Record a live answer or an abandon. Recording the same (attempt, kind) twice is a no-op
    (returns False), so replays after a crash cannot inflate the counts."""
    row = {"campaign": campaign, "kind": LedgerKind(kind).value, "at": at, "attempt_id": attempt_id}
    added = insert_ignoring_duplicates(conn, abandon_ledger, [row])
    return added == 1


def load_abandon_window(
    conn: Connection, campaign: str, since: datetime
) -> list[tuple[datetime, LedgerKind]]:
    """The campaign's ledger since ``since`` (inclusive), oldest first."""
    t = abandon_ledger.c
    rows = conn.execute(
        select(t.at, t.kind).where(t.campaign == campaign, t.at >= since).order_by(t.at, t.id)
    ).all()
    return [(at, LedgerKind(kind)) for at, kind in rows]


def abandon_counts(conn: Connection, campaign: str, since: datetime) -> tuple[int, int]:
    """(live answers, abandons) of the campaign since ``since``."""
    t = abandon_ledger.c
    counts: dict[str, int] = dict(
        conn.execute(
            select(t.kind, func.count())
            .where(t.campaign == campaign, t.at >= since)
            .group_by(t.kind)
        ).all()
    )
    return counts.get(LedgerKind.LIVE_ANSWER.value, 0), counts.get(LedgerKind.ABANDON.value, 0)
