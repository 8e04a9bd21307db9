"""dialerctl db: schema migrations."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from dialer.cli.common import EXIT_RUNTIME, DbOption, JsonOption, emit_json, fail, out
from dialer.store import current_revision, head_revision, redact_url, resolve_url, upgrade

app = typer.Typer(help="Create or upgrade the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(db: DbOption = None) -> None:
    """Create the schema, or bring it up to this version's (safe to run again)."""
    url = resolve_url(db)
    try:
        before = current_revision(url)
        upgrade(url)
    except OperationalError as exc:
        fail(f"database {redact_url(url)}: {str(exc.orig or exc).splitlines()[0]}", EXIT_RUNTIME)
    head = head_revision()
    if before == head:
        out.print(f"{redact_url(url)}: schema already at {head}")
    else:
        out.print(f"{redact_url(url)}: schema upgraded from {before or 'empty'} to {head}")


@app.command("status")
def status_cmd(db: DbOption = None, json_: JsonOption = False) -> None:
    """Show the database's schema version and whether it is current."""
    url = resolve_url(db)
    try:
        current = current_revision(url)
    except OperationalError as exc:
        fail(f"database {redact_url(url)}: {str(exc.orig or exc).splitlines()[0]}", EXIT_RUNTIME)
    head = head_revision()
    if json_:
        emit_json(
            {
                "database": redact_url(url),
                "revision": current,
                "head": head,
                "current": current == head,
            }
        )
        return
    state = "up to date" if current == head else "needs `dialerctl db upgrade`"
    out.print(f"{redact_url(url)}: schema {current or 'none'} (newest {head}): {state}")
