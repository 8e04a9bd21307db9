"""SQLite is set up per SQLAlchemy's recipe; URLs resolve and print without passwords."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from dialer.store import make_engine, redact_url, resolve_url


def test_sqlite_connection_settings(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
    engine.dispose()


def test_url_resolution_and_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALER_DATABASE_URL", raising=False)
    assert resolve_url(None) == "sqlite:///./dialer.db"
    monkeypatch.setenv("DIALER_DATABASE_URL", "postgresql+psycopg://u:pw@db/dialer")
    assert resolve_url(None) == "postgresql+psycopg://u:pw@db/dialer"
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert "pw" not in redact_url(resolve_url(None))
