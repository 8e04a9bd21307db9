"""Preview mode in the runner: a call placed for one seat, reserved for it until the call ends."""

from __future__ import annotations

import pytest

from dialer.engine.calls import CallOutcome
from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CustomerLeftSeat,
    FailReason,
    OriginateFailed,
    SeatPhoneDown,
)
from dialer.engine.runner import CampaignRunner, RunnerConfig
from dialer.engine.seats import SeatState


def _runner(**kw: object) -> CampaignRunner:
    return CampaignRunner(RunnerConfig(campaign="p", mode="progressive", **kw))  # type: ignore[arg-type]


def test_answer_goes_to_the_offering_seat_not_the_longest_idle() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.seat_login("s2", 1.0)  # s1 is the longest idle
    r.call_placed_for_seat("a", 7, "+15550001", "+15550002", "s2", 2.0)
    assert r.seats.get("s2").state is SeatState.RESERVED
    assert r.reserved_seat("a") == "s2"
    cmds = r.on_event(CallAnswered("a"), 9.0)
    assert [(c.call_id, c.seat_id) for c in cmds] == [("a", "s2")]  # type: ignore[attr-defined]
    r.on_event(CallConnected("a", "s2"), 9.1)
    r.on_event(CustomerLeftSeat("a", "s2"), 40.0)
    assert r.seats.get("s2").state is SeatState.WRAPUP
    assert r.seats.get("s1").state is SeatState.READY
    (rec,) = r.drain_records()
    assert (rec.outcome, rec.seat_id, rec.lead_id) == (CallOutcome.HUMAN, "s2", 7)
    assert r.reserved_seat("a") is None


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [(FailReason.BUSY, CallOutcome.BUSY), (FailReason.NO_ANSWER, CallOutcome.NO_ANSWER)],
)
def test_unanswered_call_makes_its_seat_ready_again(
    reason: FailReason, outcome: CallOutcome
) -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 1.0)
    r.on_event(OriginateFailed("a", reason, 17), 5.0)
    assert r.seats.get("s1").state is SeatState.READY
    (rec,) = r.drain_records()
    assert (rec.outcome, rec.seat_id) == (outcome, "s1")


def test_machine_makes_its_seat_ready_again() -> None:
    r = _runner(amd=True)
    r.seat_login("s1", 0.0)
    r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 1.0)
    r.on_event(CallAnswered("a"), 4.0)
    r.on_event(AmdResult("a", AmdStatus.MACHINE, "LONGGREETING"), 6.0)
    assert r.seats.get("s1").state is SeatState.READY
    assert r.drain_records()[0].outcome is CallOutcome.MACHINE


def test_a_reserved_seat_takes_no_other_live_answer() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 1.0)
    r.call_placed("b", 2, "+15550003", "+15550002", 1.0)
    assert r.on_event(CallAnswered("b"), 3.0) == []  # waits: s1 is reserved for "a"
    r.tick(10.0)
    assert r.drain_records()[0].outcome is CallOutcome.ABANDONED
    assert r.seats.get("s1").state is SeatState.RESERVED


def test_only_a_ready_seat_can_be_reserved_and_requests_are_untouched() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.seat_pause("s1", "break", 1.0)
    with pytest.raises(ValueError, match="s1: paused, not ready"):
        r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 2.0)
    assert "a" not in r.calls
    r.seat_ready("s1", 3.0)
    r._requests.extend([3.0, 3.0])
    r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 3.0)
    assert len(r._requests) == 2  # a preview call is not one of pacing's requested calls


def test_seat_phone_down_while_ringing_turns_it_into_an_ordinary_answer() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.seat_login("s2", 0.5)
    r.call_placed_for_seat("a", 1, "+15550001", "+15550002", "s1", 1.0)
    r.on_event(SeatPhoneDown("s1"), 2.0)
    cmds = r.on_event(CallAnswered("a"), 3.0)
    assert [(c.call_id, c.seat_id) for c in cmds] == [("a", "s2")]  # type: ignore[attr-defined]
    assert r.reserved_seat("a") is None
