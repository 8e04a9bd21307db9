"""dialerctl attempts: show an attempt, record its disposition (what the CRM does in SQL)."""

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
from dialer.store.attempts import get_attempt
from dialer.store.dispositions import BadDisposition, dispose_attempt

app = typer.Typer(help="Attempts: show one, record its disposition.", no_args_is_help=True)
AttemptArg = Annotated[
    str, typer.Argument(help="Attempt id.", show_default=False, metavar="ATTEMPT")
]

_SHOWN = (
    "id", "campaign", "lead_id", "phone_e164", "caller_id", "seat_id", "state", "outcome",
    "placed_at", "answered_at", "amd_result", "ivr_result", "handover_at", "connected_at",
    "ended_at", "ring_s", "wait_s", "talk_s", "wrapup_s", "disposition", "disposed_at",
)  # fmt: skip


@app.command("dispose")
def dispose_cmd(
    attempt_id: AttemptArg,
    code: Annotated[str, typer.Argument(help="Disposition, e.g. sale.", metavar="CODE")],
    db: DbOption = None,
) -> None:
    """Record the agent's disposition of an attempt (a seat waiting for it leaves wrap-up)."""
    try:
        with database(db) as engine, engine.begin() as conn:
            found = dispose_attempt(conn, attempt_id, code, utcnow())
    except BadDisposition as exc:
        fail(f"CODE: {exc}")
    if not found:
        fail(f"no attempt {attempt_id!r}")
    out.print(f"attempt {attempt_id}: disposition {code.strip()!r}")


@app.command("show")
def show_cmd(attempt_id: AttemptArg, db: DbOption = None, json_: JsonOption = False) -> None:
    """One attempt with its timings, outcome and disposition."""
    with database(db) as engine, engine.connect() as conn:
        row = get_attempt(conn, attempt_id)
    if row is None:
        fail(f"no attempt {attempt_id!r}")
    if json_:
        emit_json(rows_as_json([row])[0])
        return
    show_table(f"Attempt {attempt_id}", ["field", "value"], [(k, row.get(k)) for k in _SHOWN])
