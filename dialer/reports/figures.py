"""The outbound call-centre reports, computed from attempt records: per campaign and per seat.

Pure functions: give them the attempts placed in a period (``load.load_attempts`` reads them from
the database) and they return plain dataclasses that the renderers turn into tables and CSV.

Definitions (the words of the outbound call-centre practice the product follows):

- total calls: every attempt recorded in the period, even one cancelled before it was placed;
- outbound dialled: attempts actually sent to Asterisk;
- answered human / machine: answered, split by answering-machine detection;
- connected: answered calls bridged to a seat (contacts);
- abandon rate: abandoned / live (human) answers, as the regulators define it (robot mode: over
  the callers who asked the IVR for a person, as the abandon ledger counts them);
- contacts per agent hour: connected calls / agent hours, where agent hours are the seats'
  logged-in time when the caller has it (``agent_seconds``), else the time each seat spent from
  its first call to the end of its last wrap-up in the period;
- dial ratio: outbound dialled / connected (calls placed per contact);
- seat idle time: the gaps between the end of one call's wrap-up and the next connect;
- utilization: (talk + wrap-up) / (talk + wrap-up + idle between calls).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from dialer.reports.records import AttemptRecord, Period


@dataclass(frozen=True, slots=True)
class CampaignFigures:
    """One campaign's figures over a period."""

    campaign: str
    total_calls: int
    dialled: int
    answered_human: int
    answered_machine: int
    connected: int
    abandoned: int
    abandon_rate: float | None  # abandoned / answered_human (robot: hand-over requests); or None
    transfers: int
    agent_hours: float
    contacts_per_agent_hour: float | None
    dial_ratio: float | None  # dialled / connected; None without contacts


@dataclass(frozen=True, slots=True)
class SeatFigures:
    """One seat's figures over a period (durations in seconds)."""

    seat_id: str
    name: str
    calls_handled: int
    longest_call_s: float
    talk_s: float
    avg_talk_s: float
    avg_ring_s: float | None  # of the calls this seat took
    idle_between_calls_s: float
    hold_s: float
    avg_hold_s: float
    wrapup_s: float
    utilization: float | None  # None when nothing to measure (no talk, wrap-up or idle)


@dataclass(frozen=True, slots=True)
class CampaignReport:
    period: Period
    campaigns: tuple[CampaignFigures, ...]
    total: CampaignFigures  # all campaigns together, campaign name "ALL"


@dataclass(frozen=True, slots=True)
class SeatReport:
    period: Period
    seats: tuple[SeatFigures, ...]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _in_period(rows: Iterable[AttemptRecord], period: Period) -> list[AttemptRecord]:
    return [r for r in rows if r.placed_at in period]


def _seat_busy_span_s(calls: list[AttemptRecord]) -> float:
    """From the seat's first connect to the end of its last wrap-up."""
    first = min(c.connected_at for c in calls if c.connected_at is not None)
    last = max(_call_free_at(c) for c in calls)
    return max(0.0, (last - first).total_seconds())


def _call_free_at(call: AttemptRecord) -> datetime:
    """When the seat was free again after ``call``: end (or connect + talk) plus wrap-up."""
    assert call.connected_at is not None
    end = call.ended_at or call.connected_at + timedelta(seconds=call.talk_s or 0.0)
    return end + timedelta(seconds=call.wrapup_s or 0.0)


def _figures(
    campaign: str, rows: list[AttemptRecord], agent_seconds: float | None
) -> CampaignFigures:
    dialled = sum(r.dialled for r in rows)
    human = sum(r.live_answer for r in rows)
    connected = sum(r.connected for r in rows)
    abandoned = sum(r.abandoned for r in rows)
    if agent_seconds is None:
        by_seat: dict[str, list[AttemptRecord]] = defaultdict(list)
        for r in rows:
            if r.connected and r.seat_id is not None:
                by_seat[r.seat_id].append(r)
        agent_seconds = sum(_seat_busy_span_s(calls) for calls in by_seat.values())
    agent_hours = agent_seconds / 3600
    return CampaignFigures(
        campaign=campaign,
        total_calls=len(rows),
        dialled=dialled,
        answered_human=human,
        answered_machine=sum(r.answered and r.machine for r in rows),
        connected=connected,
        abandoned=abandoned,
        abandon_rate=_ratio(abandoned, sum(r.wanted_a_seat for r in rows)),
        transfers=sum(r.transferred for r in rows),
        agent_hours=agent_hours,
        contacts_per_agent_hour=_ratio(connected, agent_hours),
        dial_ratio=_ratio(dialled, connected),
    )


