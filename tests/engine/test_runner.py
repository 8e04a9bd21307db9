"""The campaign runner: connect, wait, abandon, machines, dial demand, ledger and records."""

from __future__ import annotations

import pytest

from dialer.engine.calls import CallOutcome
from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    ConnectToSeat,
    CustomerLeftSeat,
    FailReason,
    Hangup,
    OriginateFailed,
    PlaySafeHarbour,
)
from dialer.engine.runner import CampaignRunner, RunnerConfig
from dialer.engine.seats import SeatState
from pacing.budget import LedgerEntry, LedgerKind
from pacing.estimators import OutcomeRates


def _runner(mode: str = "progressive", **kw) -> CampaignRunner:
    return CampaignRunner(RunnerConfig(campaign="c1", mode=mode, **kw))


def _place(r: CampaignRunner, cid: str, now: float = 0.0) -> None:
    r.call_placed(cid, 1, "+15550001", "+15550002", now)


def test_live_answer_goes_to_the_longest_idle_seat() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.seat_login("s2", 1.0)
    _place(r, "a")
    cmds = r.on_event(CallAnswered("a"), 10.0)
    assert cmds == [ConnectToSeat("a", "s1")]
    r.on_event(CallConnected("a", "s1"), 10.2)
    assert r.seats.get("s1").state is SeatState.TALKING
    r.on_event(CustomerLeftSeat("a", "s1"), 70.0)
    assert r.seats.get("s1").state is SeatState.WRAPUP
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.HUMAN and rec.talk_s == pytest.approx(59.8)
    assert [e.kind for e in r.drain_ledger()] == [LedgerKind.LIVE_ANSWER]


def test_answer_waits_for_a_seat_within_the_connect_window() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.on_event(CallConnected("x", "s1"), 0.0)  # unknown call: ignored
    _place(r, "a")
    _place(r, "b")
    r.on_event(CallAnswered("a"), 5.0)
    r.on_event(CallConnected("a", "s1"), 5.1)
    assert r.on_event(CallAnswered("b"), 6.0) == []
    assert r.next_deadline() == pytest.approx(8.0)
    r.on_event(CustomerLeftSeat("a", "s1"), 7.0)
    assert r.seat_ready("s1", 7.5) == [ConnectToSeat("b", "s1")]
    r.on_event(CallConnected("b", "s1"), 7.6)
    assert r.tick(9.0) == []
    assert r.seats.get("s1").state is SeatState.TALKING


def test_a_seat_freeing_too_late_in_the_window_does_not_take_the_call() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    _place(r, "a")
    _place(r, "b")
    assert r.on_event(CallAnswered("a"), 5.0) == [ConnectToSeat("a", "s1")]
    r.on_event(CallConnected("a", "s1"), 5.0)
    r.on_event(CallAnswered("b"), 6.0)  # waits; its window ends at 8.0
    r.on_event(CustomerLeftSeat("a", "s1"), 7.8)
    # 0.15 s left < the 0.25 s margin: abandoned now rather than bridged after the window
    assert r.seat_ready("s1", 7.85) == [PlaySafeHarbour("b")]
    assert r.seats.get("s1").state is SeatState.READY
    outcomes = {rec.call_id: rec.outcome for rec in r.drain_records()}
    assert outcomes["b"] is CallOutcome.ABANDONED


def test_connect_margin_must_fit_in_the_window() -> None:
    with pytest.raises(ValueError, match="connect_margin_s"):
        RunnerConfig(connect_window_s=2.0, connect_margin_s=2.0)


def test_a_connect_that_does_not_complete_in_time_is_abandoned() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    _place(r, "a")
    assert r.on_event(CallAnswered("a"), 5.0) == [ConnectToSeat("a", "s1")]
    assert r.tick(7.0) == [PlaySafeHarbour("a")]  # the bridge never came up
    assert r.seats.get("s1").state is SeatState.READY
    assert r.drain_records()[0].outcome is CallOutcome.ABANDONED


def test_no_seat_in_time_is_an_abandon_with_safe_harbour() -> None:
    r = _runner()
    _place(r, "a")
    r.on_event(CallAnswered("a"), 5.0)
    assert r.tick(6.9) == []
    assert r.tick(7.0) == [PlaySafeHarbour("a")]
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.ABANDONED
    assert [e.kind for e in r.drain_ledger()] == [LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON]
    assert r.controller.ledger.counts(8.0) == (1, 1)


def test_machines_are_hung_up_with_amd() -> None:
    r = _runner(amd=True)
    r.seat_login("s1", 0.0)
    _place(r, "m")
    assert r.on_event(CallAnswered("m"), 3.0) == []
    assert r.on_event(AmdResult("m", AmdStatus.MACHINE), 6.0) == [Hangup("m", "machine")]
    assert r.drain_records()[0].outcome is CallOutcome.MACHINE
    assert r.seats.get("s1").state is SeatState.READY


