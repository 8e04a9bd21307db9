"""The few SQL constructs that differ between SQLite and PostgreSQL, behind one function each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, literal, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from dialer.store.types import UtcDateTime


def db_now(conn: Connection, plus_seconds: float = 0.0) -> ColumnElement[datetime]:
    """The database server's clock (plus an offset), as an SQL expression comparable with
    ``UtcDateTime`` columns. Leases use it so that daemons with skewed clocks still agree."""
    if conn.dialect.name == "sqlite":
        # Same text layout SQLAlchemy stores (YYYY-MM-DD HH:MM:SS.ffffff), so comparisons work.
        modifier = f"{plus_seconds:+.3f} seconds"
        text_now = func.strftime("%Y-%m-%d %H:%M:%f", "now", literal(modifier)).concat("000")
        return type_coerce(text_now, UtcDateTime)
    expr: ColumnElement[Any] = func.clock_timestamp()
    if plus_seconds:
        expr = expr + func.make_interval(0, 0, 0, 0, 0, 0, literal(float(plus_seconds)))
    return type_coerce(expr, UtcDateTime)


def read_db_now(conn: Connection) -> datetime:
    """The database server's current UTC time."""
    value = conn.execute(select(db_now(conn))).scalar_one()
    assert isinstance(value, datetime)
    return value


def insert_ignoring_duplicates(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert rows, silently skipping those that break a unique constraint; returns rows added."""
    if not rows:
        return 0
    key = next(iter(table.primary_key.columns))
    stmt = dialect_insert(conn, table).on_conflict_do_nothing().returning(key)
    # Counted from RETURNING: psycopg reports no rowcount for executemany.
    return len(conn.execute(stmt, list(rows)).all())


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    """INSERT, or UPDATE the ``update`` columns of the row with the same ``key``."""
    stmt = dialect_insert(conn, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
    )
    conn.execute(stmt)


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT construct (it has ON CONFLICT on both SQLite and PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"unsupported database {conn.dialect.name!r}")
