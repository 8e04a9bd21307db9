"""dialerctl preview (list / accept / skip) and trial (status / reset / skip) and report trial."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from dialer.store import make_engine
from dialer.store.preview import insert_offer
from dialer.store.schema import leads
from dialer.store.trials import draw_trial
from tests.cli.conftest import Run, as_json


def _leads(db: str, count: int) -> list[int]:
    now = datetime.now(UTC)
    engine = make_engine(db)
    with engine.begin() as conn:
        rows = [
            {"campaign": "alpha", "phone_e164": f"+1212555{i:04d}", "validated_at": now,
             "custom_fields": {"tier": "ab"[i % 2]}}
            for i in range(count)
        ]  # fmt: skip
        ids = sorted(conn.execute(insert(leads).returning(leads.c.id), rows).scalars())
    engine.dispose()
    return ids


def _offer(db: str, seat: str, lead_id: int, minutes: float = 5) -> int:
    now = datetime.now(UTC)
    engine = make_engine(db)
    with engine.begin() as conn:
        offer = insert_offer(conn, "alpha", seat, lead_id, now, now + timedelta(minutes=minutes))
    engine.dispose()
    return offer


def test_preview_list_accept_skip(run: Run, ready_db: str) -> None:
    first, second, third = _leads(ready_db, 3)
    a, b = _offer(ready_db, "s1", first), _offer(ready_db, "s2", second)
    stale = _offer(ready_db, "s1", third, minutes=-1)
    listed = as_json(run("preview", "list", "--json", "--seat", "s2", db=ready_db))
    assert [(o["id"], o["lead_id"], o["state"]) for o in listed] == [(b, second, "offered")]
    assert listed[0]["phone_e164"] == "+12125550001"
    assert "+12125550000" in run("preview", "list", db=ready_db).stdout

    accepted = run("preview", "accept", "--seat", "s1", db=ready_db)
    assert accepted.exit_code == 0 and f"offer {a} accepted" in accepted.stdout
    skipped = run("preview", "skip", str(b), "--reason", "knows them", db=ready_db)
    assert skipped.exit_code == 0, skipped.output
    again = run("preview", "accept", str(b), db=ready_db)
    assert again.exit_code == 2 and f"offer {b} is skipped, not offered" in again.stderr
    assert run("preview", "accept", str(stale), db=ready_db).exit_code == 2
    assert "no preview offer 12345" in run("preview", "skip", "12345", db=ready_db).stderr
    both = run("preview", "accept", "1", "--seat", "s1", db=ready_db)
    assert both.exit_code == 2 and "one of them" in both.stderr
    states = {o["id"]: (o["state"], o["reason"]) for o in as_json(
        run("preview", "list", "--all", "--json", db=ready_db))}  # fmt: skip
    assert states[b] == ("skipped", "knows them")


def test_trial_status_report_reset_skip(run: Run, ready_db: str) -> None:
    assert run("trial", "status", "alpha", db=ready_db).exit_code == 2
    _leads(ready_db, 20)
    engine = make_engine(ready_db)
    with engine.begin() as conn:
        trial_id = draw_trial(conn, "alpha", 0.25, ["tier"], 7, datetime.now(UTC))[0]
    engine.dispose()
    status = as_json(run("trial", "status", "alpha", "--json", db=ready_db))
    assert (status["id"], status["state"], status["sampled"], status["settled"]) == (
        trial_id, "running", 5, 0,
    )  # fmt: skip
    report = as_json(run("report", "trial", "alpha", "--json", db=ready_db))
    assert report["total"]["sampled"] == 5 and report["total"]["dials"] == 0
    assert {s["stratum"] for s in report["strata"]} == {"tier=a", "tier=b"}
    rows = list(csv.DictReader(io.StringIO(run("report", "trial", "alpha", "--csv", "-",
                                               db=ready_db).stdout)))  # fmt: skip
    assert [r["stratum"] for r in rows] == ["tier=a", "tier=b", "total"]
    assert "tier=a" in run("report", "trial", "alpha", db=ready_db).stdout
    assert f"trial {trial_id} cancelled" in run("trial", "reset", "alpha", db=ready_db).stdout
    assert "whole list" in run("trial", "skip", "alpha", db=ready_db).stdout
    assert run("trial", "skip", "nope", db=ready_db).exit_code == 2
