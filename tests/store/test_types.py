"""Timestamps are UTC in, UTC out, on both databases; naive ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import StatementError

from dialer.store.schema import leads
from tests.store.conftest import add_leads


def test_aware_times_come_back_in_utc(engine: Engine) -> None:
    (lead_id,) = add_leads(engine, 1)
    paris = timezone(timedelta(hours=1))
    with engine.begin() as conn:
        conn.execute(
            update(leads)
            .where(leads.c.id == lead_id)
            .values(next_call_at=datetime(2026, 3, 2, 9, 30, 15, 250000, tzinfo=paris))
        )
        got = conn.execute(select(leads.c.next_call_at).where(leads.c.id == lead_id)).scalar_one()
    assert got == datetime(2026, 3, 2, 8, 30, 15, 250000, tzinfo=UTC)
    assert got.utcoffset() == timedelta(0)


def test_naive_times_are_refused(engine: Engine) -> None:
    (lead_id,) = add_leads(engine, 1)
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(
            update(leads).where(leads.c.id == lead_id).values(next_call_at=datetime(2026, 3, 2))
        )
