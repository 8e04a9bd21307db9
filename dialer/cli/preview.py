"""dialerctl preview: the agent's side of preview dialling (desktops without a CRM, tests).

    dialerctl preview list [--campaign C] [--seat S] [--all] [--json]
    dialerctl preview accept (OFFER | --seat S)
    dialerctl preview skip   (OFFER | --seat S) [--reason TEXT]

``accept`` and ``skip`` act on an offer still ``offered`` and not expired (exit 2 otherwise, with
its state); the daemon then places the call for the seat, or gives the lead back.
"""

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
from dialer.store.errors import NotFound
from dialer.store.preview import OfferNotOpen, decide_offer, list_offers, seat_offer

app = typer.Typer(
    help="Preview dialling: list the leads offered to seats, accept (dial) or skip them.",
    no_args_is_help=True,
)
OfferArg = Annotated[
    int | None,
    typer.Argument(help="Offer id (see `preview list`).", show_default=False, metavar="OFFER"),
]
SeatOption = Annotated[
    str | None,
    typer.Option(
        "--seat", help="The seat's pending offer instead of an offer id.", show_default=False
    ),
]


@app.command("list")
def list_cmd(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign's offers.")] = None,
    seat: Annotated[str | None, typer.Option(help="Only this seat's offers.")] = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Closed offers too (newest first, at most 200).")
    ] = False,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Offers waiting for a decision or for the daemon (with --all: every recent offer)."""
    with database(db) as engine, engine.connect() as conn:
        rows = list_offers(conn, campaign=campaign, seat_id=seat, open_only=not show_all)
    if json_:
        emit_json(rows_as_json(rows))
        return
    show_table(
        "Preview offers",
        [
            "offer",
            "campaign",
            "seat",
            "lead",
            "number",
            "external id",
            "state",
            "offered",
            "expires",
            "attempt",
            "reason",
        ],
        [
            (
                r["id"],
                r["campaign"],
                r["seat_id"],
                r["lead_id"],
                r["phone_e164"],
                r["external_id"],
                r["state"],
                r["offered_at"],
                r["expires_at"],
                r["attempt_id"],
                r["reason"],
            )
            for r in rows
        ],
    )


def _decide(
    offer_id: int | None, seat: str | None, accept: bool, reason: str | None, db: str | None
) -> None:
    if (offer_id is None) == (seat is None):
        fail("give an offer id or --seat SEAT (one of them)")
    now = utcnow()
    with database(db) as engine, engine.begin() as conn:
        if offer_id is None:
            assert seat is not None
            pending = seat_offer(conn, seat, now)
            if pending is None:
                fail(f"seat {seat!r} has no offer waiting for a decision")
            offer_id = int(pending["id"])
        try:
            decide_offer(conn, offer_id, accept, now, reason=reason)
        except NotFound as exc:
            fail(str(exc))
        except OfferNotOpen as exc:
            fail(str(exc))
    verb = "accepted: the call is placed for its seat" if accept else "skipped: the lead goes back"
    out.print(f"offer {offer_id} {verb}")


@app.command("accept")
def accept_cmd(offer_id: OfferArg = None, seat: SeatOption = None, db: DbOption = None) -> None:
    """Accept an offer: the daemon dials the lead for the offering seat."""
    _decide(offer_id, seat, True, None, db)


@app.command("skip")
def skip_cmd(
    offer_id: OfferArg = None,
    seat: SeatOption = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept on the offer).")] = None,
    db: DbOption = None,
) -> None:
    """Skip an offer: the lead is released (offered again after preview.skip_retry_s)."""
    _decide(offer_id, seat, False, reason, db)
