"""The import core: a number the CRM already inserted is reported, not lost or doubled."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from dialer.store.lead_import import ImportFormatError, import_leads_csv
from dialer.store.schema import lead_rejects, leads
from tests.store.conftest import NOW


def test_number_already_in_campaign_is_reported_as_duplicate(
    engine: Engine, tmp_path: Path
) -> None:
    source = tmp_path / "list.csv"
    source.write_text("phone,external_id\n+12125550100,a\n+12125550101,b\n+12125550102,c\n")
    with engine.begin() as conn:  # the CRM got there first
        conn.execute(insert(leads).values(campaign="demo", phone_e164="+12125550101"))

    summary = import_leads_csv(engine, "demo", source, now=NOW)

    assert (summary.rows, summary.imported, summary.rejected) == (3, 2, 1)
    assert summary.reasons == {"duplicate_in_campaign": 1}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar_one() == 3
        reject = conn.execute(select(lead_rejects)).one()
    assert (reject.row_number, reject.raw["external_id"]) == (3, "b")


def test_unreadable_and_ragged_rows_become_rejects(engine: Engine, tmp_path: Path) -> None:
    source = tmp_path / "list.csv"
    source.write_text("phone,name\n+12125550100,Ann\n+12125550101,Bob,extra\n\n+12125550102\n")
    summary = import_leads_csv(engine, "demo", source, now=NOW)
    assert (summary.imported, summary.rejected) == (1, 2)
    assert summary.reasons == {"malformed_row": 2}
    with pytest.raises(ImportFormatError, match="empty"):
        (tmp_path / "empty.csv").write_text("")
        import_leads_csv(engine, "demo", tmp_path / "empty.csv", now=NOW)