def test_failures_are_recorded_and_free_the_line() -> None:
    r = _runner()
    _place(r, "b")
    r.on_event(OriginateFailed("b", FailReason.BUSY, 17), 4.0)
    (rec,) = r.drain_records()
    assert rec.outcome is CallOutcome.BUSY and rec.cause == 17 and r.lines_in_use == 0


def test_dial_demand_counts_requested_calls() -> None:
    r = _runner()
    for s in ("s1", "s2", "s3"):
        r.seat_login(s, 0.0)
    assert r.dial_demand(1.0) == 3
    assert r.dial_demand(1.5) == 0  # three requested, not yet placed
    _place(r, "a", 2.0)
    assert r.dial_demand(2.0) == 0
    r.release_demand(2)
    assert r.dial_demand(2.5) == 2
    assert r.dial_demand(20.0) == 2  # requests lapse after request_ttl_s


def test_attempt_ids_are_never_reused() -> None:
    r = _runner()
    _place(r, "a")
    with pytest.raises(ValueError, match="already in use"):
        _place(r, "a")


def test_predictive_is_progressive_until_it_has_budget() -> None:
    r = _runner("predictive")
    for i in range(10):
        r.seat_login(f"s{i}", 0.0)
    assert r.dial_demand(0.0) == 10  # no budget yet: one line per idle seat
    assert r.controller.last_reason == "budget"


def test_history_restores_the_abandon_budget() -> None:
    history = [LedgerEntry(float(i), LedgerKind.LIVE_ANSWER) for i in range(1000)]
    r = CampaignRunner(RunnerConfig(mode="predictive"), history=history)
    assert r.controller.allowed_abandons(1000.0) == 30


def test_ring_timeout_below_the_legal_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="15 s"):
        RunnerConfig(ring_timeout_s=10)


def test_robot_mode_sends_live_answers_to_the_ivr() -> None:
    from dialer.engine.events import SendToIvr

    r = _runner(ivr_context="survey")
    _place(r, "a")
    assert r.on_event(CallAnswered("a"), 4.0) == [SendToIvr("a", "survey")]
    assert r.next_deadline() is None
    assert r.drain_records() == []  # in the IVR until it hangs up (tests/engine/test_robot.py)
    r.on_event(CallHungUp("a"), 30.0)
    assert r.drain_records()[0].outcome is CallOutcome.ROBOT


def test_max_lines_caps_the_demand() -> None:
    r = _runner(max_lines=3)
    for i in range(10):
        r.seat_login(f"s{i}", 0.0)
    assert r.dial_demand(0.0) == 3
    _place(r, "a")
    r.on_event(CallAnswered("a"), 5.0)  # connected: its line stays in use
    assert r.dial_demand(5.0) == 0


def test_a_call_lost_by_the_adapter_does_not_stall_the_hit_rate() -> None:
    r = _runner()
    _place(r, "lost", 0.0)
    r.calls.pop("lost")  # dropped without an event (e.g. reconciled away)
    before = r.estimators.rates.observations
    for i in range(5):
        _place(r, f"b{i}", 300.0 + i)
        r.on_event(OriginateFailed(f"b{i}", FailReason.BUSY), 304.0 + i)
    assert r.estimators.rates.observations == before + 6


def test_thin_budget_limits_predictive_lines_but_not_a_chosen_ratio() -> None:
    history = [LedgerEntry(float(i), LedgerKind.LIVE_ANSWER) for i in range(1000)]
    history += [LedgerEntry(float(i), LedgerKind.ABANDON) for i in range(27)]  # 3 allowed left
    ratio = CampaignRunner(RunnerConfig(mode="ratio:3"), history=history)
    predictive = CampaignRunner(RunnerConfig(mode="predictive"), history=history)
    for r in (ratio, predictive):
        for i in range(10):
            r.seat_login(f"s{i}", 2000.0)
    assert ratio.dial_demand(2000.0) == 30
    assert 10 <= predictive.dial_demand(2000.0) < 30


def _guarded_room(allowed: int, busy_elapsed: float | None = None) -> int:
    """Lines the budget guard lets a 10-seat predictive campaign add, with ``allowed`` left."""
    history = [LedgerEntry(float(i), LedgerKind.LIVE_ANSWER) for i in range(1000)]
    history += [LedgerEntry(float(i), LedgerKind.ABANDON) for i in range(30 - allowed)]
    r = CampaignRunner(RunnerConfig(mode="predictive"), history=history)
    for i in range(10):
        r.seat_login(f"s{i}", 2000.0)
    return r.snapshot(2000.0).max_new_calls


