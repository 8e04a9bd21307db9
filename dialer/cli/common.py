"""What every dialerctl command shares: the database option, output (tables or --json), errors.

Exit codes: 0 ok, 1 runtime failure (database unreachable, schema missing), 2 bad usage or input.
Messages go to stderr; tables and JSON to stdout, so ``dialerctl ... --json | jq`` works.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dialer.store import current_revision, head_revision, make_engine, redact_url, resolve_url

EXIT_RUNTIME = 1
EXIT_USAGE = 2

# Piped output is not cut at 80 columns: scripts and logs get whole tables.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (else $DIALER_DATABASE_URL, else sqlite:///./dialer.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print an error and exit: code 2 for bad input (default), 1 for runtime failures."""
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def database(url: str | None, *, check_schema: bool = True) -> Iterator[Engine]:
    """An engine for the command; database trouble becomes a clear message and exit code 1."""
    resolved = resolve_url(url)
    shown = redact_url(resolved)
    try:
        parsed = make_url(resolved)
    except (SQLAlchemyError, ValueError) as exc:
        fail(f"bad database URL {shown!r}: {exc}")
    sqlite_file = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if sqlite_file and not Path(str(parsed.database)).exists():
        fail(f"no database at {parsed.database}: run `dialerctl db upgrade`", EXIT_RUNTIME)
    try:
        engine = make_engine(resolved)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        fail(f"bad database URL {shown}: {exc}")
    try:
        if check_schema:
            current = current_revision(resolved)
            if current is None:
                fail(
                    f"database {shown} has no dialer schema: run `dialerctl db upgrade`",
                    EXIT_RUNTIME,
                )
            if current != head_revision():
                fail(
                    f"database {shown} is at schema {current}, this dialerctl needs "
                    f"{head_revision()}: run `dialerctl db upgrade`",
                    EXIT_RUNTIME,
                )
        yield engine
    except OperationalError as exc:
        fail(f"database {shown}: {_first_line(exc.orig or exc)}", EXIT_RUNTIME)
    finally:
        engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def emit_json(data: Any) -> None:
    """JSON on stdout, datetimes as ISO 8601."""
    print(json.dumps(data, default=_jsonable, indent=2, sort_keys=False))


def rows_as_json(rows: Sequence[Mapping[Any, Any]]) -> list[dict[str, Any]]:
    return [{str(k): _jsonable(v) for k, v in row.items()} for row in rows]


def show_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(v) for v in row))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
