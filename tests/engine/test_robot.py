"""Robot mode, AMD verdict handling (on_notsure, on_machine) and inbound seats in the runner."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.calls import CallOutcome, CallState
from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    ConnectToSeat,
    CustomerLeftSeat,
    Hangup,
    PlaySafeHarbour,
    SeatRequested,
    SendToIvr,
)
from dialer.engine.robot import HANDOVER_RISK, IvrTally, new_calls_within_risk, robot_room
from dialer.engine.runner import CampaignRunner, RunnerConfig
from dialer.engine.seats import SeatBoard, SeatState
from dialer.engine.wrapup import WrapupRule
from pacing.budget import LedgerEntry, LedgerKind


def _robot(**kw: object) -> CampaignRunner:
    return CampaignRunner(
        RunnerConfig(campaign="r", mode="robot", ivr_context="dialer-robot", **kw)  # type: ignore[arg-type]
    )


def _place(r: CampaignRunner, cid: str, now: float = 0.0) -> None:
    r.call_placed(cid, 1, "+15550001", "+15550002", now)


def _kinds(r: CampaignRunner) -> list[LedgerKind]:
    return [e.kind for e in r.drain_ledger()]


# ----------------------------------------------------------------------------- robot calls


def test_a_caller_who_presses_1_is_handed_over_to_a_seat() -> None:
    r = _robot()
    r.seat_login("h1", 0.0)
    _place(r, "a")
    assert r.on_event(CallAnswered("a"), 3.0) == [SendToIvr("a", "dialer-robot")]
    assert r.calls["a"].state is CallState.IN_IVR
    assert _kinds(r) == []  # the IVR answering is not a live answer for the abandon rate
    assert r.on_event(SeatRequested("a"), 10.0) == [ConnectToSeat("a", "h1")]
    assert _kinds(r) == [LedgerKind.LIVE_ANSWER]
    r.on_event(CallConnected("a", "h1"), 10.3)
    r.on_event(CustomerLeftSeat("a", "h1"), 40.0)
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.HUMAN
    assert rec.ivr_result == "pressed" and rec.transferred
    assert rec.seat_id == "h1"
    assert rec.ivr_at == 3.0 and rec.handover_at == 10.0
    assert rec.wait_s == pytest.approx(0.3)  # from the key press, not from the answer
    assert rec.talk_s == pytest.approx(29.7)
    assert r.seats.get("h1").state is SeatState.WRAPUP


def test_a_caller_who_does_not_press_ends_as_robot_and_costs_no_budget() -> None:
    r = _robot()
    r.seat_login("h1", 0.0)
    _place(r, "a")
    r.on_event(CallAnswered("a"), 3.0)
    r.on_event(CallHungUp("a", 16), 20.0)
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.ROBOT
    assert rec.ivr_result == "not_pressed" and not rec.transferred
    assert rec.wait_s == 0.0 and rec.talk_s == 0.0
    assert _kinds(r) == []
    assert r.ivr.entered == 1 and r.ivr.finished == 1 and r.ivr.pressed == 0


def test_a_hand_over_with_no_seat_in_the_window_is_an_abandon() -> None:
    r = _robot()
    r.seat_login("h1", 0.0)
    _place(r, "a")
    _place(r, "b")
    r.on_event(CallAnswered("a"), 1.0)
    r.on_event(CallAnswered("b"), 1.0)
    r.on_event(SeatRequested("a"), 5.0)
    r.on_event(CallConnected("a", "h1"), 5.1)
    assert r.on_event(SeatRequested("b"), 6.0) == []
    assert r.next_deadline() == pytest.approx(8.0)
    assert r.tick(8.0) == [PlaySafeHarbour("b")]
    r.on_event(CallHungUp("b"), 12.0)
    recs = {rec.call_id: rec for rec in r.drain_records()}
    assert recs["b"].outcome is CallOutcome.ABANDONED and recs["b"].ivr_result == "pressed"
    assert _kinds(r) == [LedgerKind.LIVE_ANSWER, LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON]


def test_hanging_up_while_waiting_for_the_hand_over_counts_as_abandon() -> None:
    r = _robot()
    _place(r, "a")
    r.on_event(CallAnswered("a"), 1.0)
    r.on_event(SeatRequested("a"), 5.0)
    r.on_event(CallHungUp("a"), 6.0)
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.CUSTOMER_HANGUP
    assert _kinds(r) == [LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON]


def test_a_seat_request_outside_the_ivr_is_ignored() -> None:
    r = _robot()
    r.seat_login("h1", 0.0)
    _place(r, "a")
    assert r.on_event(SeatRequested("a"), 1.0) == []  # still ringing
    assert r.on_event(SeatRequested("zz"), 1.0) == []  # unknown
    assert r.calls["a"].state is CallState.PLACED


def test_robot_mode_with_amd_sends_humans_to_the_ivr_and_hangs_up_machines() -> None:
    r = _robot(amd=True)
    _place(r, "h")
    _place(r, "m")
    r.on_event(CallAnswered("h"), 1.0)
    r.on_event(CallAnswered("m"), 1.0)
    assert r.on_event(AmdResult("h", AmdStatus.HUMAN), 2.5) == [SendToIvr("h", "dialer-robot")]
    assert r.on_event(AmdResult("m", AmdStatus.MACHINE), 4.0) == [Hangup("m", "machine")]
    assert [rec.outcome for rec in r.drain_records()] == [CallOutcome.MACHINE]


def test_machines_may_hear_the_ivr_message() -> None:
    r = _robot(amd=True, on_machine="ivr")
    _place(r, "m")
    r.on_event(CallAnswered("m"), 1.0)
    assert r.on_event(AmdResult("m", AmdStatus.MACHINE), 4.0) == [SendToIvr("m", "dialer-robot")]
    r.on_event(CallHungUp("m"), 30.0)
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.MACHINE and rec.machine
    assert rec.ivr_result == "not_pressed"
    assert _kinds(r) == []


def test_on_machine_ivr_needs_an_ivr_context() -> None:
    with pytest.raises(ValueError, match="ivr_context"):
        RunnerConfig(on_machine="ivr")


# ----------------------------------------------------------------------------- AMD verdicts


def _predictive(**kw: object) -> CampaignRunner:
    settings: dict[str, object] = {"amd": True, **kw}
    return CampaignRunner(RunnerConfig(campaign="p", mode="progressive", **settings))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("on_notsure", "expected"),
    [("seat", [ConnectToSeat("a", "s1")]), ("hangup", [Hangup("a", "notsure")])],
)
def test_on_notsure_decides_what_a_not_sure_verdict_gets(
    on_notsure: str, expected: list[object]
) -> None:
    r = _predictive(on_notsure=on_notsure)
    r.seat_login("s1", 0.0)
    _place(r, "a")
    r.on_event(CallAnswered("a"), 1.0)
    assert r.on_event(AmdResult("a", AmdStatus.NOTSURE), 3.0) == expected
    if on_notsure == "hangup":
        (rec,) = r.drain_records()
        assert rec.outcome is CallOutcome.MACHINE
        assert _kinds(r) == []  # not counted as a live answer
        assert r.seats.get("s1").state is SeatState.READY
    else:
        assert _kinds(r) == [LedgerKind.LIVE_ANSWER]


def test_on_notsure_must_be_a_known_word() -> None:
    with pytest.raises(ValueError, match="on_notsure"):
        RunnerConfig(on_notsure="maybe")


def test_machines_to_a_seat_are_connected_and_never_count_as_abandons() -> None:
    r = _predictive(on_machine="seat")
    r.seat_login("s1", 0.0)
    _place(r, "m1")
    _place(r, "m2")
    r.on_event(CallAnswered("m1"), 1.0)
    r.on_event(CallAnswered("m2"), 1.0)
    assert r.on_event(AmdResult("m1", AmdStatus.MACHINE), 4.0) == [ConnectToSeat("m1", "s1")]
    assert r.on_event(AmdResult("m2", AmdStatus.MACHINE), 4.0) == []
    r.on_event(CallConnected("m1", "s1"), 4.1)
    assert r.tick(6.5) == [PlaySafeHarbour("m2")]
    r.on_event(CustomerLeftSeat("m1", "s1"), 30.0)
    outcomes = {rec.call_id: rec.outcome for rec in r.drain_records()}
    assert outcomes == {"m1": CallOutcome.MACHINE, "m2": CallOutcome.MACHINE}
    assert _kinds(r) == []


# ----------------------------------------------------------------------------- inbound seats


def test_an_inbound_call_takes_a_ready_seat_through_talk_and_wrap_up() -> None:
    r = _predictive()
    r.seat_login("s1", 0.0)
    assert r.inbound_to_seat("in-1", "s1", 5.0) == ConnectToSeat("in-1", "s1")
    assert r.seats.get("s1").state is SeatState.RESERVED
    assert r.inbound_to_seat("in-2", "s1", 5.0) is None  # taken
    r.on_event(CallConnected("in-1", "s1"), 5.2)
    assert r.seats.get("s1").state is SeatState.TALKING
    r.on_event(CustomerLeftSeat("in-1", "s1"), 65.0)
    seat = r.seats.get("s1")
    assert seat.state is SeatState.WRAPUP and seat.call_id == "in-1"
    r.on_event(CallHungUp("in-1"), 65.1)  # after leaving the seat: nothing more to do
    assert r.drain_records() == [] and _kinds(r) == []
    assert r.inbound_seat("in-1") is None


def test_an_inbound_call_that_never_arrives_gives_its_seat_back() -> None:
    r = _predictive()
    r.seat_login("s1", 0.0)
    assert r.inbound_to_seat("in-1", "s1", 5.0) is not None
    r.inbound_release("in-1", 6.0)
    assert r.seats.get("s1").state is SeatState.READY
    assert r.inbound_to_seat("in-2", "nobody", 5.0) is None


def test_a_reserved_inbound_seat_is_not_given_to_an_outbound_answer() -> None:
    r = _predictive(amd=False)
    r.seat_login("s1", 0.0)
    r.inbound_to_seat("in-1", "s1", 1.0)
    _place(r, "a")
    assert r.on_event(CallAnswered("a"), 2.0) == []  # waits for a seat
    assert r.on_event(CallHungUp("in-1"), 2.5) == [ConnectToSeat("a", "s1")]


# ----------------------------------------------------------------------------- robot pacing


def test_robot_pacing_fills_the_lines_without_seats() -> None:
    r = _robot(max_lines=5)
    assert r.dial_demand(0.0) == 5
    for i in range(5):
        _place(r, f"c{i}")
    assert r.dial_demand(0.1) == 0
    r.on_event(CallAnswered("c0"), 2.0)  # in the IVR: still a line
    assert r.dial_demand(2.1) == 0
    r.on_event(CallHungUp("c0"), 9.0)
    assert r.dial_demand(9.1) == 1


def test_robot_pacing_stops_when_no_hand_over_seat_is_on_duty() -> None:
    r = _robot(max_lines=50)
    r.seat_login("h1", 0.0, phone_up=False)
    assert r.dial_demand(0.0) == 0
    r.seat_ready("h1", 1.0)
    assert r.dial_demand(1.0) > 0


def test_without_abandon_budget_robot_pacing_is_progressive_for_the_hand_over_side() -> None:
    r = _robot(max_lines=1000)
    r.seat_login("h1", 0.0)
    r.seat_login("h2", 0.0)
    r.ivr.finished, r.ivr.pressed = 500, 5  # even when few press
    assert r.dial_demand(0.0) == 2


def test_with_a_budget_robot_pacing_learns_the_press_rate() -> None:
    history = [LedgerEntry(-3600.0, LedgerKind.LIVE_ANSWER)] * 600
    r = CampaignRunner(
        RunnerConfig(campaign="r", mode="robot", ivr_context="ivr", max_lines=1000),
        history=history,
    )
    r.seat_login("h1", 0.0)
    cautious = r.dial_demand(0.0)
    r.release_demand(cautious)
    r.ivr.finished = 200  # few press: the IVR pipeline may grow
    r.ivr.pressed = 4
    assert r.dial_demand(1.0) > 5 * cautious


@given(
    max_lines=st.one_of(st.none(), st.integers(1, 200)),
    lines=st.integers(0, 300),
    in_ivr=st.integers(0, 100),
    unanswered=st.integers(0, 100),
    ready=st.integers(0, 5),
    busy=st.integers(0, 5),
    pressed=st.integers(0, 50),
    finished=st.integers(0, 500),
    hit=st.floats(0.0, 1.0),
    allowed=st.integers(-3, 20),
)
def test_robot_room_never_exceeds_the_lines_nor_fills_the_pipeline_beyond_the_seats(
    max_lines: int | None,
    lines: int,
    in_ivr: int,
    unanswered: int,
    ready: int,
    busy: int,
    pressed: int,
    finished: int,
    hit: float,
    allowed: int,
) -> None:
    board = SeatBoard()
    for i in range(ready + busy):
        board.add(f"s{i}")
        board.move(f"s{i}", SeatState.READY, 0.0)
        if i >= ready:
            board.move(f"s{i}", SeatState.RESERVED, 0.0)
    p = IvrTally(entered=pressed + finished, pressed=pressed, finished=finished).press_rate_upper()
    room = robot_room(
        max_lines=max_lines, lines=lines, unanswered=unanswered, in_ivr=in_ivr, waiting=0,
        seats=board, press_rate=p, hit_rate=hit, allowed_abandons=allowed,
    )  # fmt: skip
    assert room >= 0
    if max_lines is not None:
        assert lines + room <= max(lines, max_lines)
    if ready + busy == 0:  # pure broadcast: only the lines limit
        assert room == max(0, (10_000 if max_lines is None else max_lines) - lines)
    elif room > 0 and allowed <= 0:
        # No budget: as if every call in flight were answered and pressed 1.
        assert in_ivr + unanswered + room <= ready
    elif room > 0:
        # More presses than ready seats (upper press rate) stays unlikely.
        q = min(1.0, max(hit, 0.05)) * p
        assert (
            _chance_above(ready, [p] * in_ivr + [q] * (unanswered + room)) <= HANDOVER_RISK + 1e-9
        )


def _chance_above(k: int, probs: list[float]) -> float:
    """P(more than k of independent events with these probabilities), by polynomial products."""
    poly = np.array([1.0])
    for x in probs:
        poly = np.convolve(poly, [1.0 - x, x])
    return float(poly[k + 1 :].sum())


def test_new_calls_keep_the_chance_of_too_many_presses_under_the_risk() -> None:
    assert new_calls_within_risk(2, 0, 0, 1.0, 1.0, 0.05, room=50) == 2
    assert new_calls_within_risk(0, 0, 0, 0.5, 0.5, 0.05, room=50) == 0
    assert new_calls_within_risk(2, 0, 0, 0.5, 0.0, 0.05, room=50) == 50  # nobody answers
    few = new_calls_within_risk(2, 1, 0, 0.5, 0.4, 0.05, room=100)
    many = new_calls_within_risk(2, 1, 0, 0.1, 0.08, 0.05, room=100)
    assert 0 < few < many < 100
    assert (
        _chance_above(2, [0.5] + [0.4] * few) <= 0.05 < _chance_above(2, [0.5] + [0.4] * (few + 1))
    )
    big = new_calls_within_risk(200, 0, 0, 0.25, 0.25, 0.05, room=10_000)  # normal approximation
    assert 700 < big < 800  # mean k q + 1.645 sd within 200.5 seats


# ----------------------------------------------------------------------------- wrap-up rule


def test_timed_wrap_up_ends_after_its_time_whatever_the_disposition() -> None:
    rule = WrapupRule("timed", timed_s=5.0)
    assert not rule.over(4.9, disposed=True)
    assert rule.over(5.0, disposed=False)


def test_disposition_wrap_up_waits_for_the_disposition_or_its_maximum() -> None:
    rule = WrapupRule("disposition", timed_s=2.0, max_s=60.0)
    assert rule.waits_for_disposition
    assert not rule.over(30.0, disposed=False)
    assert rule.over(0.5, disposed=True)
    assert rule.over(60.0, disposed=False)
    # an inbound callback has no attempt to dispose: timed
    assert rule.over(2.0, disposed=False, disposable=False)


def test_wrap_up_rule_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="timed or disposition"):
        WrapupRule("forever")
