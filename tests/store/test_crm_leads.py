"""CRM-inserted leads are checked before their first call; bad ones rejected with a reason."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from dialer.store import queries as q
from dialer.store.schema import lead_rejects, leads
from tests.store.conftest import NOW


def test_crm_rows_are_checked_and_bad_ones_rejected_with_reason(engine: Engine) -> None:
    crm_rows = [
        {"external_id": "good-local", "phone_raw": "(212) 555-0100"},
        {"external_id": "good-intl", "phone_e164": "+442079460958"},
        {"external_id": "own-zone", "phone_raw": "+13125550100", "time_zone": "America/Denver"},
        {"external_id": "invalid", "phone_raw": "555"},
        {"external_id": "empty", "phone_raw": ""},
        {"external_id": "dup", "phone_raw": "+1 212 555 0100"},
        {"external_id": "bad-zone", "phone_raw": "+13125550101", "time_zone": "Mars/Olympus"},
    ]
    with engine.begin() as conn:
        for row in crm_rows:  # one INSERT per lead, as a CRM would write them
            conn.execute(insert(leads).values(campaign="demo", **row))
        assert q.claim_leads(conn, "demo", 10, NOW, "d") == []  # nothing dialable before the check
        result = q.check_new_leads(conn, "demo", NOW, default_country="US")
        assert q.check_new_leads(conn, "demo", NOW, default_country="US") == q.CheckResult(0, 0)
        rows = {r.external_id: r for r in conn.execute(select(leads)).all()}
        rejects = {r.lead_id: r.reason for r in conn.execute(select(lead_rejects)).all()}

    assert result == q.CheckResult(accepted=3, rejected=4)
    assert (rows["good-local"].phone_e164, rows["good-local"].time_zone) == (
        "+12125550100",
        "America/New_York",
    )
    assert (rows["good-intl"].country, rows["good-intl"].time_zone) == ("GB", "Europe/London")
    assert rows["own-zone"].time_zone == "America/Denver"
    for bad, reason in [
        ("invalid", "invalid number"),
        ("empty", "empty phone"),
        ("dup", "duplicate"),
        ("bad-zone", "unknown time zone"),
    ]:
        assert rows[bad].status == "rejected"
        assert reason in rejects[rows[bad].id]
    assert rows["good-local"].status == "new"
