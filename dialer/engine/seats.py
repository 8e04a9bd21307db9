"""The seat state machine and the board of a campaign's seats.

    logged_out → ready ⇄ reserved → talking → wrapup → ready
    ready/wrapup/phone_down → paused(reason) → ready
    any logged-in state → phone_down (phone left its bridge) → ready (phone back)

The longest-idle ready seat gets the next live answer: the ready queue is kept in the order seats
became ready. Illegal moves raise :class:`IllegalSeatTransition` naming the seat and both states.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray


class SeatState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAPUP = "wrapup"
    PAUSED = "paused"
    PHONE_DOWN = "phone_down"


_S = SeatState
ALLOWED: dict[SeatState, frozenset[SeatState]] = {
    _S.LOGGED_OUT: frozenset({_S.READY, _S.PHONE_DOWN, _S.PAUSED}),
    _S.READY: frozenset({_S.RESERVED, _S.PAUSED, _S.PHONE_DOWN, _S.LOGGED_OUT}),
    _S.RESERVED: frozenset({_S.TALKING, _S.READY, _S.PHONE_DOWN}),
    _S.TALKING: frozenset({_S.WRAPUP, _S.PHONE_DOWN}),
    _S.WRAPUP: frozenset({_S.READY, _S.PAUSED, _S.PHONE_DOWN, _S.LOGGED_OUT}),
    _S.PAUSED: frozenset({_S.READY, _S.PHONE_DOWN, _S.LOGGED_OUT}),
    _S.PHONE_DOWN: frozenset({_S.READY, _S.PAUSED, _S.LOGGED_OUT}),
}


class IllegalSeatTransition(ValueError):
    """A seat was asked to move where its state machine does not go."""


@dataclass(slots=True)
class Seat:
    seat_id: str
    state: SeatState = SeatState.LOGGED_OUT
    since: float = 0.0  # when the current state began
    pause_reason: str = ""
    call_id: str | None = None
    logged_in_at: float | None = None

    def elapsed(self, now: float) -> float:
        return now - self.since


class SeatBoard:
    """All seats of a campaign, with O(1) access to the longest-idle ready seat."""

    def __init__(self) -> None:
        self.seats: dict[str, Seat] = {}
        self._ready: dict[str, None] = {}  # insertion order = longest idle first
        self._talking: dict[str, float] = {}  # seat -> talk (or reservation) start
        self._wrapup: dict[str, float] = {}  # seat -> wrap-up start

    def get(self, seat_id: str) -> Seat:
        try:
            return self.seats[seat_id]
        except KeyError:
            raise KeyError(f"unknown seat {seat_id!r}") from None

    def add(self, seat_id: str) -> Seat:
        seat = self.seats.get(seat_id)
        if seat is None:
            seat = self.seats[seat_id] = Seat(seat_id)
        return seat

    def move(self, seat_id: str, new: SeatState, now: float, reason: str = "") -> Seat:
        """Move a seat to ``new`` or raise :class:`IllegalSeatTransition`."""
        seat = self.get(seat_id)
        old = seat.state
        if new not in ALLOWED[old]:
            raise IllegalSeatTransition(
                f"seat {seat_id}: cannot go from {old.value} to {new.value}"
            )
        self._ready.pop(seat_id, None)
        self._talking.pop(seat_id, None)
        self._wrapup.pop(seat_id, None)
        if old is SeatState.LOGGED_OUT:
            seat.logged_in_at = now
        seat.state = new
        seat.since = now
        seat.pause_reason = reason if new is SeatState.PAUSED else ""
        if new is SeatState.READY:
            self._ready[seat_id] = None
        elif new in (SeatState.RESERVED, SeatState.TALKING):
            # A reserved seat is about to talk: the forecast counts it as talking from now.
            self._talking[seat_id] = now
        elif new is SeatState.WRAPUP:
            self._wrapup[seat_id] = now
        if new in (SeatState.READY, SeatState.LOGGED_OUT, SeatState.PAUSED, SeatState.PHONE_DOWN):
            seat.call_id = None
        if new is SeatState.LOGGED_OUT:
            seat.logged_in_at = None
        return seat

    def longest_idle(self) -> Seat | None:
        """The ready seat that has waited longest, or None."""
        for seat_id in self._ready:
            return self.seats[seat_id]
        return None

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    @property
    def logged_in_count(self) -> int:
        return sum(1 for s in self.seats.values() if s.state is not SeatState.LOGGED_OUT)

    def talk_elapsed(self, now: float) -> NDArray[np.float64]:
        n = len(self._talking)
        return now - np.fromiter(self._talking.values(), np.float64, n)

    def wrapup_elapsed(self, now: float) -> NDArray[np.float64]:
        n = len(self._wrapup)
        return now - np.fromiter(self._wrapup.values(), np.float64, n)

    def count(self, state: SeatState) -> int:
        return sum(1 for s in self.seats.values() if s.state is state)
