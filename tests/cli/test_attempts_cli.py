"""dialerctl attempts: show an attempt, record its disposition."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from dialer.store import make_engine
from dialer.store.schema import attempts, leads
from tests.cli.conftest import Run, as_json


def _attempt(db_url: str) -> str:
    now = datetime.now(UTC)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        lead_id = conn.execute(
            insert(leads)
            .values(campaign="alpha", phone_raw="2125550199", phone_e164="+12125550199",
                    created_at=now, updated_at=now)
            .returning(leads.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            insert(attempts).values(
                id="att-1", lead_id=lead_id, campaign="alpha", phone_e164="+12125550199",
                caller_id="+12125550100", placed_at=now, state="ended", outcome="human",
                seat_id="s1", talk_s=42.0,
            )
        )  # fmt: skip
    engine.dispose()
    return "att-1"


def test_dispose_records_the_disposition_and_show_prints_it(run: Run, ready_db: str) -> None:
    attempt_id = _attempt(ready_db)
    done = run("attempts", "dispose", attempt_id, "  sale ", db=ready_db)
    assert done.exit_code == 0, done.output
    assert "disposition 'sale'" in done.stdout
    shown = as_json(run("attempts", "show", attempt_id, "--json", db=ready_db))
    assert shown["disposition"] == "sale" and shown["disposed_at"] is not None
    assert shown["talk_s"] == 42.0
    table = run("attempts", "show", attempt_id, db=ready_db)
    assert table.exit_code == 0 and "sale" in table.stdout
    engine = make_engine(ready_db)
    with engine.connect() as conn:
        assert conn.execute(select(leads.c.last_disposition)).scalar_one() == "sale"
    engine.dispose()


def test_bad_input_is_named_with_exit_code_2(run: Run, ready_db: str) -> None:
    attempt_id = _attempt(ready_db)
    missing = run("attempts", "dispose", "nope", "sale", db=ready_db)
    assert missing.exit_code == 2 and "no attempt 'nope'" in missing.stderr
    empty = run("attempts", "dispose", attempt_id, "  ", db=ready_db)
    assert empty.exit_code == 2 and "CODE: a disposition cannot be empty" in empty.stderr
    long = run("attempts", "dispose", attempt_id, "x" * 70, db=ready_db)
    assert long.exit_code == 2 and "at most 64" in long.stderr
    assert run("attempts", "show", "nope", db=ready_db).exit_code == 2
