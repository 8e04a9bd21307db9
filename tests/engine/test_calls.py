"""The call state machine: every legal move, and illegal ones refused by name."""

from __future__ import annotations

import pytest

from dialer.engine.calls import ALLOWED, TERMINAL, Call, CallState, IllegalCallTransition


def _call() -> Call:
    return Call("a1", 7, "+441234567890", "+441111111111", placed_at=0.0)


@pytest.mark.parametrize(
    ("old", "new"), [(o, n) for o, targets in ALLOWED.items() for n in targets]
)
def test_every_allowed_transition(old: CallState, new: CallState) -> None:
    c = _call()
    c.state = old
    c.move(new, 5.0)
    assert c.state is new
    if new in TERMINAL:
        assert c.ended_at == 5.0 and c.is_over


@pytest.mark.parametrize(
    ("old", "new"),
    [(o, n) for o in CallState for n in CallState if n not in ALLOWED[o]],
)
def test_every_illegal_transition_is_refused(old: CallState, new: CallState) -> None:
    c = _call()
    c.state = old
    with pytest.raises(IllegalCallTransition, match=f"call a1: cannot go from {old.value}"):
        c.move(new, 1.0)
    assert c.state is old


def test_timings_follow_the_path() -> None:
    c = _call()
    c.move(CallState.RINGING, 1.0)
    c.move(CallState.LIVE, 12.0)
    c.move(CallState.CONNECTING, 12.1)
    c.move(CallState.CONNECTED, 12.3)
    c.move(CallState.ENDED, 100.0)
    assert (c.answered_at, c.connected_at, c.ended_at) == (12.0, 12.3, 100.0)
