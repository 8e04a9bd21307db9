"""The outbound call-centre reports: per campaign and per seat, as tables and CSV.

    from dialer.reports import Period, build_campaign_report, campaign_table
    with engine.connect() as conn:
        rows = load_attempts(conn, period)
    console.print(campaign_table(build_campaign_report(rows, period)))

Computation (:mod:`.figures`) is pure over :class:`AttemptRecord` values; :mod:`.load` reads them
from the attempts table; :mod:`.render` draws tables and writes CSV.
"""

from dialer.reports.figures import (
    CampaignFigures,
    CampaignReport,
    SeatFigures,
    SeatReport,
    build_campaign_report,
    build_seat_report,
)
from dialer.reports.records import AttemptRecord, Period
from dialer.reports.render import campaign_table, seat_table, write_campaign_csv, write_seat_csv

__all__ = [
    "AttemptRecord",
    "CampaignFigures",
    "CampaignReport",
    "Period",
    "SeatFigures",
    "SeatReport",
    "build_campaign_report",
    "build_seat_report",
    "campaign_table",
    "seat_table",
    "write_campaign_csv",
    "write_seat_csv",
]
