"""dialerctl seats / numbers / dnc."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run, as_json


def test_seat_lifecycle(run: Run, ready_db: str) -> None:
    assert (
        run(
            "seats", "add", "s9", "--endpoint", "PJSIP/1009", "--campaign", "alpha", db=ready_db
        ).exit_code
        == 0
    )
    assert run("seats", "login", "s9", db=ready_db).exit_code == 0
    assert run("seats", "pause", "s9", "--reason", "lunch", db=ready_db).exit_code == 0
    seat = {s["id"]: s for s in as_json(run("seats", "list", "--json", db=ready_db))}["s9"]
    assert (seat["requested_state"], seat["pause_reason"], seat["state"]) == (
        "paused",
        "lunch",
        "logged_out",
    )
    assert run("seats", "ready", "s9", db=ready_db).exit_code == 0
    assert run("seats", "logout", "s9", db=ready_db).exit_code == 0
    seat = {s["id"]: s for s in as_json(run("seats", "list", "--json", db=ready_db))}["s9"]
    assert (seat["requested_state"], seat["pause_reason"]) == ("logged_out", None)
    missing = run("seats", "login", "ghost", db=ready_db)
    assert missing.exit_code == 2 and "no seat 'ghost'" in missing.stderr
    bad = run("seats", "add", "s10", "--endpoint", "nonsense", db=ready_db)
    assert bad.exit_code == 2


def test_caller_id_pool(run: Run, ready_db: str) -> None:
    assert run("numbers", "add", "+1 415 555 0199", "--pool", "west", db=ready_db).exit_code == 0
    assert (
        run("numbers", "retire", "+12125550100", "--reason", "spam label", db=ready_db).exit_code
        == 0
    )
    rows = {r["number"]: r for r in as_json(run("numbers", "list", "--json", db=ready_db))}
    assert rows["+14155550199"]["pool"] == "west"
    assert rows["+14155550199"]["area_code"] == "415"
    assert rows["+12125550100"]["state"] == "retired"
    assert run("numbers", "retire", "+19995550100", db=ready_db).exit_code == 2
    assert run("numbers", "add", "garbage", "--pool", "x", db=ready_db).exit_code == 2
    assert "west" in run("numbers", "list", db=ready_db).stdout


def test_dnc_add_import_check_remove(run: Run, ready_db: str, tmp_path: Path) -> None:
    assert run("dnc", "add", "+12125550100", "--reason", "asked", db=ready_db).exit_code == 0
    assert (
        run(
            "dnc",
            "add",
            "3125550100",
            "--default-country",
            "US",
            "--campaign",
            "alpha",
            db=ready_db,
        ).exit_code
        == 0
    )
    listed = as_json(run("dnc", "check", "+13125550100", "--json", db=ready_db))
    assert listed["listed"] and listed["entries"][0]["campaign"] == "alpha"

    bad_list = tmp_path / "bad.csv"
    bad_list.write_text("phone\n+14155550100\nnot-a-number\n")
    result = run("dnc", "import", str(bad_list), db=ready_db)
    assert result.exit_code == 2 and f"{bad_list}:3" in result.stderr
    assert not as_json(run("dnc", "check", "+14155550100", "--json", db=ready_db))["listed"]

    good_list = tmp_path / "good.csv"
    good_list.write_text("phone\n+14155550100\n+14155550101\n+12125550100\n")
    summary = as_json(run("dnc", "import", str(good_list), "--json", db=ready_db))
    assert (summary["numbers"], summary["added"]) == (3, 2)

    assert run("dnc", "remove", "+12125550100", db=ready_db).exit_code == 0
    assert not as_json(run("dnc", "check", "+12125550100", "--json", db=ready_db))["listed"]
    assert run("dnc", "remove", "+12125550100", db=ready_db).exit_code == 2
    assert "not on any DNC list" in run("dnc", "check", "+12125550100", db=ready_db).stdout
