"""Fixtures shared by every test area: real databases (SQLite files and PostgreSQL).

``postgres_url`` is DIALER_TEST_POSTGRES_URL when given, else a private server started for this run
(see tests/support/pgserver.py) and stopped at its end. Every test that asks for ``db_url`` gets a
fresh, empty database of each kind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import pgserver


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    given = os.environ.get("DIALER_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        server = pgserver.start()
    except pgserver.PostgresUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("DIALER_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here but unavailable: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


def _fresh_postgres_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dialer-test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dialer-test.db'}"
    server_url: str = request.getfixturevalue("postgres_url")
    return _fresh_postgres_database(server_url)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> str:
    """A fresh, empty PostgreSQL database (for tests that are about PostgreSQL only)."""
    return _fresh_postgres_database(postgres_url)
