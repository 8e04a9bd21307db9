"""The pure AMI-to-event mapping, fed with event sequences recorded from the sandbox."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.events import (
    LOST_TRACK,
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    CustomerLeftSeat,
    FailReason,
    OriginateFailed,
    SeatPhoneDown,
    SeatPhoneUp,
)
from dialer.telephony.ami_tracker import CallTracker, classify_failure
from dialer.telephony.base import LiveChannel


def ev(name: str, uid: str, **fields: str) -> dict[str, str]:
    return {"Event": name, "Uniqueid": uid, **fields}


def feed_all(tracker: CallTracker, messages: list[dict[str, str]]) -> list[object]:
    out: list[object] = []
    for message in messages:
        out.extend(tracker.feed(message))
    return out


def test_recorded_busy_call_gives_one_busy_failure_with_cause_17() -> None:
    # Asterisk 22, Local/302000@sim-customers: the ;1 leg hangs up with cause 0.
    tracker = CallTracker()
    tracker.expect_call("c")
    events = feed_all(
        tracker,
        [
            ev("Newchannel", "c", Channel="Local/302000@sim-customers-00000002;1"),
            ev("Newchannel", "c;2", Channel="Local/302000@sim-customers-00000002;2"),
            ev("Newstate", "c", ChannelState="5"),
            ev("Newstate", "c;2", ChannelState="7"),
            ev("Hangup", "c;2", Cause="17", **{"Cause-txt": "User busy"}),
            ev("OriginateResponse", "c", Reason="5", Response="Failure"),
            ev("Hangup", "c", Cause="0", **{"Cause-txt": "Unknown"}),
        ],
    )
    assert events == [CallRinging("c"), OriginateFailed("c", FailReason.BUSY, 17, "User busy")]
    assert "c" not in tracker


def test_recorded_human_call_through_a_seat() -> None:
    tracker = CallTracker()
    tracker.expect_seat("s1", "seat-s1-x")
    tracker.expect_call("h")
    events = feed_all(
        tracker,
        [
            ev("Newchannel", "seat-s1-x", Channel="Local/seat-1@sim-seats-0001;1"),
            ev("ConfbridgeJoin", "seat-s1-x", Conference="dialer-seat-s1"),
            ev("Newchannel", "h", Channel="Local/103012@sim-customers-0002;1"),
            ev("Newstate", "h", ChannelState="5"),
            ev("Newstate", "h", ChannelState="6"),
            ev("OriginateResponse", "h", Reason="4", Response="Success"),
            ev("UserEvent", "h", UserEvent="DialerAmd", AmdStatus="HUMAN",
               AmdCause="HUMAN-800-800"),
            ev("ConfbridgeJoin", "h", Conference="dialer-seat-s1"),
            ev("ConfbridgeLeave", "h", Conference="dialer-seat-s1"),
            ev("Hangup", "h", Cause="16", **{"Cause-txt": "Normal Clearing"}),
            ev("ConfbridgeLeave", "seat-s1-x", Conference="dialer-seat-s1"),
            ev("Hangup", "seat-s1-x", Cause="16"),
        ],
    )
    assert events == [
        SeatPhoneUp("s1"),
        CallRinging("h"),
        CallAnswered("h"),
        AmdResult("h", AmdStatus.HUMAN, "HUMAN-800-800"),
        CallConnected("h", "s1"),
        CustomerLeftSeat("h", "s1"),
        CallHungUp("h", 16, "Normal Clearing"),
        SeatPhoneDown("s1"),
    ]
    assert tracker.channel_of("h") is None


def test_unrelated_events_produce_nothing() -> None:
    tracker = CallTracker()
    tracker.expect_call("mine")
    noise = [
        ev("Newchannel", "other"),
        ev("Hangup", "other;2", Cause="16"),
        ev("VarSet", "mine", Variable="X"),
        {"Event": "FullyBooted"},
        ev("UserEvent", "other", UserEvent="DialerAmd", AmdStatus="HUMAN"),
        ev("ConfbridgeJoin", "other", Conference="party"),
    ]
    assert feed_all(tracker, noise) == []
    assert "mine" in tracker


CAUSES = {"busy": (5, 17), "noanswer": (3, 19), "congestion": (8, 34), "invalid": (0, 1)}


@given(
    st.sampled_from(sorted(CAUSES)),
    st.permutations(["or", "leg1", "leg2"]),
    st.booleans(),
)
def test_unanswered_call_ends_once_whatever_the_event_order(
    kind: str, order: list[str], leg1_has_cause: bool
) -> None:
    reason, cause = CAUSES[kind]
    tracker = CallTracker()
    tracker.expect_call("c")
    tracker.feed(ev("Newchannel", "c", Channel="Local/x;1"))
    messages = {
        "or": ev("OriginateResponse", "c", Reason=str(reason), Response="Failure"),
        "leg1": ev("Hangup", "c", Cause=str(cause if leg1_has_cause else 0)),
        "leg2": ev("Hangup", "c;2", Cause=str(cause)),
    }
    events = feed_all(tracker, [messages[m] for m in order])
    events += tracker.flush("c")
    failures = [e for e in events if isinstance(e, OriginateFailed)]
    assert len(failures) == 1
    assert failures[0].cause == cause
    assert failures[0].reason is classify_failure(reason, cause)
    assert "c" not in tracker


def test_failure_before_any_channel_waits_for_the_flush() -> None:
    tracker = CallTracker()
    tracker.expect_call("c")
    assert tracker.feed(ev("OriginateResponse", "c", Reason="0", Response="Failure")) == []
    assert tracker.flush_requests == ["c"]
    [failed] = tracker.flush("c")
    assert failed == OriginateFailed("c", FailReason.FAILED, 0, "originate reason 0")
    assert tracker.flush("c") == []


@given(st.integers(min_value=0, max_value=127), st.sampled_from([None, 0, 1, 3, 5, 8]))
def test_every_cause_and_reason_is_classified(cause: int, reason: int | None) -> None:
    result = classify_failure(reason, cause)
    assert isinstance(result, FailReason)
    if cause == 17:
        assert result is FailReason.BUSY
    if cause in (18, 19):
        assert result is FailReason.NO_ANSWER
    if cause == 1:
        assert result is FailReason.INVALID_NUMBER


def live(uid: str, state: int = 6) -> LiveChannel:
    return LiveChannel("s", f"Local/{uid};1", uid, uid, state, "", "", "", "", 0, "")


def test_reconcile_ends_vanished_calls_and_seats_and_catches_up_answers() -> None:
    tracker = CallTracker()
    for call_id in ("gone-answered", "gone-ringing", "still-up", "still-ringing"):
        tracker.expect_call(call_id)
    tracker.feed(ev("Newstate", "gone-answered", ChannelState="6", Channel="A"))
    tracker.feed(ev("ConfbridgeJoin", "gone-answered", Conference="dialer-seat-7"))
    tracker.expect_seat("7", "seat-7-x")
    events = tracker.reconcile([live("still-up", 6), live("still-ringing", 5)])
    assert events == [
        CustomerLeftSeat("gone-answered", "7"),
        CallHungUp("gone-answered", 0, LOST_TRACK),
        OriginateFailed("gone-ringing", FailReason.FAILED, 0, LOST_TRACK),
        CallAnswered("still-up"),
        SeatPhoneDown("7"),
    ]
    assert sorted(tracker.call_ids()) == ["still-ringing", "still-up"]


def test_a_call_reported_finished_that_shows_up_later_is_hung_up() -> None:
    tracker = CallTracker()
    tracker.expect_call("late")
    tracker.reconcile([])
    tracker.feed(ev("Newchannel", "late", Channel="PJSIP/carrier-0009"))
    assert tracker.stale_channels == ["PJSIP/carrier-0009"]


def test_overdue_lists_calls_without_an_outcome_past_their_deadline() -> None:
    tracker = CallTracker()
    tracker.expect_call("a", deadline=10.0)
    tracker.expect_call("b", deadline=100.0)
    assert tracker.overdue(50.0) == ["a"]


def test_reconcile_adopts_seat_phones_already_in_their_bridges() -> None:
    tracker = CallTracker()
    seat = LiveChannel("s", "Local/seat-4@sim-seats-01;1", "seat-4-x", "seat-4-x", 6, "Up",
                       "dialer-seat", "4", "ConfBridge", 100, "b")
    customer = LiveChannel("s", "Local/x;1", "c", "c", 6, "Up", "dialer-connect", "4",
                           "ConfBridge", 5, "b")
    assert tracker.reconcile([seat, customer]) == []  # adoption is opt-in
    assert tracker.reconcile([seat, customer], seat_context="dialer-seat") == [SeatPhoneUp("4")]
    assert tracker.seat_is_up("4") and tracker.seat_channel("4") == seat.channel
    assert tracker.reconcile([seat, customer], seat_context="dialer-seat") == []


def test_seat_phone_that_never_answers_is_reported_down_once() -> None:
    tracker = CallTracker()
    tracker.expect_seat("s2", "seat-s2-x")
    events = feed_all(
        tracker,
        [
            ev("Newchannel", "seat-s2-x", Channel="PJSIP/agent2-0001"),
            ev("Hangup", "seat-s2-x", Cause="19"),
            ev("OriginateResponse", "seat-s2-x", Reason="3", Response="Failure"),
        ],
    )
    assert events == [SeatPhoneDown("s2")]
