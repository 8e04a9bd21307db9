"""Reports as terminal tables (rich) and CSV.

Tables are for people: durations as ``h:mm:ss``, rates as percentages. CSV is for spreadsheets and
scripts: one header row, raw numbers in seconds and ratios (0.031, not "3.1%"), empty cells for
figures that do not exist (an abandon rate without live answers).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import IO, Any

from rich.table import Table

from dialer.reports.figures import CampaignFigures, CampaignReport, SeatFigures, SeatReport


def format_duration(seconds: float | None) -> str:
    """``3725.4`` → ``1:02:05``; ``None`` → ``-``."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def format_rate(ratio: float | None, digits: int = 1) -> str:
    """``0.0312`` → ``3.1%``; ``None`` → ``-``."""
    return "-" if ratio is None else f"{ratio * 100:.{digits}f}%"


def format_number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


_CAMPAIGN_COLUMNS: Sequence[tuple[str, str]] = (
    ("Campaign", "campaign"),
    ("Total calls", "total_calls"),
    ("Dialled", "dialled"),
    ("Human", "answered_human"),
    ("Machine", "answered_machine"),
    ("Connected", "connected"),
    ("Abandoned", "abandoned"),
    ("Abandon rate", "abandon_rate"),
    ("Transfers", "transfers"),
    ("Agent hours", "agent_hours"),
    ("Contacts / agent h", "contacts_per_agent_hour"),
    ("Dial ratio", "dial_ratio"),
)


def _campaign_cells(row: CampaignFigures) -> list[str]:
    return [
        row.campaign,
        str(row.total_calls),
        str(row.dialled),
        str(row.answered_human),
        str(row.answered_machine),
        str(row.connected),
        str(row.abandoned),
        format_rate(row.abandon_rate, 2),
        str(row.transfers),
        format_number(row.agent_hours),
        format_number(row.contacts_per_agent_hour),
        format_number(row.dial_ratio),
    ]


def campaign_table(report: CampaignReport) -> Table:
    """The campaign report as a rich table, with a total row when there are several campaigns."""
    table = Table(title=f"Campaigns, {report.period.label()}", show_footer=False)
    for header, _ in _CAMPAIGN_COLUMNS:
        table.add_column(
            header, justify="left" if header == "Campaign" else "right", overflow="fold"
        )
    for row in report.campaigns:
        table.add_row(*_campaign_cells(row))
    if len(report.campaigns) > 1:
        table.add_section()
        table.add_row(*_campaign_cells(report.total), style="bold")
    if not report.campaigns:
        table.caption = "no attempts in this period"
    return table


_SEAT_COLUMNS: Sequence[str] = (
    "Seat", "Name", "Calls", "Longest", "Talk", "Avg talk", "Avg ring", "Idle between",
    "Hold", "Avg hold", "Wrap-up", "Utilization",
)  # fmt: skip


def seat_table(report: SeatReport) -> Table:
    """The seat report as a rich table."""
    table = Table(title=f"Seats, {report.period.label()}")
    for header in _SEAT_COLUMNS:
        table.add_column(
            header, justify="left" if header in ("Seat", "Name") else "right", overflow="fold"
        )
    for s in report.seats:
        table.add_row(
            s.seat_id,
            s.name,
            str(s.calls_handled),
            format_duration(s.longest_call_s),
            format_duration(s.talk_s),
            format_duration(s.avg_talk_s),
            format_duration(s.avg_ring_s),
            format_duration(s.idle_between_calls_s),
            format_duration(s.hold_s),
            format_duration(s.avg_hold_s),
            format_duration(s.wrapup_s),
            format_rate(s.utilization),
        )
    if not report.seats:
        table.caption = "no seat took a call in this period"
    return table


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return round(value, 4)
    return value


def _write_csv(
    out: IO[str], columns: list[str], rows: Sequence[CampaignFigures | SeatFigures], start: str,
    end: str,
) -> None:  # fmt: skip
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period_start", "period_end", *columns])
    for row in rows:
        values = asdict(row)
        writer.writerow([start, end, *(_csv_value(values[c]) for c in columns)])


def write_campaign_csv(report: CampaignReport, out: IO[str], *, include_total: bool = True) -> None:
    """One row per campaign (and an ``ALL`` row), seconds and ratios unformatted."""
    columns = [f.name for f in fields(CampaignFigures)]
    rows: list[CampaignFigures] = list(report.campaigns)
    if include_total and len(rows) > 1:
        rows.append(report.total)
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    _write_csv(out, columns, rows, start, end)


def write_seat_csv(report: SeatReport, out: IO[str]) -> None:
    """One row per seat, durations in seconds, utilization as a ratio."""
    columns = [f.name for f in fields(SeatFigures)]
    start, end = report.period.start.isoformat(), report.period.end.isoformat()
    _write_csv(out, columns, list(report.seats), start, end)
