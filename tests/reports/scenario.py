"""A small hand-checked hour of two campaigns, used by the report tests.

Every figure the tests expect is computed by hand in the comments next to the records.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.reports.records import AttemptRecord, Period

PERIOD = Period(datetime(2026, 11, 25, 9, 0, tzinfo=UTC), datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


def at(minute: int, second: int = 0) -> datetime:
    return PERIOD.start + timedelta(minutes=minute, seconds=second)


def call(
    id: str, campaign: str, placed: datetime, outcome: str, *, seat: str | None = None,
    answered: datetime | None = None, connected: datetime | None = None,
    talk: float | None = None, hold: float | None = None, wrapup: float | None = None,
    ring: float | None = None, amd: str | None = None, transferred: bool = False,
    ended: datetime | None = None,
) -> AttemptRecord:  # fmt: skip
    if ended is None and connected is not None and talk is not None:
        ended = connected + timedelta(seconds=talk)
    return AttemptRecord(
        id=id, campaign=campaign, placed_at=placed, outcome=outcome, seat_id=seat,
        answered_at=answered, amd_result=amd, connected_at=connected, ended_at=ended,
        ring_s=ring, wait_s=None if connected is None or answered is None
        else (connected - answered).total_seconds(),
        talk_s=talk, hold_s=hold, wrapup_s=wrapup, transferred=transferred,
    )  # fmt: skip


ROWS = [
    # demo: s1 takes a1 (free again at 09:02:11 + 30 s wrap-up = 09:02:41) ...
    call("a1", "demo", at(0), "human", seat="s1", answered=at(0, 10), connected=at(0, 11),
         talk=120, hold=20, wrapup=30, ring=10),
    call("a2", "demo", at(0, 5), "machine", answered=at(0, 20), amd="MACHINE", ring=15,
         ended=at(0, 40)),
    call("a3", "demo", at(1), "busy"),
    call("a4", "demo", at(2), "abandoned", answered=at(2, 12), ring=12, ended=at(2, 20)),
    # ... and a5 at 09:03:09: 28 s idle between calls; free again at 09:04:09 + 10 s.
    call("a5", "demo", at(3), "human", seat="s1", answered=at(3, 8), connected=at(3, 9),
         talk=60, hold=0, wrapup=10, ring=8, transferred=True),
    call("a6", "demo", at(4), "no_answer", ring=25),
    call("a7", "demo", at(5), "cancelled"),
    # s2 takes a8 (free again at 09:05:37 + 20 s = 09:05:57) ...
    call("a8", "demo", at(0, 30), "human", seat="s2", answered=at(0, 36), connected=at(0, 37),
         talk=300, hold=45, wrapup=20, ring=6),
    # ... then r1 at 09:10:06: 249 s idle between calls.
    call("r1", "retention", at(10), "human", seat="s2", answered=at(10, 5), connected=at(10, 6),
         talk=90, hold=10, wrapup=15, ring=5),
    call("r2", "retention", at(12), "abandoned", answered=at(12, 9), ring=9),
    # Outside the period (end is exclusive): ignored by every figure.
    call("x1", "demo", PERIOD.end, "human", seat="s1", answered=at(60, 5), connected=at(60, 6),
         talk=999, wrapup=1, ring=5),
    call("x2", "demo", PERIOD.start - timedelta(seconds=1), "busy"),
]  # fmt: skip

SEAT_NAMES = {"s1": "Alice", "s2": "Bob", "s3": "Carol"}
