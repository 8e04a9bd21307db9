"""dialerctl seats: add seats, log them in and out, pause them, list them."""

from __future__ import annotations

from typing import Annotated

import typer

from dialer.cli.common import (
    DbOption,
    JsonOption,
    database,
    emit_json,
    fail,
    out,
    rows_as_json,
    show_table,
    utcnow,
)
from dialer.states import SeatRequest
from dialer.store import queries as q

app = typer.Typer(help="Manage seats (agent positions).", no_args_is_help=True)
SeatArg = Annotated[str, typer.Argument(help="Seat id.", show_default=False, metavar="SEAT")]


@app.command("add")
def add_cmd(
    seat_id: SeatArg,
    endpoint: Annotated[
        str, typer.Option(help="Channel for the seat's phone, e.g. PJSIP/1001.", show_default=False)
    ],
    campaign: Annotated[str | None, typer.Option(help="Campaign the seat works.")] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    group: Annotated[str | None, typer.Option(help="Seat group.")] = None,
    inbound_group: Annotated[str | None, typer.Option(help="Inbound (callback) group.")] = None,
    db: DbOption = None,
) -> None:
    """Add a seat, or change an existing seat's endpoint, campaign, name or groups."""
    if "/" not in endpoint:
        fail(f"--endpoint {endpoint!r}: expected TECH/resource, e.g. PJSIP/1001")
    with database(db) as engine, engine.begin() as conn:
        q.upsert_seat(
            conn,
            seat_id,
            endpoint,
            campaign=campaign,
            name=name,
            seat_group=group,
            inbound_group=inbound_group,
            now=utcnow(),
        )
    out.print(f"seat {seat_id}: {endpoint}")


def _request(seat_id: str, wanted: SeatRequest, db: str | None, reason: str | None = None) -> None:
    with database(db) as engine, engine.begin() as conn:
        if not q.request_seat_state(conn, seat_id, wanted, utcnow(), pause_reason=reason):
            fail(f"no seat {seat_id!r} (add it with `dialerctl seats add`)")
    extra = f" ({reason})" if reason else ""
    out.print(f"seat {seat_id}: {wanted.value} requested{extra}")


@app.command("login")
def login_cmd(seat_id: SeatArg, db: DbOption = None) -> None:
    """Log a seat in: the daemon calls its phone into its bridge, then it takes calls."""
    _request(seat_id, SeatRequest.READY, db)


@app.command("ready")
def ready_cmd(seat_id: SeatArg, db: DbOption = None) -> None:
    """Make a paused seat ready for calls again."""
    _request(seat_id, SeatRequest.READY, db)


@app.command("pause")
def pause_cmd(
    seat_id: SeatArg,
    reason: Annotated[str | None, typer.Option(help="Why (break, training, ...).")] = None,
    db: DbOption = None,
) -> None:
    """Pause a seat: it gets no new calls (a call in progress finishes)."""
    _request(seat_id, SeatRequest.PAUSED, db, reason)


@app.command("logout")
def logout_cmd(seat_id: SeatArg, db: DbOption = None) -> None:
    """Log a seat out (after its current call, if any)."""
    _request(seat_id, SeatRequest.LOGGED_OUT, db)


@app.command("list")
def list_cmd(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's seats.")] = None,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """List seats with their requested and actual states."""
    with database(db) as engine, engine.connect() as conn:
        rows = q.list_seats(conn, campaign)
    if json_:
        emit_json(rows_as_json(rows))
        return
    show_table(
        "Seats",
        ["seat", "name", "campaign", "endpoint", "requested", "state", "since", "pause reason"],
        [
            (
                r["id"],
                r["name"],
                r["campaign"],
                r["endpoint"],
                r["requested_state"],
                r["state"],
                r["state_since"],
                r["pause_reason"],
            )
            for r in rows
        ],
    )
