"""dialerctl leads: import CSV lists, look at leads and at rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from dialer.cli.common import (
    DbOption,
    JsonOption,
    database,
    emit_json,
    err,
    fail,
    out,
    rows_as_json,
    show_table,
    utcnow,
)
from dialer.states import LeadStatus
from dialer.store.errors import NotFound
from dialer.store.lead_import import ImportFormatError, count_data_rows, import_leads_csv
from dialer.store.phones import LeadProblem
from dialer.store.schema import lead_rejects, leads

app = typer.Typer(help="Import and inspect lead lists.", no_args_is_help=True)


@app.command("import")
def import_cmd(
    campaign: Annotated[
        str, typer.Argument(help="Campaign to add the leads to.", metavar="CAMPAIGN")
    ],
    file: Annotated[
        Path, typer.Argument(help="CSV file with a header line and a phone column.", metavar="FILE")
    ],
    default_country: Annotated[
        str | None,
        typer.Option(help="Country (ISO code, e.g. US) of numbers written without a leading +."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows (default: FILE.rejects.csv)."),
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, max=50_000, help="Rows per insert.")] = 2000,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a CSV list of leads into a campaign.

    Columns: phone (or phone_number, number), and optionally country, time_zone, priority,
    external_id; any other column is kept in the lead's custom fields. Each rejected row (invalid
    number, unknown country, empty phone, duplicate, bad priority...) is reported with its line
    number and reason, in the database (lead_rejects) and in a rejects CSV.
    """
    if not file.is_file():
        fail(f"{file}: no such file")
    total = count_data_rows(file)
    with (
        database(db) as engine,
        Progress(
            TextColumn("importing {task.fields[name]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=json_ or not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("import", total=total, name=file.name)
        try:
            summary = import_leads_csv(
                engine,
                campaign,
                file,
                default_country=default_country,
                rejects_path=rejects,
                chunk_size=chunk_size,
                now=utcnow(),
                progress=lambda done: progress.update(task, completed=done),
            )
        except (NotFound, ImportFormatError) as exc:
            fail(str(exc))
        except LeadProblem as exc:
            fail(f"--default-country: {exc}")
    if json_:
        emit_json(summary.as_dict())
        return
    out.print(
        f"{file}: {summary.rows} row(s): [green]{summary.imported} imported[/], "
        f"[{'red' if summary.rejected else 'green'}]{summary.rejected} rejected[/] "
        f"in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s)",
        markup=True,
    )
    if summary.on_dnc:
        out.print(f"{summary.on_dnc} imported number(s) are on a DNC list and will not be dialled")
    if summary.rejected:
        show_table(
            "Rejected rows by reason",
            ["reason", "rows"],
            sorted(summary.reasons.items(), key=lambda kv: -kv[1]),
        )
        out.print(f"rejected rows with line numbers and reasons: {summary.rejects_csv}")


@app.command("list")
def list_cmd(
    campaign: Annotated[str, typer.Argument(help="Campaign.")],
    status: Annotated[LeadStatus | None, typer.Option(help="Only leads with this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many leads.")] = 50,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """List a campaign's leads (best first: callbacks, retries, fresh; then priority)."""
    t = leads.c
    stmt = select(leads).where(t.campaign == campaign)
    if status is not None:
        stmt = stmt.where(t.status == status.value)
    stmt = stmt.order_by(t.priority.desc(), t.id).limit(limit)
    with database(db) as engine, engine.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
    if json_:
        emit_json(rows_as_json(rows))
        return
    show_table(
        f"Leads of {campaign}",
        ["id", "phone", "status", "priority", "tries", "next call (UTC)", "last outcome", "zone"],
        [
            (
                r["id"],
                r["phone_e164"] or r["phone_raw"],
                r["status"],
                r["priority"],
                r["attempts_total"],
                r["next_call_at"],
                r["last_outcome"],
                _short_zone(r["time_zone"]),
            )
            for r in rows
        ],
    )


def _short_zone(zones: str | None) -> str | None:
    if zones is None:
        return None
    parts = zones.split(",")
    return parts[0] if len(parts) == 1 else f"{parts[0]} +{len(parts) - 1}"


@app.command("rejects")
def rejects_cmd(
    campaign: Annotated[str, typer.Argument(help="Campaign.")],
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Show rows rejected at import or leads the CRM inserted that the dialer refused."""
    t = lead_rejects.c
    stmt = select(lead_rejects).where(t.campaign == campaign).order_by(t.id.desc()).limit(limit)
    with database(db) as engine, engine.connect() as conn:
        rows = list(conn.execute(stmt).mappings())
    if json_:
        emit_json(rows_as_json(rows))
        return
    show_table(
        f"Rejected leads of {campaign}",
        ["source", "reason", "at"],
        [(r["source"], r["reason"], r["created_at"]) for r in rows],
    )
