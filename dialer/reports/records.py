"""The inputs of the reports: one record per attempt, and the period a report covers.

``AttemptRecord`` mirrors the columns of the ``attempts`` table that the reports read, so the
computation is pure (tests build records by hand) and the database loader only maps rows.

Timing conventions (seconds), as the daemon records them:

- ``ring_s``: Originate → answer (or → give-up for unanswered calls);
- ``wait_s``: answer → connected to a seat (the customer's wait, the 2-second rule);
- ``talk_s``: connected → customer left the seat, *including* any time on hold;
- ``hold_s``: the part of ``talk_s`` the customer spent on hold;
- ``wrapup_s``: after the call, until the seat was ready again (after-call work).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open time range ``[start, end)`` over ``placed_at``, in aware UTC datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"period {name} {value.isoformat()} has no time zone (use UTC)")
        if self.end <= self.start:
            raise ValueError(
                f"period end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def hours(self) -> float:
        """Length of the period in hours."""
        return (self.end - self.start) / timedelta(hours=1)

    def label(self) -> str:
        """``2026-11-25 00:00 → 2026-11-26 00:00 UTC`` for table titles."""
        fmt = "%Y-%m-%d %H:%M"
        return f"{self.start:{fmt}} → {self.end:{fmt}} UTC"


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt, as far as the reports are concerned (see the module docstring for timings)."""

    id: str
    campaign: str
    placed_at: datetime
    outcome: str | None = None
    seat_id: str | None = None
    answered_at: datetime | None = None
    amd_result: str | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    ring_s: float | None = None
    wait_s: float | None = None
    talk_s: float | None = None
    hold_s: float | None = None
    wrapup_s: float | None = None
    transferred: bool = False
    ivr_result: str | None = None  # robot mode: pressed / not_pressed

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> AttemptRecord:
        """Build from a row of the attempts table (a SQLAlchemy ``RowMapping`` or a dict)."""
        return cls(
            id=str(row["id"]),
            campaign=str(row["campaign"]),
            placed_at=row["placed_at"],
            outcome=row.get("outcome"),
            seat_id=row.get("seat_id"),
            answered_at=row.get("answered_at"),
            amd_result=row.get("amd_result"),
            connected_at=row.get("connected_at"),
            ended_at=row.get("ended_at"),
            ring_s=row.get("ring_s"),
            wait_s=row.get("wait_s"),
            talk_s=row.get("talk_s"),
            hold_s=row.get("hold_s"),
            wrapup_s=row.get("wrapup_s"),
            transferred=bool(row.get("transferred") or False),
            ivr_result=row.get("ivr_result"),
        )

    # ------------------------------------------------------------------ classification

    @property
    def dialled(self) -> bool:
        """Sent to Asterisk (``cancelled`` attempts were recorded but never placed)."""
        return self.outcome != "cancelled"

    @property
    def answered(self) -> bool:
        """Someone or something picked up."""
        return self.answered_at is not None or self.outcome in _ANSWERED_OUTCOMES

    @property
    def machine(self) -> bool:
        """Answered by an answering machine."""
        return self.outcome == "machine" or (self.amd_result or "").lower() == "machine"

    @property
    def live_answer(self) -> bool:
        """Answered by a person: the denominator of the abandon rate."""
        return self.answered and not self.machine

    @property
    def wanted_a_seat(self) -> bool:
        """A live answer that needed a seat: the abandon rate's denominator. In robot mode only
        the callers who asked the IVR for a person (docs/robot-and-callbacks.md)."""
        return self.live_answer and self.ivr_result != "not_pressed"

    @property
    def connected(self) -> bool:
        """A seat took the call (a contact)."""
        return self.connected_at is not None and self.seat_id is not None

    @property
    def abandoned(self) -> bool:
        """A person answered and no seat was connected in time."""
        return self.outcome == "abandoned"


_ANSWERED_OUTCOMES = frozenset({"human", "machine", "abandoned", "robot", "customer_hangup"})
