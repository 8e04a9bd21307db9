"""dialerctl leads import: good rows in, every bad row reported with its line and reason."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from dialer.store import make_engine
from dialer.store.schema import lead_rejects, leads
from tests.cli.conftest import Run, as_json

LIST = """\
phone,country,priority,external_id,first_name,time_zone
(212) 555-0100,,5,crm-1,Ann,
+44 20 7946 0958,,,crm-2,Bob,
12345,,,crm-3,Short,
,,,crm-4,Empty,
212-555-0100,,,crm-5,Twice,
3125550100,XX,,crm-6,Nowhere,
3125550101,,high,crm-7,Vain,
"3125550102",US,1,crm-8,"Smith, J",America/Denver
3125550103,,,crm-9,Mars,Mars/Olympus
+1 907 555 0100,,,crm-10,Alaska,
"""

EXPECTED_REJECTS = {
    4: "invalid_number",
    5: "empty_phone",
    6: "duplicate_in_file",
    7: "unknown_country",
    8: "bad_priority",
    10: "bad_time_zone",
}


def test_import_reports_each_bad_row_and_keeps_the_good(
    run: Run, ready_db: str, tmp_path: Path
) -> None:
    source = tmp_path / "list.csv"
    source.write_text(LIST)
    rejects_csv = tmp_path / "out" / "rejects.csv"
    rejects_csv.parent.mkdir()

    summary = as_json(
        run(
            "leads",
            "import",
            "alpha",
            str(source),
            "--default-country",
            "US",
            "--rejects",
            str(rejects_csv),
            "--chunk-size",
            "3",
            "--json",
            db=ready_db,
        )
    )

    assert (summary["rows"], summary["imported"], summary["rejected"]) == (10, 4, 6)
    with rejects_csv.open() as f:
        written = {int(r["line"]): r for r in csv.DictReader(f)}
    assert {line: r["reason_code"] for line, r in written.items()} == EXPECTED_REJECTS
    assert written[6]["reason"].endswith("already on line 2 of this file")
    assert written[9 + 1]["external_id"] == "crm-9"  # the original columns are kept
    engine = make_engine(ready_db)
    with engine.connect() as conn:
        stored = {r.row_number: r for r in conn.execute(select(lead_rejects))}
        rows = {r.external_id: r for r in conn.execute(select(leads))}
    engine.dispose()
    assert {n: r.reason_code for n, r in stored.items()} == EXPECTED_REJECTS
    assert stored[8].raw["priority"] == "high"
    assert rows["crm-1"].phone_e164 == "+12125550100" and rows["crm-1"].priority == 5
    assert rows["crm-2"].country == "GB"
    assert rows["crm-8"].time_zone == "America/Denver"
    assert rows["crm-8"].custom_fields == {"first_name": "Smith, J"}
    assert rows["crm-10"].time_zone.split(",") == ["America/Adak", "America/Anchorage"]

    again = as_json(
        run(
            "leads",
            "import",
            "alpha",
            str(source),
            "--default-country",
            "US",
            "--json",
            db=ready_db,
        )
    )
    assert again["imported"] == 0
    assert again["reasons"]["duplicate_in_campaign"] == 4
    assert Path(again["rejects_csv"]) == source.with_suffix(".rejects.csv")


def test_import_refuses_bad_files_and_options(run: Run, ready_db: str, tmp_path: Path) -> None:
    no_phone = tmp_path / "nophone.csv"
    no_phone.write_text("name,email\nAnn,a@example.com\n")
    result = run("leads", "import", "alpha", str(no_phone), db=ready_db)
    assert result.exit_code == 2 and "no phone column" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("phone\n+12125550100\n")
    assert run("leads", "import", "nope", str(good), db=ready_db).exit_code == 2
    bad_country = run("leads", "import", "alpha", str(good), "--default-country", "ZZ", db=ready_db)
    assert bad_country.exit_code == 2 and "unknown country 'ZZ'" in bad_country.stderr
    assert (
        run("leads", "import", "alpha", str(tmp_path / "missing.csv"), db=ready_db).exit_code == 2
    )
    listed = as_json(run("leads", "list", "alpha", "--json", db=ready_db))
    assert listed == []
