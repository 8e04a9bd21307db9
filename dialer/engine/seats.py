"""The seat state machine and the board of a campaign's seats.

    logged_out → ready ⇄ reserved → talking → wrapup → ready
    ready/wrapup/phone_down → paused(reason) → ready
    any logged-in state → phone_down (phone left its bridge) → ready (phone back)

The longest-idle ready seat gets the next live answer: the ready queue is kept in the order seats
became ready. Illegal moves raise :class:`IllegalSeatTransition` naming the seat and both states.

A busy seat (reserved, talking, wrap-up) whose agent has asked to pause or log out after this call
is *leaving*: it will not come free for a new call, so the pacing forecast leaves it out
(:meth:`SeatBoard.talk_elapsed` with ``leaving=False``). A ready seat whose agent asks to go while
calls dialled counting on it are still out is *held* (:meth:`SeatBoard.hold`; the runner decides,
``CampaignRunner.may_leave``): leaving too, out of the forecast. A leaving seat at ready (held, or
its caller hung up before the bridge) takes a live answer only as the last resort — no other seat
ready, and the call dialled before its agent asked (:meth:`SeatBoard.longest_idle`) — and leaves
after that call. The mark ends when the seat pauses, logs out or loses its phone, or when the
request is withdrawn.
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


_BUSY = frozenset({_S.RESERVED, _S.TALKING, _S.WRAPUP})


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
        # seats whose agent goes after this call (or held at ready): when the agent asked
        self._leaving: dict[str, float] = {}

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
        if new not in _BUSY and new is not SeatState.READY:
            self._leaving.pop(seat_id, None)
        return seat

    def set_leaving(self, seat_id: str, leaving: bool, now: float) -> bool:
        """Mark a busy seat as leaving after its call, its agent having asked at ``now`` (or
        withdraw the mark). A ready seat is not marked here (it pauses at once, or is held: see
        :meth:`hold`), but a leaving seat back at ready keeps its mark. Returns whether the mark
        changed."""
        before = seat_id in self._leaving
        if not leaving:
            self._leaving.pop(seat_id, None)
        elif not before and self.get(seat_id).state in _BUSY:
            self._leaving[seat_id] = now
        return before != (seat_id in self._leaving)

    def hold(self, seat_id: str, since: float) -> None:
        """Hold a ready seat whose agent asked at ``since`` to go: leaving, out of the forecast,
        but the last resort for the live answers of calls dialled by then."""
        if self.get(seat_id).state is SeatState.READY:
            self._leaving.setdefault(seat_id, since)

    def is_leaving(self, seat_id: str) -> bool:
        return seat_id in self._leaving

    def leaving_since(self, seat_id: str) -> float | None:
        """When the agent of a leaving seat asked to go; None for a seat not leaving."""
        return self._leaving.get(seat_id)

    @property
    def leaving_count(self) -> int:
        return len(self._leaving)

    def longest_idle(self, placed_at: float | None = None) -> Seat | None:
        """The ready seat that has waited longest, or None. A leaving seat only as the last
        resort, for a call placed (``placed_at``) before its agent asked to go: the dialler
        counted on the seat for that call."""
        leaving = self._leaving
        for seat_id in self._ready:
            if seat_id not in leaving:
                return self.seats[seat_id]
        if placed_at is not None and leaving:
            for seat_id in self._ready:
                since = leaving.get(seat_id)
                if since is not None and placed_at <= since:
                    return self.seats[seat_id]
        return None

    @property
    def ready_count(self) -> int:
        """Ready seats that may take a call (a leaving seat back at ready is not one)."""
        if self._leaving:
            return len(self._ready) - sum(1 for s in self._leaving if s in self._ready)
        return len(self._ready)

    @property
    def logged_in_count(self) -> int:
        return sum(1 for s in self.seats.values() if s.state is not SeatState.LOGGED_OUT)

    def talk_elapsed(self, now: float, *, leaving: bool = True) -> NDArray[np.float64]:
        """Elapsed talk (or reservation) of each talking seat; ``leaving=False`` leaves out the
        seats whose agent goes after this call."""
        return _elapsed(self._talking, now, None if leaving else self._leaving)

    def wrapup_elapsed(self, now: float, *, leaving: bool = True) -> NDArray[np.float64]:
        """Elapsed wrap-up of each seat in wrap-up (``leaving`` as for :meth:`talk_elapsed`)."""
        return _elapsed(self._wrapup, now, None if leaving else self._leaving)

    def count(self, state: SeatState) -> int:
        return sum(1 for s in self.seats.values() if s.state is state)


def _elapsed(
    since: dict[str, float], now: float, leaving: dict[str, float] | None
) -> NDArray[np.float64]:
    if leaving:
        starts = [t for seat_id, t in since.items() if seat_id not in leaving]
        return now - np.array(starts, np.float64)
    return now - np.fromiter(since.values(), np.float64, len(since))
