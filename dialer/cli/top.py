"""dialerctl top: a live view of campaigns and seats for the floor.

Reads the same figures as ``dialerctl campaign status`` (one query set per frame, read only)
plus every seat with its state and how long it has been in it, and redraws them every
``--interval`` seconds until Ctrl-C. ``--once`` draws one frame; ``--json`` prints one frame
as JSON, for scripts.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection, Engine

from dialer.cli.campaign import NO_CAMPAIGNS, STATUS_COLUMNS, campaign_statuses, status_row
from dialer.cli.common import DbOption, JsonOption, database, emit_json, fail, out, utcnow
from dialer.store import queries as q
from dialer.store.errors import NotFound

SEAT_COLUMNS = ("seat", "name", "campaign", "state", "in state", "requested", "pause reason")


def pause(seconds: float) -> None:
    """Wait between frames (a seam so tests can stand in for Ctrl-C)."""
    time.sleep(seconds)


def snapshot(conn: Connection, campaign: str | None, now: datetime) -> dict[str, Any]:
    """One frame's data: campaign statuses and seats (of ``campaign``, else all of them).

    Raises NotFound for an unknown campaign.
    """
    seats = []
    for row in q.list_seats(conn, campaign):
        since = row["state_since"]
        seats.append(
            {
                "id": row["id"],
                "name": row["name"],
                "campaign": row["campaign"],
                "state": row["state"],
                "state_since": since,
                "seconds_in_state": max(0.0, (now - since).total_seconds()) if since else None,
                "requested_state": row["requested_state"],
                "pause_reason": row["pause_reason"],
            }
        )
    return {"at": now, "campaigns": campaign_statuses(conn, campaign, now), "seats": seats}


def duration_text(seconds: float | None) -> str:
    """Time in state as an operator reads it: 45s, 3m05s, 1h02m03s, 2d04h."""
    if seconds is None:
        return "-"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("-" if v is None else str(v) for v in row))
    return table


def render(frame: dict[str, Any], footer: str) -> RenderableType:
    """The two tables (campaigns, seats) under a one-line header."""
    now: datetime = frame["at"]
    header = Text(f"dialerctl top  {now:%Y-%m-%d %H:%M:%S} UTC  {footer}".rstrip(), style="bold")
    campaigns: RenderableType = (
        _table("Campaigns", STATUS_COLUMNS, [status_row(s) for s in frame["campaigns"]])
        if frame["campaigns"]
        else Text(NO_CAMPAIGNS)
    )
    seat_rows = [
        (
            s["id"],
            s["name"],
            s["campaign"],
            s["state"],
            duration_text(s["seconds_in_state"]),
            s["requested_state"],
            s["pause_reason"],
        )
        for s in frame["seats"]
    ]
    seats: RenderableType = (
        _table("Seats", SEAT_COLUMNS, seat_rows) if seat_rows else Text("no seats")
    )
    return Group(header, campaigns, seats)


def _read(engine: Engine, campaign: str | None) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            return snapshot(conn, campaign, utcnow())
    except NotFound as exc:
        fail(str(exc))


def top_cmd(
    db: DbOption = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes.")] = 2.0,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign and its seats.")
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="Print one frame and exit.")] = False,
    json_: JsonOption = False,
) -> None:
    """Campaigns and seats, live: state, leads, dials, abandon rate vs cap, seat states.

    Refreshes every --interval seconds until Ctrl-C. --once prints one frame; --json prints
    one frame as JSON.
    """
    if not math.isfinite(interval) or interval <= 0:
        fail(f"--interval {interval}: expected a number of seconds greater than 0")
    with database(db) as engine:
        frame = _read(engine, campaign)
        if json_:
            emit_json(frame)
            return
        if once:
            out.print(render(frame, ""))
            return
        footer = f"every {interval:g}s, Ctrl-C to quit"
        try:
            with Live(render(frame, footer), console=out, auto_refresh=False) as live:
                while True:
                    pause(interval)
                    live.update(render(_read(engine, campaign), footer), refresh=True)
        except KeyboardInterrupt:
            return
