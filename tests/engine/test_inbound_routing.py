"""Callback routing: same seat, else the inbound group's longest-idle seat, else closed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.inbound import InboundDecision, InboundRoute, SeatView, route_inbound
from dialer.engine.seats import SeatState

R, T, W, P = SeatState.READY, SeatState.TALKING, SeatState.WRAPUP, SeatState.PAUSED


def _route(
    bound: str | None, group: list[str], seats: dict[str, SeatView], waited: float = 0.0
) -> InboundDecision:
    return route_inbound(bound_seat=bound, group=group, seats=seats, waited_s=waited)


def test_the_same_seat_takes_the_callback_when_ready() -> None:
    seats = {"s1": SeatView(R, 50.0), "g1": SeatView(R, 1.0)}
    assert _route("s1", ["g1"], seats) == InboundDecision(InboundRoute.SAME_SEAT, "s1")


def test_a_busy_same_seat_is_waited_for_then_the_group_takes_it() -> None:
    seats = {"s1": SeatView(T, 0.0), "g1": SeatView(R, 1.0)}
    assert _route("s1", ["g1"], seats, waited=2.0).route is InboundRoute.WAIT
    assert _route("s1", ["g1"], seats, waited=9.0) == InboundDecision(
        InboundRoute.INBOUND_GROUP, "g1"
    )


def test_a_logged_out_or_paused_same_seat_is_not_waited_for() -> None:
    seats = {"s1": SeatView(P, 0.0), "g1": SeatView(R, 1.0)}
    assert _route("s1", ["g1"], seats).seat_id == "g1"
    assert _route("gone", ["g1"], seats).seat_id == "g1"


def test_the_longest_idle_seat_of_the_group_is_chosen() -> None:
    seats = {"g1": SeatView(R, 30.0), "g2": SeatView(R, 10.0), "g3": SeatView(T, 0.0)}
    assert _route(None, ["g1", "g2", "g3"], seats).seat_id == "g2"


def test_nobody_on_duty_or_waited_too_long_closes() -> None:
    assert _route(None, [], {}).route is InboundRoute.CLOSED
    assert _route(None, ["g1"], {"g1": SeatView(P, 0.0)}).route is InboundRoute.CLOSED
    busy = {"g1": SeatView(W, 0.0)}
    assert _route(None, ["g1"], busy, waited=3.0).route is InboundRoute.WAIT
    assert _route(None, ["g1"], busy, waited=15.0).route is InboundRoute.CLOSED


states = st.sampled_from(list(SeatState))


@given(
    seats=st.dictionaries(
        st.sampled_from(["a", "b", "c", "d"]),
        st.builds(SeatView, states, st.floats(0, 100)),
    ),
    bound=st.one_of(st.none(), st.sampled_from(["a", "b", "x"])),
    group=st.lists(st.sampled_from(["a", "b", "c", "d", "y"]), max_size=5),
    waited=st.floats(0, 60),
)
def test_a_chosen_seat_is_always_ready_and_waiting_ends(
    seats: dict[str, SeatView], bound: str | None, group: list[str], waited: float
) -> None:
    decision = _route(bound, group, seats, waited)
    if decision.seat_id is not None:
        assert seats[decision.seat_id].state is SeatState.READY
        assert decision.seat_id == bound or decision.seat_id in group
    else:
        assert decision.route in (InboundRoute.WAIT, InboundRoute.CLOSED)
    if waited >= 15.0:
        assert decision.route is not InboundRoute.WAIT
