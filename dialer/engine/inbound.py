"""Where a callback goes: the routing decision for a call into a caller-ID pool number. Pure.

A person called back the number we showed them (AXB binding, ``callback_bindings``). The call goes

1. to the seat that took the bound outbound call, if it is logged in and ready — or becomes ready
   within ``same_seat_wait_s`` (it may be talking or in wrap-up);
2. else to the longest-idle ready seat of the campaign's ``inbound_seat_group`` (waiting for one
   while any of them is on duty, up to ``wait_s`` after the call came in);
3. else to the closed path (a message, then hang-up).

The daemon calls :func:`route_inbound` when the call comes in and again whenever a seat may have
come free, with the time waited so far, until the decision is not :attr:`InboundRoute.WAIT`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from dialer.engine.seats import SeatState


class InboundRoute(StrEnum):
    """The words of ``inbound_calls.route`` (plus ``wait``, never stored)."""

    SAME_SEAT = "same_seat"
    INBOUND_GROUP = "inbound_group"
    CLOSED = "closed"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class SeatView:
    """What routing needs of a seat: its state and since when (longest idle first)."""

    state: SeatState
    since: float


@dataclass(frozen=True, slots=True)
class InboundDecision:
    route: InboundRoute
    seat_id: str | None = None


_ON_DUTY = frozenset({SeatState.READY, SeatState.RESERVED, SeatState.TALKING, SeatState.WRAPUP})
_BUSY = frozenset({SeatState.RESERVED, SeatState.TALKING, SeatState.WRAPUP})

#: Defaults: below the dialplan's ``DIALER_INBOUND_WAIT_S`` (20 s), after which it closes anyway.
SAME_SEAT_WAIT_S = 8.0
INBOUND_WAIT_S = 15.0


def route_inbound(
    *,
    bound_seat: str | None,
    group: Sequence[str],
    seats: Mapping[str, SeatView],
    waited_s: float,
    same_seat_wait_s: float = SAME_SEAT_WAIT_S,
    wait_s: float = INBOUND_WAIT_S,
) -> InboundDecision:
    """The route for an inbound call now (see the module docstring).

    ``seats``: the seats this daemon drives (others are unknown: logged out here); ``group``: the
    campaign's inbound seat group (empty if none); ``waited_s``: since the call came in.
    """
    if bound_seat is not None:
        view = seats.get(bound_seat)
        if view is not None and view.state is SeatState.READY:
            return InboundDecision(InboundRoute.SAME_SEAT, bound_seat)
        if view is not None and view.state in _BUSY and waited_s < same_seat_wait_s:
            return InboundDecision(InboundRoute.WAIT)
    ready = [
        (seats[s].since, s)
        for s in dict.fromkeys(group)
        if s in seats and seats[s].state is SeatState.READY
    ]
    if ready:
        return InboundDecision(InboundRoute.INBOUND_GROUP, min(ready)[1])
    on_duty = any(s in seats and seats[s].state in _ON_DUTY for s in group)
    if on_duty and waited_s < wait_s:
        return InboundDecision(InboundRoute.WAIT)
    return InboundDecision(InboundRoute.CLOSED)
