"""dialerctl dnc: do-not-call lists (global, or per campaign with --campaign)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

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
from dialer.store import queries as q
from dialer.store.phones import LeadProblem, normalize_number

app = typer.Typer(help="Manage do-not-call lists.", no_args_is_help=True)

CampaignOpt = Annotated[
    str | None, typer.Option(help="The campaign's own list (default: the global list).")
]
CountryOpt = Annotated[
    str | None, typer.Option(help="Country (ISO code) of numbers without a leading +.")
]


def _e164(raw: str, country: str | None, where: str = "") -> str:
    try:
        return normalize_number(raw, country)
    except LeadProblem as exc:
        fail(f"{where}{exc}")


@app.command("add")
def add_cmd(
    numbers: Annotated[list[str], typer.Argument(help="Numbers to add.", show_default=False)],
    campaign: CampaignOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept with the entry).")] = None,
    default_country: CountryOpt = None,
    db: DbOption = None,
) -> None:
    """Add numbers to the global DNC list, or to a campaign's with --campaign."""
    normalized = [_e164(n, default_country) for n in numbers]
    with database(db) as engine, engine.begin() as conn:
        added = q.add_dnc(
            conn, normalized, utcnow(), campaign=campaign, source="dialerctl", reason=reason
        )
    where = f"campaign {campaign}" if campaign else "the global list"
    out.print(f"{added} number(s) added to {where} ({len(normalized) - added} already there)")


@app.command("import")
def import_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or text file: one number per line (first column).", show_default=False
        ),
    ],
    campaign: CampaignOpt = None,
    reason: Annotated[str | None, typer.Option(help="Why (kept with every entry).")] = None,
    default_country: CountryOpt = None,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Import a DNC list. The whole file is checked first: any bad number (reported with its
    line) and nothing is added."""
    if not file.is_file():
        fail(f"{file}: no such file")
    numbers: list[str] = []
    problems: list[str] = []
    with file.open(newline="", encoding="utf-8-sig") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            cell = row[0].strip() if row else ""
            if not cell or cell.startswith("#"):
                continue
            try:
                numbers.append(normalize_number(cell, default_country))
            except LeadProblem as exc:
                if line_no == 1 and not any(ch.isdigit() for ch in cell):
                    continue  # a header line
                problems.append(f"{file}:{line_no}: {exc}")
    if problems:
        for problem in problems[:50]:
            err.print(problem, highlight=False)
        more = " (first 50 shown)" if len(problems) > 50 else ""
        fail(f"{len(problems)} bad number(s) in {file}{more}; nothing was added")
    with database(db) as engine, engine.begin() as conn:
        added = q.add_dnc(
            conn, numbers, utcnow(), campaign=campaign, source=f"import:{file.name}", reason=reason
        )
    if json_:
        emit_json({"numbers": len(numbers), "added": added, "campaign": campaign})
        return
    where = f"campaign {campaign}" if campaign else "the global list"
    out.print(f"{file}: {len(numbers)} number(s), {added} added to {where}")


@app.command("check")
def check_cmd(
    number: Annotated[str, typer.Argument(help="Number to look up.", show_default=False)],
    default_country: CountryOpt = None,
    db: DbOption = None,
    json_: JsonOption = False,
) -> None:
    """Show every DNC list a number is on (exit code 0 either way)."""
    e164 = _e164(number, default_country)
    with database(db) as engine, engine.connect() as conn:
        rows = q.dnc_entries_for(conn, e164)
    if json_:
        emit_json({"number": e164, "listed": bool(rows), "entries": rows_as_json(rows)})
        return
    if not rows:
        out.print(f"{e164}: not on any DNC list")
        return
    show_table(
        f"DNC entries for {e164}",
        ["list", "source", "reason", "added"],
        [(r["campaign"] or "global", r["source"], r["reason"], r["added_at"]) for r in rows],
    )


@app.command("remove")
def remove_cmd(
    number: Annotated[str, typer.Argument(help="Number to take off.", show_default=False)],
    campaign: CampaignOpt = None,
    default_country: CountryOpt = None,
    db: DbOption = None,
) -> None:
    """Take a number off the global list, or off a campaign's with --campaign."""
    e164 = _e164(number, default_country)
    with database(db) as engine, engine.begin() as conn:
        removed = q.remove_dnc(conn, e164, campaign=campaign)
    where = f"campaign {campaign}'s list" if campaign else "the global list"
    if not removed:
        fail(f"{e164} is not on {where}")
    out.print(f"{e164}: removed from {where}")
