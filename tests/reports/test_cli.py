"""`dialerctl report campaigns|seats` against a real SQLite database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialer.cli.report import report_app
from tests.reports.test_load import fill

runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from dialer.cli.common import out

    monkeypatch.setattr(out, "width", 200)


@pytest.fixture
def filled(sqlite_url: str) -> str:
    fill(sqlite_url)
    return sqlite_url


def test_campaign_table(filled: str) -> None:
    result = runner.invoke(report_app, ["campaigns", "--from", "2026-11-25T09:00",
                                        "--to", "2026-11-25T10:00", "--db", filled])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Campaigns, 2026-11-25 09:00 → 2026-11-25 10:00 UTC" in result.output
    assert "25.00%" in result.output  # demo's abandon rate


def test_campaign_json_for_a_whole_day_and_one_campaign(filled: str) -> None:
    result = runner.invoke(
        report_app, ["campaigns", "--from", "2026-11-25", "--campaign", "demo", "--json",
                     "--db", filled],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"] == {"start": "2026-11-25T00:00:00+00:00",
                              "end": "2026-11-26T00:00:00+00:00"}  # fmt: skip
    (demo,) = data["campaigns"]
    # The whole day also holds x1 (10:00) and x2 (08:59:59), outside the hour of the scenario.
    assert (demo["campaign"], demo["total_calls"], demo["connected"]) == ("demo", 10, 4)


def test_seat_csv_file(filled: str, tmp_path: Path) -> None:
    target = tmp_path / "seats.csv"
    result = runner.invoke(report_app, ["seats", "--from", "2026-11-25T09:00",
                                        "--to", "2026-11-25T10:00", "--csv", str(target),
                                        "--db", filled])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = {r["seat_id"]: r for r in csv.DictReader(io.StringIO(target.read_text()))}
    assert rows["s1"]["name"] == "Alice" and int(rows["s1"]["calls_handled"]) == 2
    assert float(rows["s2"]["idle_between_calls_s"]) == 249


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "--from 'yesterday': expected a date"),
        (["--from", "2026-11-25", "--to", "2026-11-24"], "is not after start"),
    ],
)
def test_bad_period_exits_2(filled: str, args: list[str], message: str) -> None:
    result = runner.invoke(report_app, ["campaigns", *args, "--db", filled])
    assert result.exit_code == 2
    assert message in result.output


def test_database_without_schema_exits_1(sqlite_url: str) -> None:
    result = runner.invoke(report_app, ["seats", "--db", sqlite_url])
    assert result.exit_code == 1
    assert "dialerctl db upgrade" in result.output