def test_budget_guard_widens_as_the_budget_grows() -> None:
    rooms = [_guarded_room(a) for a in (2, 4, 8, 16, 30)]
    assert rooms[0] >= 10  # never below progressive
    assert rooms == sorted(rooms)
    assert rooms[-1] > rooms[0]
    # one abandon left: the thin-budget mode's risk account bounds the lines, not the guard
    assert _guarded_room(1) == 10_000


def test_budget_guard_counts_calls_in_flight() -> None:
    history = [LedgerEntry(float(i), LedgerKind.LIVE_ANSWER) for i in range(1000)]
    history += [LedgerEntry(float(i), LedgerKind.ABANDON) for i in range(25)]
    r = CampaignRunner(RunnerConfig(mode="predictive"), history=history)
    for i in range(10):
        r.seat_login(f"s{i}", 2000.0)
    empty = r.snapshot(2000.0).max_new_calls
    for i in range(20):
        _place(r, f"c{i}", 2000.0)
    assert r.snapshot(2000.0).max_new_calls < empty - 10


def test_a_surge_of_live_answers_narrows_the_guard_within_seconds() -> None:
    # Same budget and lines; in one campaign 40 of the live answers came in the last 15 s, on
    # 20 calls placed 15 s ago and the dials before: the list now answers far better than the
    # estimate (which waits for every outcome) knows.
    def room(recent: int) -> int:
        history = [LedgerEntry(float(i), LedgerKind.LIVE_ANSWER) for i in range(1000 - recent)]
        history += [LedgerEntry(1985.0 + i * 0.2, LedgerKind.LIVE_ANSWER) for i in range(recent)]
        history += [LedgerEntry(float(i), LedgerKind.ABANDON) for i in range(15)]
        r = CampaignRunner(RunnerConfig(mode="predictive"), history=history)
        for k in range(50):  # outcomes seen since the start (at the prior's 20 %)
            r.estimators.observe_dial(OutcomeRates.HUMAN if k % 5 == 0 else OutcomeRates.OTHER)
        for i in range(10):
            r.seat_login(f"s{i}", 1985.0)
        for i in range(20):
            _place(r, f"c{i}", 1985.0)
        return r.snapshot(2000.0).max_new_calls

    calm, surge = room(0), room(40)
    assert surge < calm, (surge, calm)


def test_ledger_entries_name_their_call_even_when_a_machine_hears_the_safe_harbour_too() -> None:
    """A machine sent to a seat (on_machine: seat) and a person both left without one: both
    hear the safe-harbour message, only the person's is an abandon, and the ledger says whose
    (the daemon files each entry under the call it names)."""
    r = _runner(amd=True, on_machine="seat")
    _place(r, "m")
    _place(r, "h")
    r.on_event(CallAnswered("m"), 3.0)
    r.on_event(AmdResult("m", AmdStatus.MACHINE), 4.0)
    r.on_event(CallAnswered("h"), 4.5)
    r.on_event(AmdResult("h", AmdStatus.HUMAN), 5.0)
    assert r.tick(7.0) == [PlaySafeHarbour("m"), PlaySafeHarbour("h")]
    entries = [(e.kind, e.call_id) for e in r.drain_ledger()]
    assert entries == [(LedgerKind.LIVE_ANSWER, "h"), (LedgerKind.ABANDON, "h")]
    outcomes = {rec.call_id: rec.outcome for rec in r.drain_records()}
    assert outcomes == {"m": CallOutcome.MACHINE, "h": CallOutcome.ABANDONED}


def _bridging_a_to_s1() -> CampaignRunner:
    """One seat, s1, being bridged to call a (answered at 5 s); call b placed, not answered."""
    r = _runner(connect_window_s=2.0)
    r.seat_login("s1", 0.0)
    _place(r, "a")
    _place(r, "b")
    assert r.on_event(CallAnswered("a"), 5.0) == [ConnectToSeat("a", "s1")]
    return r


def test_a_seat_leaving_after_its_call_takes_only_a_call_dialled_before_its_agent_asked() -> None:
    """The agent asked for a break while a call was being bridged to the seat; the caller hung up
    before the bridge, so the seat is ready again. It takes no call dialled after the request,
    nor a callback; a live answer of a call dialled before (counting on this seat) still gets it,
    as the last resort, even when the later call's answer waits ahead of it."""
    r = _bridging_a_to_s1()
    assert r.seat_leaves_after_call("s1", True, 5.1) == [] and r.seats.is_leaving("s1")
    _place(r, "c", 5.15)
    assert r.on_event(CallAnswered("c"), 5.2) == []  # waits: no seat ready
    assert r.on_event(CallHungUp("a", 16), 5.3) == []  # s1 back at ready; not for c
    assert r.seats.get("s1").state is SeatState.READY and r.seats.is_leaving("s1")
    assert r.inbound_to_seat("in1", "s1", 5.35) is None
    assert r.on_event(CallAnswered("b"), 5.4) == [ConnectToSeat("b", "s1")]  # placed at 0
    assert r.tick(7.2) == [PlaySafeHarbour("c")]  # nobody took c
    assert r.seats.is_leaving("s1")  # it leaves after b


