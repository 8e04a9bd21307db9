"""Read the reports' inputs from the database (SQLAlchemy Core, parameterized, both databases)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import Connection, select

from dialer.config.models import CampaignConfig
from dialer.reports.records import AttemptRecord, Period
from dialer.store.errors import NotFound
from dialer.store.schema import Attempt, Seat, campaigns

_ATTEMPT_COLUMNS = (
    "id", "campaign", "placed_at", "outcome", "seat_id", "answered_at", "amd_result",
    "connected_at", "ended_at", "ring_s", "wait_s", "talk_s", "hold_s", "wrapup_s", "transferred",
    "ivr_result",
)  # fmt: skip


def load_attempts(
    conn: Connection, period: Period, campaign: str | None = None
) -> list[AttemptRecord]:
    """Attempts placed in ``period`` (optionally one campaign's), oldest first."""
    table = Attempt.__table__
    query = (
        select(*(table.c[name] for name in _ATTEMPT_COLUMNS))
        .where(table.c.placed_at >= period.start, table.c.placed_at < period.end)
        .order_by(table.c.placed_at, table.c.id)
    )
    if campaign is not None:
        query = query.where(table.c.campaign == campaign)
    return [AttemptRecord.from_row(row) for row in conn.execute(query).mappings()]


def load_seat_names(conn: Connection, campaign: str | None = None) -> dict[str, str | None]:
    """Seat id → display name, for every seat (or the campaign's seats)."""
    table = Seat.__table__
    query = select(table.c.id, table.c.name)
    if campaign is not None:
        query = query.where(table.c.campaign == campaign)
    return {row.id: row.name for row in conn.execute(query)}


class StoredConfigError(ValueError):
    """A campaign's stored configuration no longer validates; the message names the campaign
    and the problem."""


def campaign_config(name: str, stored: object) -> CampaignConfig:
    """The configuration ``campaign apply`` stored for campaign ``name``, validated again."""
    data = dict(stored) if isinstance(stored, dict) else {}
    data["name"] = name
    try:
        return CampaignConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise StoredConfigError(
            f"campaign {name}: the configuration stored by 'campaign apply' does not validate "
            f"({problems}); apply campaigns.yaml again"
        ) from None


def load_campaign_config(conn: Connection, name: str) -> CampaignConfig:
    """One campaign's stored configuration; ``NotFound`` when there is no such campaign."""
    row = conn.execute(select(campaigns.c.config_json).where(campaigns.c.name == name)).first()
    if row is None:
        raise NotFound(f"no campaign named {name!r}")
    return campaign_config(name, row.config_json)
