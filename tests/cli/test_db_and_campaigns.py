"""dialerctl db / campaign: schema upgrade, all-or-nothing apply, desired states, status."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from dialer.store import make_engine
from dialer.store.schema import caller_ids, campaigns, seats
from tests.cli.conftest import CONFIG, Run, as_json


def test_commands_refuse_a_database_without_schema(run: Run, sqlite_url: str) -> None:
    result = run("campaign", "status", db=sqlite_url)
    assert result.exit_code == 1
    assert "dialerctl db upgrade" in result.stderr
    assert run("db", "upgrade", db=sqlite_url).exit_code == 0
    assert "already" in run("db", "upgrade", db=sqlite_url).stdout
    assert as_json(run("db", "status", "--json", db=sqlite_url))["current"] is True


def test_unreachable_database_is_a_runtime_failure(run: Run) -> None:
    result = run("db", "upgrade", db="postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "secret" not in result.output  # the password never shows


def test_apply_declares_campaigns_seats_and_caller_ids(run: Run, ready_db: str) -> None:
    engine = make_engine(ready_db)
    with engine.connect() as conn:
        camp = conn.execute(select(campaigns)).one()
        seat_rows = conn.execute(select(seats).order_by(seats.c.id)).all()
        numbers = conn.execute(select(caller_ids).order_by(caller_ids.c.number)).all()
    engine.dispose()
    assert (camp.name, camp.dial_mode, camp.desired_state) == ("alpha", "progressive", "stopped")
    assert camp.config_json["abandon"]["cap"] == 0.03
    assert [(s.id, s.campaign, s.seat_group, s.endpoint) for s in seat_rows] == [
        ("s1", "alpha", "team", "PJSIP/1001"),
        ("s2", "alpha", "team", "PJSIP/1002"),
    ]
    assert [(n.number, n.pool, n.region, n.area_code) for n in numbers] == [
        ("+12125550100", "main", "US", "212"),
        ("+13125550101", "main", "US", "312"),
    ]


def test_bad_config_changes_nothing(run: Run, ready_db: str, tmp_path: Path) -> None:
    before = as_json(run("campaign", "status", "alpha", "--json", db=ready_db))
    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.replace("cap: 0.03", "cap: 1.5").replace("PJSIP/1002", "PJSIP/2002"))
    result = run("campaign", "apply", str(bad), db=ready_db)
    assert result.exit_code == 2
    assert f"{bad}:16: campaigns.alpha.abandon.cap" in result.stderr
    after = as_json(run("campaign", "status", "alpha", "--json", db=ready_db))
    assert after["config_hash"] == before["config_hash"]
    seats_now = as_json(run("seats", "list", "--json", db=ready_db))
    assert {s["endpoint"] for s in seats_now} == {"PJSIP/1001", "PJSIP/1002"}


def test_apply_is_one_transaction(
    run: Run, ready_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure half-way (here: while declaring caller IDs) rolls the campaign change back."""
    changed = tmp_path / "changed.yaml"
    changed.write_text(CONFIG.replace("window_s: 24h", "window_s: 30d"))

    def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("dialer.store.apply_config.upsert_caller_id", broken)
    with pytest.raises(RuntimeError):
        run("campaign", "apply", str(changed), db=ready_db)
    status = as_json(run("campaign", "status", "alpha", "--json", db=ready_db))
    assert status["abandon"]["window_s"] == 86400


def test_desired_state_commands_and_status(run: Run, ready_db: str) -> None:
    for command, state in [
        ("start", "running"),
        ("pause", "paused"),
        ("resume", "running"),
        ("stop", "stopped"),
    ]:
        assert run("campaign", command, "alpha", db=ready_db).exit_code == 0
        status = as_json(run("campaign", "status", "alpha", "--json", db=ready_db))
        assert status["desired_state"] == state
    assert status["seats"] == {"logged_out": 2}
    assert status["abandon"]["cap"] == 0.03
    missing = run("campaign", "start", "nope", db=ready_db)
    assert missing.exit_code == 2 and "no campaign named 'nope'" in missing.stderr
    table = run("campaign", "status", db=ready_db)
    assert "alpha" in table.stdout and "progressive" in table.stdout
