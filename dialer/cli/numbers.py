"""dialerctl numbers: the caller-ID (middle-number) pool."""

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
from dialer.states import CallerIdState
from dialer.store import queries as q
from dialer.store.apply_config import number_region
from dialer.store.phones import LeadProblem, normalize_number

app = typer.Typer(
    help="Manage the caller-ID pool (numbers shown to called parties).", no_args_is_help=True
)
NumberArg = Annotated[str, typer.Argument(help="Number, E.164 (+12125550100).", show_default=False)]


def _e164(raw: str) -> str:
    try:
        return normalize_number(raw)
    except LeadProblem as exc:
        fail(str(exc))


@app.command("add")
def add_cmd(
    numbers: Annotated[list[str], typer.Argument(help="Numbers, E.164.", show_default=False)],
    pool: Annotated[str, typer.Option(help="Pool the numbers belong to.", show_default=False)],
    campaign: Annotated[str | None, typer.Option(help="Campaign using the pool.")] = None,
    db: DbOption = None,
) -> None:
    """Add numbers to a pool (or move them to it). Region and area code come from the number."""
    normalized = [_e164(n) for n in numbers]
    now = utcnow()
    with database(db) as engine, engine.begin() as conn:
        for number in normalized:
            region, area = number_region(number)
            q.upsert_caller_id(
                conn, number, pool, now, campaign=campaign, region=region, area_code=area
            )
    out.print(f"{len(normalized)} number(s) in pool {pool}")


def _set(number: str, state: CallerIdState, reason: str | None, db: str | None) -> None:
    e164 = _e164(number)
    with database(db) as engine, engine.begin() as conn:
        if not q.set_caller_id_state(conn, e164, state, utcnow(), reason=reason):
            fail(f"{e164} is not in any caller-ID pool")
    out.print(f"{e164}: {state.value}")


@app.command("retire")
def retire_cmd(
    number: NumberArg,
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    db: DbOption = None,
) -> None:
    """Stop showing a number (kept for history and callbacks)."""
    _set(number, CallerIdState.RETIRED, reason, db)


@app.command("activate")
def activate_cmd(number: NumberArg, db: DbOption = None) -> None:
    """Put a retired or quarantined number back into rotation."""
    _set(number, CallerIdState.ACTIVE, None, db)


@app.command("list")
def list_cmd(
    pool: Annotated[str | None, typer.Option(help="Only this pool.")] = None,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """List caller IDs with their state and usage: calls today and in total, answer rate."""
    with database(db) as engine, engine.connect() as conn:
        rows = q.list_caller_ids(conn, pool)
    if json_:
        emit_json(rows_as_json(rows))
        return
    today = utcnow().date()
    show_table(
        "Caller IDs",
        [
            "number",
            "pool",
            "region",
            "area",
            "state",
            "today",
            "total",
            "answered",
            "answer %",
            "last used",
            "note",
        ],
        [
            (
                r["number"],
                r["pool"],
                r["region"],
                r["area_code"],
                r["state"],
                r["calls_today"] if r["calls_day"] == today else 0,
                r["calls_total"],
                r["answers_total"],
                f"{r['answers_total'] / r['calls_total']:.1%}" if r["calls_total"] else None,
                r["last_used_at"],
                r["quarantine_reason"],
            )
            for r in rows
        ],
    )