def test_a_ready_seat_asked_to_go_is_held_while_the_calls_dialled_for_it_are_out() -> None:
    """Three ready seats, three calls ringing; two agents ask for a break. Each may go only
    while the calls dialled before they asked do not outnumber the other ready seats; held,
    a seat takes those calls' answers when no other seat is ready, and goes once they are
    resolved (the cap hunt: 3 seats down to 1 this way, two abandons at 54 live answers)."""
    r = _runner(mode="predictive", connect_window_s=2.0)
    for seat_id in ("s1", "s2", "s3"):
        r.seat_login(seat_id, 0.0)
    for cid in ("a", "b", "c"):
        _place(r, cid, 1.0)
    assert not r.may_leave("s3", 2.0) and r.seats.is_leaving("s3")  # 3 calls, 2 other seats
    assert not r.may_leave("s2", 2.0)  # 3 calls, 1 other seat
    assert r.seats.ready_count == 1 and r.snapshot(2.0).idle_seats == 1
    _place(r, "d", 2.5)  # dialled after they asked: not theirs
    assert r.on_event(CallAnswered("a"), 3.0) == [ConnectToSeat("a", "s1")]
    assert r.on_event(CallAnswered("b"), 3.5) == [ConnectToSeat("b", "s2")]
    assert r.seats.is_leaving("s2")  # leaves after b's call
    assert not r.may_leave("s3", 4.0)  # c still ringing, no other seat ready
    r.on_event(OriginateFailed("c", FailReason.NO_ANSWER), 21.0)
    assert r.may_leave("s3", 21.0)  # d was dialled after the request
    r.seat_pause("s3", "break", 21.0)
    assert not r.seats.is_leaving("s3")


def test_a_ready_seat_may_go_at_once_when_the_other_ready_seats_cover_the_calls_out() -> None:
    r = _runner(mode="predictive")
    for seat_id in ("s1", "s2", "s3"):
        r.seat_login(seat_id, 0.0)
    _place(r, "a", 1.0)
    _place(r, "b", 1.0)
    assert r.may_leave("s3", 2.0) and not r.seats.is_leaving("s3")
    r.seat_pause("s3", "break", 2.0)
    assert not r.may_leave("s2", 2.0)  # two calls, one other seat
    assert r.seat_leaves_after_call("s2", False, 2.5) == []  # the agent stays after all
    assert not r.seats.is_leaving("s2") and r.seats.ready_count == 2


def test_a_leaving_mark_withdrawn_at_ready_serves_the_answer_waiting() -> None:
    r = _bridging_a_to_s1()
    r.seat_leaves_after_call("s1", True, 5.1)
    _place(r, "c", 5.15)  # (dialled after the agent asked: the leaving seat is not for it)
    r.on_event(CallAnswered("c"), 5.2)
    assert r.on_event(CallHungUp("a", 16), 5.3) == []
    assert r.seat_leaves_after_call("s1", False, 5.4) == [ConnectToSeat("c", "s1")]


def test_a_call_dropped_at_shutdown_leaves_no_trace_in_the_runner() -> None:
    """Hung up at the end of a drain, never reported by the PBX: a person being bridged or
    waiting for a seat is an abandon, ledgered under their call; the reservation is undone."""
    r = _bridging_a_to_s1()
    r.on_event(CallAnswered("b"), 5.1)  # waiting
    r.drain_ledger()  # (their live answers)
    assert r.drop_call("a", 6.0) is CallOutcome.ABANDONED
    assert r.seats.get("s1").state is SeatState.READY  # the reservation is undone
    assert r.drop_call("b", 6.0) is CallOutcome.ABANDONED and r.drop_call("b", 6.0) is None
    assert [(e.kind, e.call_id) for e in r.drain_ledger()] == [
        (LedgerKind.ABANDON, "a"),
        (LedgerKind.ABANDON, "b"),
    ]
    assert r.controller.ledger.counts(6.0) == (2, 2)
    assert r.tick(9.0) == []  # nothing left waiting for a deadline


def test_a_call_dropped_at_shutdown_keeps_the_outcome_it_had() -> None:
    r = _bridging_a_to_s1()
    r.on_event(CallConnected("a", "s1"), 5.1)
    assert r.drop_call("a", 30.0) is CallOutcome.HUMAN  # talking to a seat: a contact
    assert r.drop_call("b", 30.0) is None  # only ever placed: the runner cannot tell
    assert [e.kind for e in r.drain_ledger()] == [LedgerKind.LIVE_ANSWER]
