"""Campaign ownership: one daemon at a time per campaign, through a lease with heartbeats.

Every operation is a single conditional statement judged against the *database's* clock, so two
daemons with skewed clocks still agree on who owns a campaign. ``token`` grows by one at every
takeover and is the fencing token: writes that start new calls carry it (see
``lease_is_held``), so a daemon that lost its lease, even one paused for a minute by the OS, cannot
claim leads or create attempts once another has taken over. Stop dialling as soon as a renewal
returns False.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from dialer.store.dialect import db_now
from dialer.store.schema import campaign_leases


@dataclass(frozen=True, slots=True)
class Lease:
    campaign: str
    owner: str
    token: int
    expires_at: datetime


def take_lease(conn: Connection, campaign: str, owner: str, ttl_s: float) -> Lease | None:
    """Take the campaign's lease if it is free, expired, or already ``owner``'s; None otherwise.

    A successful take always issues a new token (the previous one is fenced off)."""
    now = db_now(conn)
    expires = db_now(conn, ttl_s)
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(campaign_leases).values(
        campaign=campaign, owner=owner, token=1, acquired_at=now, renewed_at=now, expires_at=expires
    )
    t = campaign_leases.c
    upsert = stmt.on_conflict_do_update(
        index_elements=[t.campaign],
        set_={
            "owner": owner,
            "token": t.token + 1,
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": expires,
        },
        where=(t.expires_at <= now) | (t.owner == owner),
    ).returning(t.campaign, t.owner, t.token, t.expires_at)
    row = conn.execute(upsert).first()
    if row is None:
        return None
    return Lease(row.campaign, row.owner, row.token, row.expires_at)


def renew_lease(conn: Connection, lease: Lease, ttl_s: float) -> Lease | None:
    """Extend a lease still held; None when it was lost (expired and taken, or released)."""
    t = campaign_leases.c
    row = conn.execute(
        update(campaign_leases)
        .where(
            t.campaign == lease.campaign,
            t.owner == lease.owner,
            t.token == lease.token,
            t.expires_at > db_now(conn),
        )
        .values(renewed_at=db_now(conn), expires_at=db_now(conn, ttl_s))
        .returning(t.expires_at)
    ).first()
    if row is None:
        return None
    return Lease(lease.campaign, lease.owner, lease.token, row.expires_at)


def release_lease(conn: Connection, lease: Lease) -> bool:
    """Give the campaign up at once (graceful shutdown) so another daemon can take it."""
    t = campaign_leases.c
    result = conn.execute(
        update(campaign_leases)
        .where(t.campaign == lease.campaign, t.owner == lease.owner, t.token == lease.token)
        .values(expires_at=db_now(conn))
    )
    return result.rowcount == 1


def lease_is_held(conn: Connection, campaign: str, token: int) -> ColumnElement[bool]:
    """SQL condition: the campaign's lease is currently held with ``token`` (for fenced writes)."""
    t = campaign_leases.c
    return exists().where(
        and_(t.campaign == campaign, t.token == token, t.expires_at > db_now(conn))
    )


def current_lease(conn: Connection, campaign: str) -> Lease | None:
    """The lease row of a campaign (possibly expired), for status displays."""
    t = campaign_leases.c
    row = conn.execute(
        select(t.campaign, t.owner, t.token, t.expires_at).where(t.campaign == campaign)
    ).first()
    if row is None:
        return None
    return Lease(row.campaign, row.owner, row.token, row.expires_at)
