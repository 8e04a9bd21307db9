"""The seat state machine and the longest-idle rule."""

from __future__ import annotations

import pytest

from dialer.engine.seats import ALLOWED, IllegalSeatTransition, SeatBoard, SeatState


@pytest.mark.parametrize(("old", "new"), [(o, n) for o, ts in ALLOWED.items() for n in ts])
def test_every_allowed_transition(old: SeatState, new: SeatState) -> None:
    board = SeatBoard()
    seat = board.add("s1")
    seat.state = old
    board.move("s1", new, 3.0, reason="lunch")
    assert seat.state is new and seat.since == 3.0
    assert seat.pause_reason == ("lunch" if new is SeatState.PAUSED else "")
    assert (board.ready_count == 1) == (new is SeatState.READY)


@pytest.mark.parametrize(
    ("old", "new"), [(o, n) for o in SeatState for n in SeatState if n not in ALLOWED[o]]
)
def test_every_illegal_transition_is_refused(old: SeatState, new: SeatState) -> None:
    board = SeatBoard()
    board.add("s1").state = old
    with pytest.raises(IllegalSeatTransition, match=f"seat s1: cannot go from {old.value}"):
        board.move("s1", new, 1.0)


def test_longest_idle_ready_seat_first() -> None:
    board = SeatBoard()
    for i, sid in enumerate(["a", "b", "c"]):
        board.add(sid)
        board.move(sid, SeatState.READY, float(i))
    assert board.longest_idle().seat_id == "a"
    board.move("a", SeatState.RESERVED, 5.0)
    assert board.longest_idle().seat_id == "b"
    board.move("a", SeatState.READY, 6.0)  # back at the end of the queue
    board.move("b", SeatState.PAUSED, 6.5, "break")
    assert board.longest_idle().seat_id == "c"


def test_elapsed_times_for_pacing() -> None:
    board = SeatBoard()
    for sid in "ab":
        board.add(sid)
        board.move(sid, SeatState.READY, 0.0)
    board.move("a", SeatState.RESERVED, 10.0)
    board.move("a", SeatState.TALKING, 10.5)
    board.move("b", SeatState.RESERVED, 20.0)
    board.move("b", SeatState.TALKING, 20.0)
    board.move("b", SeatState.WRAPUP, 30.0)
    assert list(board.talk_elapsed(40.0)) == [29.5]
    assert list(board.wrapup_elapsed(40.0)) == [10.0]


def test_unknown_seat_is_named() -> None:
    with pytest.raises(KeyError, match="unknown seat 'zz'"):
        SeatBoard().get("zz")


def test_a_busy_seat_leaving_after_its_call_drops_out_of_the_forecast_arrays() -> None:
    board = SeatBoard()
    for i, state in enumerate([SeatState.TALKING, SeatState.TALKING, SeatState.WRAPUP]):
        board.add(f"s{i}")
        board.move(f"s{i}", SeatState.READY, 0.0)
        board.move(f"s{i}", SeatState.RESERVED, 1.0 + i)
        board.move(f"s{i}", SeatState.TALKING, 1.0 + i)
        if state is SeatState.WRAPUP:
            board.move(f"s{i}", SeatState.WRAPUP, 5.0)
    board.add("idle")
    board.move("idle", SeatState.READY, 0.0)
    assert not board.set_leaving("idle", True, 10.0)  # a ready seat is never marked here (hold)
    assert board.set_leaving("s0", True, 10.0) and board.set_leaving("s2", True, 10.0)
    assert not board.set_leaving("s0", True, 10.0)  # (no change)
    assert list(board.talk_elapsed(10.0)) == [9.0, 8.0]
    assert list(board.talk_elapsed(10.0, leaving=False)) == [8.0]
    assert board.wrapup_elapsed(10.0, leaving=False).size == 0
    assert board.wrapup_elapsed(10.0).size == 1
    board.move("s0", SeatState.WRAPUP, 11.0)  # still leaving through its wrap-up
    assert board.is_leaving("s0") and board.leaving_count == 2
    board.move("s0", SeatState.PAUSED, 15.0, "break")  # gone: the mark ends
    # s2's wrap-up ends before the driver pauses it: back at ready, but it takes no call
    board.move("s2", SeatState.READY, 15.0)
    assert board.is_leaving("s2") and not board.set_leaving("s2", True, 12.0)
    assert board.ready_count == 1 and board.longest_idle() is board.get("idle")
    board.move("idle", SeatState.RESERVED, 16.0)
    assert board.ready_count == 0 and board.longest_idle() is None
    # ... except as the last resort for a call dialled before its agent asked (at 10.0)
    assert board.leaving_since("s2") == 10.0
    assert board.longest_idle(placed_at=9.5) is board.get("s2")
    assert board.longest_idle(placed_at=10.5) is None
    assert board.set_leaving("s2", False, 13.0)  # the agent stays after all
    assert board.ready_count == 1 and board.longest_idle() is board.get("s2")
    assert board.leaving_count == 0
    assert board.set_leaving("s1", True, 14.0) and board.set_leaving("s1", False, 14.0)  # withdrawn
    assert list(board.talk_elapsed(20.0, leaving=False)) == [18.0, 4.0]


def test_a_held_ready_seat_is_left_out_of_the_ready_count_and_is_the_last_resort() -> None:
    board = SeatBoard()
    for seat_id in ("a", "b"):
        board.add(seat_id)
        board.move(seat_id, SeatState.READY, 0.0)
    board.hold("a", 5.0)
    assert board.is_leaving("a") and board.leaving_since("a") == 5.0
    board.hold("a", 7.0)  # (held already: the first request counts)
    assert board.leaving_since("a") == 5.0
    assert board.ready_count == 1 and board.longest_idle(placed_at=4.0) is board.get("b")
    board.move("b", SeatState.RESERVED, 6.0)
    assert board.longest_idle() is None and board.longest_idle(placed_at=5.0) is board.get("a")
    board.move("a", SeatState.RESERVED, 6.5)  # took a call: leaves after it
    assert board.is_leaving("a") and board.talk_elapsed(7.0, leaving=False).size == 1
    board.move("a", SeatState.TALKING, 7.0)
    board.move("a", SeatState.WRAPUP, 9.0)
    board.move("a", SeatState.PAUSED, 10.0, "break")
    assert not board.is_leaving("a")
    board.hold("a", 11.0)  # a seat that is not ready is never held
    assert not board.is_leaving("a")
