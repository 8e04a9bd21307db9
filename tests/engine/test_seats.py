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
