"""The compliance audit read back from a real database (SQLite and PostgreSQL), and its CLI.

One campaign's records hold a clean stretch and one case of every rule an audit must catch;
the audit must name exactly those attempts, and nothing the rules allow.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from typer.testing import CliRunner

from dialer.cli.report import report_app
from dialer.config.models import CampaignConfig
from dialer.engine.compliance import Rule
from dialer.reports import Period
from dialer.reports.compliance import audit_campaigns
from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store.campaigns import apply_campaign
from dialer.store.schema import abandon_ledger, attempts, campaigns, dnc_entries, leads

runner = CliRunner()
# 17:00 UTC is 12:00 in New York: inside the default 08:00-21:00 calling hours.
NOON_NY = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
PERIOD = Period(datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))
CAMPAIGN = CampaignConfig.model_validate({"name": "audit", "caller_id": {"pool": "p"}})


def fill(url: str) -> None:
    """Leads 1-12 in New York; attempts a1-a12, ledger rows, DNC entries (see the expectations
    in :func:`test_audit_names_every_broken_rule_and_nothing_else`)."""
    upgrade(url)
    engine = make_engine(url)
    at = NOON_NY
    try:
        with engine.begin() as conn:
            settings = CAMPAIGN.model_dump(mode="json")
            apply_campaign(conn, "audit", DialMode.PREDICTIVE, settings, at)
            ids = list(
                conn.execute(
                    insert(leads).returning(leads.c.id),
                    [
                        {
                            "campaign": "audit",
                            "phone_e164": f"+1212555{i:04d}",
                            "phone_raw": f"212555{i:04d}",
                            "country": "US",
                            "time_zone": "America/New_York",
                            "validated_at": at,
                            "created_at": at,
                            "updated_at": at,
                        }
                        for i in range(1, 13)
                    ],
                ).scalars()
            )
            lead = dict(zip(range(1, 13), sorted(ids), strict=True))

            def call(
                n: int, lead_no: int, placed: datetime, outcome: str | None, **extra: Any
            ) -> dict[str, Any]:
                return {
                    "id": f"a{n}",
                    "lead_id": lead[lead_no],
                    "campaign": "audit",
                    "phone_e164": f"+1212555{lead_no:04d}",
                    "placed_at": placed,
                    "state": "in_flight" if outcome is None else "ended",
                    "outcome": outcome,
                    "created_at": placed,
                    **extra,
                }

            answered = {"answered_at": at + timedelta(seconds=10)}
            rows = [
                call(1, 1, at, "human", **answered),
                call(2, 2, at + timedelta(minutes=1), "no_answer", ring_s=20.0),
                call(3, 3, at + timedelta(minutes=2), "no_answer", ring_s=9.5),  # cut short
                call(4, 4, at - timedelta(hours=14), "busy"),  # 22:00 the evening before
                call(5, 5, at + timedelta(minutes=3), "busy"),  # DNC since yesterday
                call(6, 6, at + timedelta(minutes=4), "busy"),  # DNC only from tomorrow
                call(
                    7,
                    7,
                    at + timedelta(minutes=5),
                    "abandoned",
                    answered_at=at + timedelta(minutes=5, seconds=9),
                ),
                call(8, 7, at + timedelta(hours=2), "busy"),  # 2 h after an abandon to it
                call(
                    9,
                    8,
                    at + timedelta(minutes=6),
                    "abandoned",
                    answered_at=at + timedelta(minutes=6, seconds=9),
                ),  # not in the ledger
                call(10, 9, at - timedelta(hours=15), "cancelled"),  # never placed: no call
                call(11, 10, at + timedelta(minutes=7), None),  # in flight
                call(12, 11, at + timedelta(minutes=8), "busy"),
                call(13, 11, at + timedelta(minutes=8, seconds=30), "busy"),  # under min gap
            ]
            keys = {key for row in rows for key in row}
            conn.execute(insert(attempts), [{k: row.get(k) for k in keys} for row in rows])
            ledger = [
                # a month-old history the 30-day window still holds: 40 answers, 1 abandon
                *(
                    {
                        "campaign": "audit",
                        "kind": "live_answer",
                        "at": at - timedelta(days=20, minutes=i),
                        "attempt_id": None,
                    }
                    for i in range(40)
                ),
                {
                    "campaign": "audit",
                    "kind": "abandon",
                    "at": at - timedelta(days=20),
                    "attempt_id": None,
                },
                {
                    "campaign": "audit",
                    "kind": "live_answer",
                    "at": at + timedelta(seconds=10),
                    "attempt_id": "a1",
                },
                {
                    "campaign": "audit",
                    "kind": "live_answer",
                    "at": at + timedelta(minutes=5, seconds=9),
                    "attempt_id": "a7",
                },
                {
                    "campaign": "audit",
                    "kind": "abandon",
                    "at": at + timedelta(minutes=5, seconds=9),
                    "attempt_id": "a7",
                },
            ]
            conn.execute(insert(abandon_ledger), ledger)
            conn.execute(
                insert(dnc_entries),
                [
                    {
                        "phone_e164": "+12125550005",
                        "campaign": None,
                        "added_at": at - timedelta(days=1),
                    },
                    {
                        "phone_e164": "+12125550006",
                        "campaign": "audit",
                        "added_at": at + timedelta(days=1),
                    },
                ],
            )
    finally:
        engine.dispose()


def audit(url: str, period: Period = PERIOD) -> Any:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            (result,) = audit_campaigns(conn, period, "audit")
    finally:
        engine.dispose()
    return result


def test_audit_names_every_broken_rule_and_nothing_else(db_url: str) -> None:
    fill(db_url)
    result = audit(db_url)
    found = {(v.attempt_id, v.rule) for v in result.violations}
    assert found == {
        ("a3", Rule.MIN_RING),
        ("a4", Rule.CALLING_HOURS),
        ("a5", Rule.DNC),
        # 2 abandons (one 20 days old) for 42 live answers in 30 days: 3 % allows 1
        ("a7", Rule.ABANDON_CAP),
        ("a8", Rule.ABANDON_72H),
        ("a9", Rule.LEDGER),
        ("a13", Rule.MIN_GAP),
    }
    assert (result.attempts, result.in_flight) == (12, 1)  # the cancelled attempt is no call
    assert (result.live_answers, result.abandons) == (2, 1)  # the ledger's, in the period
    assert result.worst_rate == pytest.approx(2 / 42)
    assert not result.ok and result.by_rule()["abandon_cap"] == 1
    # Placed before the period, a4 is not audited; the abandon's window still counts history.
    later = audit(db_url, Period(NOON_NY + timedelta(minutes=5), PERIOD.end))
    assert {v.attempt_id for v in later.violations} == {"a7", "a8", "a9", "a13"}


def test_a_clean_stretch_has_no_violation(db_url: str) -> None:
    fill(db_url)
    clean = Period(NOON_NY, NOON_NY + timedelta(seconds=90))  # a1 (human) and a2 (rang 20 s)
    result = audit(db_url, clean)
    assert result.ok and (result.attempts, result.live_answers) == (2, 1)
    assert result.worst_rate == pytest.approx(1 / 41)  # the 20-day-old abandon, in the window


def test_an_abandon_ledgered_after_the_period_ends_is_not_missing(db_url: str) -> None:
    """The abandon is recorded when the connect window runs out, which can be just after the
    audited period: the call is still in the ledger."""
    fill(db_url)
    end = PERIOD.end  # 19:00 in New York
    engine = make_engine(db_url)
    with engine.begin() as conn:
        lead_id = conn.execute(select(leads.c.id).where(leads.c.phone_e164 == "+12125550012"))
        lead = lead_id.scalar_one()
        conn.execute(
            insert(attempts),
            {
                "id": "late", "lead_id": lead, "campaign": "audit",
                "phone_e164": "+12125550012", "placed_at": end - timedelta(seconds=10),
                "answered_at": end - timedelta(seconds=2), "state": "ended",
                "outcome": "abandoned", "created_at": end - timedelta(seconds=10),
            },
        )  # fmt: skip
        conn.execute(
            insert(abandon_ledger),
            [
                {"campaign": "audit", "kind": "live_answer", "at": end - timedelta(seconds=2),
                 "attempt_id": "late"},
                {"campaign": "audit", "kind": "abandon", "at": end + timedelta(seconds=0.5),
                 "attempt_id": "late"},
            ],
        )  # fmt: skip
    engine.dispose()
    day = Period(end - timedelta(days=1), end)
    assert not [v for v in audit(db_url, day).violations if v.attempt_id == "late"]


@pytest.fixture
def filled(sqlite_url: str) -> str:
    fill(sqlite_url)
    return sqlite_url


def test_cli_table_lists_the_violations_and_exits_1(filled: str) -> None:
    result = runner.invoke(
        report_app, ["compliance", "--from", "2026-11-25", "--to", "2026-11-27", "--db", filled]
    )
    assert result.exit_code == 1, result.output
    assert "Compliance audit, 2026-11-25 00:00 → 2026-11-27 00:00 UTC" in result.output
    assert "calling_hours 1" in result.output and "abandon_cap 1" in result.output
    assert "attempt a5 lead" in result.output and "do-not-call" in result.output


def test_cli_json_and_csv(filled: str, tmp_path: Any) -> None:
    args = ["compliance", "--from", "2026-11-25", "--to", "2026-11-27", "--db", filled]
    result = runner.invoke(report_app, [*args, "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    (campaign,) = data["campaigns"]
    assert data["ok"] is False and campaign["calls"] == 12
    assert len(campaign["violations"]) == 7
    target = tmp_path / "violations.csv"
    result = runner.invoke(report_app, [*args, "--csv", str(target)])
    assert result.exit_code == 1, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert {(r["attempt_id"], r["rule"]) for r in rows} >= {("a4", "calling_hours")}
    assert len(rows) == 7


def test_cli_clean_period_exits_0(filled: str) -> None:
    args = ["--from", "2026-11-25T17:00", "--to", "2026-11-25T17:01:30", "--campaign", "audit"]
    result = runner.invoke(report_app, ["compliance", *args, "--db", filled])
    assert result.exit_code == 0, result.output
    assert "none" in result.output
    data = json.loads(
        runner.invoke(report_app, ["compliance", *args, "--json", "--db", filled]).output
    )
    assert data["ok"] and data["campaigns"][0]["calls"] == 2


def test_cli_names_an_unknown_campaign_and_a_stored_config_that_no_longer_validates(
    filled: str,
) -> None:
    result = runner.invoke(report_app, ["compliance", "--campaign", "nope", "--db", filled])
    assert result.exit_code == 2 and "no campaign named 'nope'" in result.output
    engine = make_engine(filled)
    with engine.begin() as conn:
        conn.execute(
            update(campaigns).values(config_json={"abandon": {"cap": 7}})  # over 100 %
        )
    engine.dispose()
    result = runner.invoke(report_app, ["compliance", "--campaign", "audit", "--db", filled])
    assert result.exit_code == 1
    assert "campaign audit" in result.output and "abandon.cap" in result.output


def test_cli_audits_the_other_campaigns_when_one_config_no_longer_validates(
    filled: str,
) -> None:
    engine = make_engine(filled)
    with engine.begin() as conn:
        settings = CAMPAIGN.model_dump(mode="json")
        apply_campaign(conn, "other", DialMode.PREDICTIVE, {**settings, "name": "other"}, NOON_NY)
        conn.execute(
            update(campaigns).where(campaigns.c.name == "audit").values(config_json={"x": 1})
        )
    engine.dispose()
    result = runner.invoke(report_app, ["compliance", "--from", "2026-11-25", "--db", filled])
    assert result.exit_code == 1
    assert "campaign audit" in result.output and "other" in result.output
