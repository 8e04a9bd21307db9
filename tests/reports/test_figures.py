"""Report figures on synthetic attempts match the values computed by hand (see scenario.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.reports import AttemptRecord, Period, build_campaign_report, build_seat_report
from tests.reports.scenario import PERIOD, ROWS, SEAT_NAMES


def test_campaign_figures_by_hand() -> None:
    report = build_campaign_report(ROWS, PERIOD)
    demo, retention = report.campaigns
    assert demo.campaign == "demo"
    assert (demo.total_calls, demo.dialled) == (8, 7)  # a7 was cancelled, never placed
    assert (demo.answered_human, demo.answered_machine) == (4, 1)  # a1 a4 a5 a8 / a2
    assert (demo.connected, demo.abandoned, demo.transfers) == (3, 1, 1)
    assert demo.abandon_rate == pytest.approx(1 / 4)
    # s1 busy 09:00:11 → 09:04:19 (248 s), s2 09:00:37 → 09:05:57 (320 s)
    assert demo.agent_hours == pytest.approx(568 / 3600)
    assert demo.contacts_per_agent_hour == pytest.approx(3 / (568 / 3600))
    assert demo.dial_ratio == pytest.approx(7 / 3)

    assert retention.campaign == "retention"
    assert (retention.total_calls, retention.dialled, retention.answered_human) == (2, 2, 2)
    assert (retention.connected, retention.abandoned) == (1, 1)
    assert retention.abandon_rate == pytest.approx(0.5)
    assert retention.agent_hours == pytest.approx(105 / 3600)  # 09:10:06 → 09:11:51
    assert retention.dial_ratio == pytest.approx(2.0)

    total = report.total
    assert total.campaign == "ALL"
    assert (total.total_calls, total.dialled, total.answered_human) == (10, 9, 6)
    assert (total.answered_machine, total.connected, total.abandoned) == (1, 4, 2)
    assert total.abandon_rate == pytest.approx(2 / 6)
    assert total.agent_hours == pytest.approx(673 / 3600)
    assert total.contacts_per_agent_hour == pytest.approx(4 * 3600 / 673)
    assert total.dial_ratio == pytest.approx(9 / 4)


def test_agent_hours_from_seat_sessions_when_given() -> None:
    report = build_campaign_report(
        ROWS, PERIOD, agent_seconds={"demo": 2 * 3600, "retention": 3600}
    )
    demo = report.campaigns[0]
    assert demo.agent_hours == 2.0
    assert demo.contacts_per_agent_hour == pytest.approx(1.5)
    assert report.total.agent_hours == 3.0
    assert report.total.contacts_per_agent_hour == pytest.approx(4 / 3)


def test_seat_figures_by_hand() -> None:
    report = build_seat_report(ROWS, PERIOD, seat_names=SEAT_NAMES)
    s1, s2, s3 = report.seats
    assert (s1.seat_id, s1.name, s1.calls_handled) == ("s1", "Alice", 2)
    assert (s1.longest_call_s, s1.talk_s, s1.avg_talk_s) == (120, 180, 90)
    assert s1.avg_ring_s == pytest.approx(9)  # (10 + 8) / 2
    assert s1.idle_between_calls_s == pytest.approx(28)
    assert (s1.hold_s, s1.avg_hold_s, s1.wrapup_s) == (20, 10, 40)
    assert s1.utilization == pytest.approx(220 / 248)

    assert (s2.name, s2.calls_handled, s2.longest_call_s, s2.talk_s) == ("Bob", 2, 300, 390)
    assert s2.avg_talk_s == 195
    assert s2.avg_ring_s == pytest.approx(5.5)
    assert s2.idle_between_calls_s == pytest.approx(249)
    assert (s2.hold_s, s2.avg_hold_s, s2.wrapup_s) == (55, 27.5, 35)
    assert s2.utilization == pytest.approx(425 / 674)

    # A named seat with no call is listed, with nothing to average.
    assert (s3.seat_id, s3.name, s3.calls_handled, s3.talk_s) == ("s3", "Carol", 0, 0)
    assert s3.avg_ring_s is None and s3.utilization is None


def test_empty_period() -> None:
    empty = Period(PERIOD.end + timedelta(days=1), PERIOD.end + timedelta(days=2))
    report = build_campaign_report(ROWS, empty)
    assert report.campaigns == ()
    assert report.total.total_calls == 0
    assert report.total.abandon_rate is None and report.total.dial_ratio is None
    assert build_seat_report(ROWS, empty).seats == ()


def test_period_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        Period(datetime(2026, 11, 25), datetime(2026, 11, 26, tzinfo=UTC))
    with pytest.raises(ValueError, match="is not after start"):
        Period(PERIOD.end, PERIOD.start)


outcomes = st.sampled_from(
    ["human", "machine", "abandoned", "busy", "no_answer", "failed", "cancelled", "robot"]
)


@st.composite
def attempts(draw: st.DrawFn) -> AttemptRecord:
    outcome = draw(outcomes)
    placed = PERIOD.start + timedelta(seconds=draw(st.integers(0, 3599)))
    answered = outcome in ("human", "machine", "abandoned", "robot")
    seat = draw(st.sampled_from(["s1", "s2", "s3"])) if outcome == "human" else None
    answered_at = placed + timedelta(seconds=draw(st.integers(1, 30))) if answered else None
    connected_at = answered_at + timedelta(seconds=1) if seat and answered_at else None
    return AttemptRecord(
        id=str(draw(st.uuids())),
        campaign=draw(st.sampled_from(["a", "b"])),
        placed_at=placed,
        outcome=outcome,
        seat_id=seat,
        answered_at=answered_at,
        connected_at=connected_at,
        talk_s=draw(st.floats(0, 600)) if seat else None,
        wrapup_s=draw(st.floats(0, 60)) if seat else None,
        transferred=draw(st.booleans()),
    )


@given(st.lists(attempts(), max_size=60))
def test_totals_are_sums_of_campaigns_and_bounded(rows: list[AttemptRecord]) -> None:
    report = build_campaign_report(rows, PERIOD)
    for field in ("total_calls", "dialled", "answered_human", "answered_machine", "connected",
                  "abandoned", "transfers"):  # fmt: skip
        assert getattr(report.total, field) == sum(getattr(c, field) for c in report.campaigns)
    for c in [*report.campaigns, report.total]:
        assert c.connected + c.abandoned <= c.answered_human <= c.dialled <= c.total_calls
        if c.abandon_rate is not None:
            assert 0 <= c.abandon_rate <= 1
    seats = build_seat_report(rows, PERIOD)
    assert sum(s.calls_handled for s in seats.seats) == report.total.connected
    for s in seats.seats:
        assert s.utilization is None or 0 <= s.utilization <= 1
        assert s.longest_call_s <= s.talk_s + 1e-9


def test_robot_abandon_rate_counts_the_callers_who_asked_for_a_person() -> None:
    t = PERIOD.start + timedelta(minutes=1)

    def robot(i: int, outcome: str, ivr: str, seat: str | None = None) -> AttemptRecord:
        return AttemptRecord(
            id=f"r{i}", campaign="bot", placed_at=t, outcome=outcome, answered_at=t,
            seat_id=seat, connected_at=t if seat else None, ivr_result=ivr,
            transferred=seat is not None,
        )  # fmt: skip

    rows = [robot(i, "robot", "not_pressed") for i in range(16)]
    rows += [robot(20, "human", "pressed", "s1"), robot(21, "human", "pressed", "s2")]
    rows += [robot(22, "human", "pressed", "s1"), robot(23, "abandoned", "pressed")]
    (bot,) = build_campaign_report(rows, PERIOD).campaigns
    assert bot.answered_human == 20  # everyone who picked up
    assert bot.abandon_rate == pytest.approx(1 / 4)  # 1 of the 4 who pressed 1
    assert bot.transfers == 3 and bot.connected == 3
