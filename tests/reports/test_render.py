"""Reports rendered as rich tables (what an operator reads) and CSV (what a spreadsheet reads)."""

from __future__ import annotations

import csv
import io

import pytest
from rich.console import Console

from dialer.reports import (
    build_campaign_report,
    build_seat_report,
    campaign_table,
    seat_table,
    write_campaign_csv,
    write_seat_csv,
)
from dialer.reports.render import format_duration, format_rate
from tests.reports.scenario import PERIOD, ROWS, SEAT_NAMES


def rendered(table: object) -> str:
    console = Console(record=True, width=220, color_system=None)
    console.print(table)
    return console.export_text()


def test_formats() -> None:
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(59.6) == "0:01:00"
    assert format_duration(None) == "-"
    assert format_rate(0.0312, 2) == "3.12%"
    assert format_rate(0.25) == "25.0%"
    assert format_rate(None) == "-"


def test_campaign_table() -> None:
    text = rendered(campaign_table(build_campaign_report(ROWS, PERIOD)))
    assert "Campaigns, 2026-11-25 09:00 → 2026-11-25 10:00 UTC" in text
    demo = next(line for line in text.splitlines() if " demo " in line)
    assert [c.strip() for c in demo.split("│")[1:-1]] == [
        "demo", "8", "7", "4", "1", "3", "1", "25.00%", "1", "0.16", "19.01", "2.33",
    ]  # fmt: skip
    assert any(line.split("│")[1].strip() == "ALL" for line in text.splitlines() if "│" in line)


def test_seat_table() -> None:
    text = rendered(seat_table(build_seat_report(ROWS, PERIOD, seat_names=SEAT_NAMES)))
    alice = next(line for line in text.splitlines() if "Alice" in line)
    cells = [c.strip() for c in alice.split("│")[1:-1]]
    assert cells == [
        "s1", "Alice", "2", "0:02:00", "0:03:00", "0:01:30", "0:00:09", "0:00:28",
        "0:00:20", "0:00:10", "0:00:40", "88.7%",
    ]  # fmt: skip
    carol = next(line for line in text.splitlines() if "Carol" in line)
    assert [c.strip() for c in carol.split("│")[1:-1]][-1] == "-"


def test_campaign_csv() -> None:
    out = io.StringIO()
    write_campaign_csv(build_campaign_report(ROWS, PERIOD), out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["campaign"] for r in rows] == ["demo", "retention", "ALL"]
    demo = rows[0]
    assert demo["period_start"] == "2026-11-25T09:00:00+00:00"
    assert demo["period_end"] == "2026-11-25T10:00:00+00:00"
    assert int(demo["total_calls"]) == 8 and int(demo["dialled"]) == 7
    assert float(demo["abandon_rate"]) == 0.25
    assert float(demo["dial_ratio"]) == pytest.approx(7 / 3, abs=1e-4)
    assert float(demo["agent_hours"]) == pytest.approx(568 / 3600, abs=1e-4)


def test_seat_csv_keeps_seconds_and_leaves_missing_values_empty() -> None:
    out = io.StringIO()
    write_seat_csv(build_seat_report(ROWS, PERIOD, seat_names=SEAT_NAMES), out)
    rows = {r["seat_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert float(rows["s2"]["idle_between_calls_s"]) == 249
    assert float(rows["s2"]["talk_s"]) == 390
    assert float(rows["s1"]["utilization"]) == pytest.approx(220 / 248, abs=1e-4)
    assert rows["s3"]["avg_ring_s"] == "" and rows["s3"]["utilization"] == ""
