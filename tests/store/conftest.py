"""Store fixtures: a migrated database of each kind, and helpers to fill it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store.campaigns import apply_campaign
from dialer.store.schema import leads

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = make_engine(db_url)
    with eng.begin() as conn:
        apply_campaign(conn, "demo", DialMode.PREDICTIVE, {"name": "demo"}, NOW)
    yield eng
    eng.dispose()


def add_leads(engine: Engine, count: int, campaign: str = "demo", **overrides: object) -> list[int]:
    """Insert ``count`` checked, dialable leads; returns their ids."""
    rows = [
        {
            "campaign": campaign,
            "phone_e164": f"+1212555{i:04d}",
            "phone_raw": f"212555{i:04d}",
            "country": "US",
            "time_zone": "America/New_York",
            "validated_at": NOW,
            "created_at": NOW,
            "updated_at": NOW,
            **overrides,
        }
        for i in range(count)
    ]
    with engine.begin() as conn:
        result = conn.execute(insert(leads).returning(leads.c.id), rows)
        return sorted(result.scalars())
