"""Database engines and URLs: one place that knows how to talk to SQLite and PostgreSQL safely.

The daemon uses the *sync* engine from a worker thread (``asyncio.to_thread`` via
``dialer.store.runner.transact``): the same query functions then serve the daemon, dialerctl and
the tests, and SQLite needs no extra async driver. Each call opens its own connection and
transaction, so nothing is shared between concurrent tasks.

SQLite follows SQLAlchemy's "Transactions with SQLite" recipe: the driver's own transaction
handling is switched off (``isolation_level=None``), and every transaction starts with
``BEGIN IMMEDIATE`` so that writers queue on the database lock (``busy_timeout``) instead of failing
half-way, which is what makes the lead claim atomic on SQLite. WAL lets readers run alongside.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_DATABASE_URL = "sqlite:///./dialer.db"
DATABASE_URL_ENV = "DIALER_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: the one given, else $DIALER_DATABASE_URL, else ./dialer.db."""
    return url or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL


def redact_url(url: str | URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    return make_url(url).render_as_string(hide_password=True)


def _normalize(url: str) -> URL:
    parsed = make_url(url)
    # psycopg 3 is the PostgreSQL driver we ship; a bare postgresql:// would pick psycopg2.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | None = None, *, foreign_keys: bool = True, **kwargs: Any) -> Engine:
    """A sync engine for ``url`` (see ``resolve_url``), set up for safe concurrent use.

    ``foreign_keys=False`` is for migrations only: SQLite's table rebuilds in batch migrations must
    not cascade through foreign keys.
    """
    parsed = _normalize(resolve_url(url))
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    in_memory = parsed.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
