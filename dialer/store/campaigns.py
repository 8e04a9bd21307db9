"""Campaign rows: the applied configuration, the desired state (operators, CRM) and the actual
state (the owning daemon)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from dialer.states import CampaignActualState, CampaignState, DialMode
from dialer.store.dialect import upsert
from dialer.store.errors import NotFound
from dialer.store.schema import campaigns


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a campaign's config: equal configs, equal hashes."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_campaign(
    conn: Connection, name: str, dial_mode: DialMode, config: dict[str, Any], now: datetime
) -> bool:
    """Create a campaign or replace its config (its desired and actual states stay).
    Returns True when something changed."""
    digest = config_hash(config)
    existing = get_campaign(conn, name)
    if existing is not None and existing["config_hash"] == digest:
        return False
    upsert(
        conn,
        campaigns,
        {
            "name": name,
            "dial_mode": DialMode(dial_mode).value,
            "config_json": config,
            "config_hash": digest,
            "applied_at": now,
            "created_at": now,
            "updated_at": now,
        },
        key=["name"],
        update=["dial_mode", "config_json", "config_hash", "applied_at", "updated_at"],
    )
    return True


def get_campaign(conn: Connection, name: str) -> RowMapping | None:
    return conn.execute(select(campaigns).where(campaigns.c.name == name)).mappings().first()


def list_campaigns(conn: Connection) -> list[RowMapping]:
    return list(conn.execute(select(campaigns).order_by(campaigns.c.name)).mappings())


def set_desired_state(conn: Connection, name: str, state: CampaignState, now: datetime) -> None:
    """Ask the owning daemon to run, pause or stop a campaign. NotFound if there is none."""
    result = conn.execute(
        update(campaigns)
        .where(campaigns.c.name == name)
        .values(desired_state=CampaignState(state).value, updated_at=now)
    )
    if result.rowcount != 1:
        raise NotFound(f"no campaign named {name!r}")


def set_actual_state(
    conn: Connection,
    name: str,
    state: CampaignActualState,
    now: datetime,
    *,
    reason: str | None = None,
) -> None:
    """The owning daemon reports what it is doing with the campaign."""
    result = conn.execute(
        update(campaigns)
        .where(campaigns.c.name == name)
        .values(
            actual_state=CampaignActualState(state).value,
            actual_state_reason=reason,
            actual_state_at=now,
        )
    )
    if result.rowcount != 1:
        raise NotFound(f"no campaign named {name!r}")
