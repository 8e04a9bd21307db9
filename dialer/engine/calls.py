"""The call (attempt) state machine.

    placed → ringing → answered → (AMD) → live → connecting → connected → ended
                                         ↘ machine_handled
    placed/ringing → failed | busy | no_answer
    live/connecting → abandoned (no seat within the connect window) | ended (customer hung up)

Robot mode: an answered call goes to the IVR instead of a seat,

    placed/ringing/answered → in_ivr → ended (heard the message, asked for nobody)
                                     ↘ live (pressed 1: hand-over requested) → connecting → ...

``answered`` is only used while answering-machine detection runs; with AMD off a live answer goes
straight to ``live`` (waiting for a seat). Terminal states never change again; any other move
raises :class:`IllegalCallTransition` naming the call and both states.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CallState(StrEnum):
    PLACED = "placed"
    RINGING = "ringing"
    ANSWERED = "answered"  # picked up, AMD running
    LIVE = "live"  # a person is on the line, waiting for a seat
    CONNECTING = "connecting"  # seat chosen, being bridged
    CONNECTED = "connected"
    IN_IVR = "in_ivr"  # robot mode: the IVR plays its message; a hand-over request makes it live
    ENDED = "ended"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ABANDONED = "abandoned"
    MACHINE_HANDLED = "machine_handled"


class CallOutcome(StrEnum):
    """How an attempt ended (same words as the database's ``attempts.outcome``)."""

    HUMAN = "human"
    MACHINE = "machine"
    ABANDONED = "abandoned"
    ROBOT = "robot"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"
    CUSTOMER_HANGUP = "customer_hangup"
    CANCELLED = "cancelled"


TERMINAL = frozenset(
    {
        CallState.ENDED,
        CallState.FAILED,
        CallState.BUSY,
        CallState.NO_ANSWER,
        CallState.ABANDONED,
        CallState.MACHINE_HANDLED,
    }
)

_NOT_ANSWERED = {CallState.FAILED, CallState.BUSY, CallState.NO_ANSWER}
_ANSWERING = frozenset({CallState.ANSWERED, CallState.LIVE, CallState.IN_IVR})

ALLOWED: dict[CallState, frozenset[CallState]] = {
    CallState.PLACED: frozenset(
        {CallState.RINGING, CallState.ANSWERED, CallState.LIVE, CallState.IN_IVR, *_NOT_ANSWERED}
    ),
    CallState.RINGING: frozenset(
        {CallState.ANSWERED, CallState.LIVE, CallState.IN_IVR, *_NOT_ANSWERED}
    ),
    CallState.ANSWERED: frozenset(
        {CallState.LIVE, CallState.IN_IVR, CallState.MACHINE_HANDLED, CallState.ENDED}
    ),
    CallState.IN_IVR: frozenset({CallState.LIVE, CallState.ENDED}),
    CallState.LIVE: frozenset({CallState.CONNECTING, CallState.ABANDONED, CallState.ENDED}),
    CallState.CONNECTING: frozenset(
        {CallState.CONNECTED, CallState.LIVE, CallState.ABANDONED, CallState.ENDED}
    ),
    CallState.CONNECTED: frozenset({CallState.ENDED}),
    **{s: frozenset() for s in TERMINAL},
}


class IllegalCallTransition(ValueError):
    """A call was asked to move where its state machine does not go."""


@dataclass(slots=True)
class Call:
    """One attempt and its timings (seconds on the campaign clock)."""

    call_id: str
    lead_id: int | None
    number: str
    caller_id: str
    placed_at: float
    state: CallState = CallState.PLACED
    ringing_at: float | None = None  # the far end began alerting (CallRinging), if reported
    answered_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    seat_id: str | None = None
    deadline: float | None = None  # connect-window end while live/connecting
    cause: int = 0
    ivr_at: float | None = None  # robot mode: sent to the IVR
    handover_at: float | None = None  # robot mode: the caller asked for a person (pressed 1)
    machine: bool = False  # AMD said machine, yet the call goes on (on_machine: ivr or seat)

    def move(self, new: CallState, now: float) -> None:
        """Go to ``new`` or raise :class:`IllegalCallTransition`."""
        if new not in ALLOWED[self.state]:
            raise IllegalCallTransition(
                f"call {self.call_id}: cannot go from {self.state.value} to {new.value}"
            )
        self.state = new
        # (most moves of a busy campaign end an unanswered call: that test first)
        if new in TERMINAL:
            self.ended_at = now
        elif new in _ANSWERING:
            if self.answered_at is None:
                self.answered_at = now
            if new is CallState.IN_IVR:
                self.ivr_at = now
            elif new is CallState.LIVE and self.ivr_at is not None and self.handover_at is None:
                self.handover_at = now
        elif new is CallState.CONNECTED:
            self.connected_at = now
        elif new is CallState.RINGING:
            self.ringing_at = now

    @property
    def is_over(self) -> bool:
        return self.state in TERMINAL
