"""Reports read from a real database (SQLite and PostgreSQL) give the hand-checked figures."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import insert

from dialer.reports import build_campaign_report, build_seat_report
from dialer.reports.load import load_attempts, load_seat_names
from dialer.store import make_engine, upgrade
from dialer.store.schema import Attempt, Campaign, Seat
from tests.reports.scenario import PERIOD, ROWS, SEAT_NAMES


def fill(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for name in ("demo", "retention"):
                conn.execute(
                    insert(Campaign.__table__),
                    {"name": name, "config_json": {}, "config_hash": "0" * 64},
                )
            conn.execute(
                insert(Seat.__table__),
                [
                    {"id": seat, "name": name, "endpoint": f"Local/{seat}@sim-seats"}
                    for seat, name in SEAT_NAMES.items()
                ],
            )
            conn.execute(
                insert(Attempt.__table__),
                [
                    {
                        **asdict(row),
                        "phone_e164": "+15550100000",
                        "state": "ended",
                        "outcome": row.outcome,
                    }
                    for row in ROWS
                ],
            )
    finally:
        engine.dispose()


def test_reports_from_the_attempts_table(db_url: str) -> None:
    fill(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = load_attempts(conn, PERIOD)
            demo_only = load_attempts(conn, PERIOD, campaign="demo")
            names = load_seat_names(conn)
    finally:
        engine.dispose()
    assert sorted(r.id for r in rows) == sorted(r.id for r in ROWS if r.placed_at in PERIOD)
    assert {r.campaign for r in demo_only} == {"demo"} and len(demo_only) == 8
    assert names == SEAT_NAMES
    expected = {r.id: r for r in ROWS}
    for row in rows:  # every column survives the round trip, times stay aware UTC
        assert row == expected[row.id]
    from_db = build_campaign_report(rows, PERIOD)
    assert from_db == build_campaign_report(ROWS, PERIOD)
    assert from_db.total.connected == 4
    seats = build_seat_report(rows, PERIOD, seat_names=names)
    assert seats == build_seat_report(ROWS, PERIOD, seat_names=SEAT_NAMES)