def build_campaign_report(
    rows: Iterable[AttemptRecord],
    period: Period,
    *,
    agent_seconds: Mapping[str, float] | None = None,
) -> CampaignReport:
    """Per-campaign figures for the attempts placed in ``period`` (others are ignored).

    ``agent_seconds`` (campaign → seconds of logged-in seat time) gives exact agent hours when
    the caller has seat session data; otherwise they are estimated from the calls themselves.
    """
    selected = _in_period(rows, period)
    by_campaign: dict[str, list[AttemptRecord]] = defaultdict(list)
    for r in selected:
        by_campaign[r.campaign].append(r)
    campaigns = tuple(
        _figures(
            name,
            by_campaign[name],
            None if agent_seconds is None else agent_seconds.get(name, 0.0),
        )
        for name in sorted(by_campaign)
    )
    # The total's agent time is the sum of the campaigns' (consistent with the rows above).
    total_agent = (
        sum(agent_seconds.values())
        if agent_seconds is not None
        else sum(c.agent_hours for c in campaigns) * 3600
    )
    total = _figures("ALL", selected, total_agent)
    return CampaignReport(period=period, campaigns=campaigns, total=total)


def build_seat_report(
    rows: Iterable[AttemptRecord],
    period: Period,
    *,
    seat_names: Mapping[str, str | None] | None = None,
) -> SeatReport:
    """Per-seat figures for the calls connected to a seat among the attempts of ``period``.

    ``seat_names`` maps seat id → display name (from the seats table); seats without calls in
    the period but named there are listed with zeros, so an idle seat shows up in the report.
    """
    names = dict(seat_names or {})
    by_seat: dict[str, list[AttemptRecord]] = defaultdict(list)
    for r in _in_period(rows, period):
        if r.connected and r.seat_id is not None:
            by_seat[r.seat_id].append(r)
    seats = []
    for seat_id in sorted(set(by_seat) | set(names)):
        calls = sorted(by_seat.get(seat_id, []), key=_connected_at)
        seats.append(_seat_figures(seat_id, names.get(seat_id) or seat_id, calls))
    return SeatReport(period=period, seats=tuple(seats))


def _connected_at(call: AttemptRecord) -> datetime:
    assert call.connected_at is not None
    return call.connected_at


def _seat_figures(seat_id: str, name: str, calls: list[AttemptRecord]) -> SeatFigures:
    handled = len(calls)
    talks = [c.talk_s or 0.0 for c in calls]
    rings = [c.ring_s for c in calls if c.ring_s is not None]
    talk = sum(talks)
    hold = sum(c.hold_s or 0.0 for c in calls)
    wrapup = sum(c.wrapup_s or 0.0 for c in calls)
    idle = 0.0
    for previous, following in pairwise(calls):
        assert following.connected_at is not None
        gap = (following.connected_at - _call_free_at(previous)).total_seconds()
        idle += max(0.0, gap)
    busy = talk + wrapup
    return SeatFigures(
        seat_id=seat_id,
        name=name,
        calls_handled=handled,
        longest_call_s=max(talks, default=0.0),
        talk_s=talk,
        avg_talk_s=talk / handled if handled else 0.0,
        avg_ring_s=sum(rings) / len(rings) if rings else None,
        idle_between_calls_s=idle,
        hold_s=hold,
        avg_hold_s=hold / handled if handled else 0.0,
        wrapup_s=wrapup,
        utilization=_ratio(busy, busy + idle),
    )
