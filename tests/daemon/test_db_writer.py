"""The daemon's write queue: results wait out a database outage, in order, and one bad write
does not block the others. Real databases: a PostgreSQL database taken offline and back, SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import create_engine, insert, make_url, select, text
from sqlalchemy.engine import Connection

from dialer.daemon.db_writer import DbWriter
from dialer.obs.metrics import DialerMetrics
from dialer.store import make_engine, upgrade
from dialer.store.schema import outbox


def _job(i: int):  # type: ignore[no-untyped-def]
    def run(conn: Connection) -> None:
        conn.execute(
            insert(outbox).values(kind="sms", payload={"i": i}, created_at=datetime.now(UTC))
        )

    return run


def _payloads(url: str) -> list[int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.payload).order_by(outbox.c.id)).scalars().all()
    engine.dispose()
    return [r["i"] for r in rows]


async def test_writes_wait_out_a_database_outage(postgres_url: str, postgres_db_url: str) -> None:
    upgrade(postgres_db_url)
    name = make_url(postgres_db_url).database
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    health: list[bool] = []
    writer = DbWriter(
        make_engine(postgres_db_url),
        DialerMetrics(),
        on_health=lambda ok, _detail: health.append(ok),
        retry_min_s=0.05,
        retry_max_s=0.2,
    )
    writer.start()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        for i in range(5):
            writer.put(_job(i), "finish_attempt", f"job {i}")
        await asyncio.sleep(1.0)
        assert not writer.healthy
        assert len(writer) == 5, "writes were lost or written while the database was away"
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert await writer.flush(15.0)
        assert writer.healthy and health[-1] is True and False in health
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        await writer.close()
        writer.engine.dispose()
        admin.dispose()
    assert _payloads(postgres_db_url) == [0, 1, 2, 3, 4]


async def test_a_bad_write_is_dropped_and_the_rest_written(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    metrics = DialerMetrics()
    writer = DbWriter(make_engine(sqlite_url), metrics)
    writer.start()

    def bad(conn: Connection) -> None:
        conn.execute(insert(outbox).values(id=1, kind="x", created_at=datetime.now(UTC)))
        conn.execute(insert(outbox).values(id=1, kind="x", created_at=datetime.now(UTC)))

    writer.put(_job(0), "other", "job 0")
    writer.put(bad, "other", "duplicate key")
    writer.put(_job(2), "other", "job 2")
    assert await writer.flush(10.0)
    await writer.close()
    writer.engine.dispose()
    assert writer.dropped == 1
    assert _payloads(sqlite_url) == [0, 2]
    errors = metrics.db_errors.labels(operation="other")._value.get()
    assert errors == 1
