"""The Telephony interface: what the daemon asks of a PBX, and what the PBX tells it back.

Commands are fire-and-forget coroutines: they put the request on the wire and return at once;
their outcome arrives later as an event on ``events()``. Every ``originate`` ends in exactly one
terminal event for its ``call_id``: ``OriginateFailed`` (never answered) or ``CallHungUp``
(answered, then gone) — also when the server is down, the request was refused, or the call
vanished while the connection to the server was lost.

Event order for one call: ``CallRinging`` (at most once) → ``CallAnswered`` → ``AmdResult`` (when
AMD runs) → ``CallConnected`` (customer entered a seat's bridge) → ``CustomerLeftSeat`` →
``CallHungUp``; or ``OriginateFailed`` instead of everything after ``CallRinging``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from dialer.engine.events import (
    AmdResult,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    Command,
    ConnectToSeat,
    CustomerLeftSeat,
    Hangup,
    InboundCall,
    Originate,
    OriginateFailed,
    PlaySafeHarbour,
    SafeHarbourPlayed,
    SeatPhoneDown,
    SeatPhoneUp,
    SeatRequested,
    SendToIvr,
)


class TelephonyError(RuntimeError):
    """A telephony request cannot be made at all (bad argument, unknown call, no server)."""


class AmiLoginError(TelephonyError):
    """Asterisk refused the AMI credentials (the secret itself is never in the message)."""


class AmiActionTimeout(TelephonyError):
    """An AMI action got no reply in time."""


class AmiDisconnected(TelephonyError):
    """The AMI connection is down; the action was not (or may not have been) carried out."""


@dataclass(frozen=True, slots=True)
class ServerConnected:
    """Logged in to an Asterisk server's AMI (first time or after a reconnect)."""

    server: str
    reconnect: bool = False


@dataclass(frozen=True, slots=True)
class ServerDisconnected:
    """Lost (or could not get) the AMI session of a server: dialling through it must pause."""

    server: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ActionFailed:
    """Asterisk refused or did not answer a request for a call or seat (e.g. a Redirect)."""

    server: str
    action: str
    call_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class LiveChannel:
    """One channel alive on a server (from ``CoreShowChannels``)."""

    server: str
    channel: str
    uniqueid: str
    linkedid: str
    state: int  # Asterisk ChannelState: 4 ring, 5 ringing, 6 up
    state_desc: str
    context: str
    exten: str
    application: str
    duration_s: int
    bridge_id: str


TelephonyEvent = (
    CallRinging
    | CallAnswered
    | AmdResult
    | CallConnected
    | CallHungUp
    | OriginateFailed
    | SeatPhoneUp
    | SeatPhoneDown
    | CustomerLeftSeat
    | SafeHarbourPlayed
    | SeatRequested
    | InboundCall
    | ServerConnected
    | ServerDisconnected
    | ActionFailed
)


@runtime_checkable
class Telephony(Protocol):
    """What the daemon needs from a PBX (Asterisk over AMI, or a pool of them)."""

    @property
    def connected(self) -> bool:
        """True when calls can be placed (at least one server logged in)."""
        ...

    @property
    def free_capacity(self) -> int:
        """How many more calls may be placed now (channel limits minus calls in flight)."""
        ...

    async def start(self) -> None:
        """Connect and log in; raises ``AmiLoginError`` on refused credentials."""

    async def close(self) -> None:
        """Disconnect for good."""

    async def originate(
        self,
        call_id: str,
        number: str,
        caller_id: str,
        timeout_s: float,
        *,
        variables: Mapping[str, str] | None = None,
        context: str | None = None,
        exten: str | None = None,
        dial_string: str | None = None,
        server: str | None = None,
    ) -> None:
        """Place a call whose channel id is ``call_id``; never waits for the answer."""

    async def connect_to_seat(self, call_id: str, seat_id: str) -> None:
        """Redirect an answered customer into the seat's nailed-up bridge."""

    async def play_safe_harbour_and_hangup(self, call_id: str) -> None:
        """Abandon: play the identification message, then hang up."""

    async def send_to_ivr(self, call_id: str, context: str, exten: str = "s") -> None:
        """Robot mode: hand the answered call to an IVR context (``s``, priority 1)."""

    async def hangup(self, call_id: str) -> None:
        """Hang the call's customer leg up."""

    async def login_seat(self, seat_id: str, endpoint: str) -> None:
        """Call the seat's phone (``endpoint``, a dial string) and keep it in its own bridge."""

    async def logout_seat(self, seat_id: str) -> None:
        """Hang the seat's phone up."""

    async def live_channels(self) -> list[LiveChannel]:
        """Channels alive now, on every server."""
        ...

    def events(self) -> AsyncIterator[TelephonyEvent]:
        """Normalized events, in arrival order, for as long as the adapter runs."""
        ...


async def carry_out(telephony: Telephony, command: Command) -> None:
    """Execute one engine command on a telephony adapter."""
    match command:
        case Originate():
            await telephony.originate(
                command.call_id,
                command.number,
                command.caller_id,
                command.timeout_s,
                variables=command.variables,
                server=command.server,
            )
        case ConnectToSeat():
            await telephony.connect_to_seat(command.call_id, command.seat_id)
        case PlaySafeHarbour():
            await telephony.play_safe_harbour_and_hangup(command.call_id)
        case SendToIvr():
            await telephony.send_to_ivr(command.call_id, command.context, command.exten)
        case Hangup():
            await telephony.hangup(command.call_id)
