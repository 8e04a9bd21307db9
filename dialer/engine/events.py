"""The vocabulary between the pure engine and the worlds that drive it.

Telephony adapters (the Asterisk AMI adapter, the simulated PBX) translate what their PBX reports
into these *events*; the engine answers with *commands*, which the adapters carry out. Every call is
keyed by its ``call_id``: the attempt id, created before the Originate and sent to Asterisk as the
channel id, so every event maps back to exactly one attempt and a retry never reuses it.

Times are not carried on events: whoever feeds an event to the engine passes ``now`` alongside it.
"""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum

from pacing.values import value


class AmdStatus(StrEnum):
    """Answering-machine detection verdicts (Asterisk's ``AMDSTATUS`` values, lower-cased)."""

    HUMAN = "human"
    MACHINE = "machine"
    NOTSURE = "notsure"
    HANGUP = "hangup"


class FailReason(StrEnum):
    """Why a call ended without being answered, normalised from Asterisk causes and reasons."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"  # anything else: channel unavailable, originate refused, server down


# ----------------------------------------------------------------------------- events


@value
class CallRinging:
    """The far end is alerting (Asterisk: Newstate 5 / DialBegin, or OriginateResponse pending)."""

    call_id: str


@value
class CallAnswered:
    """The called party picked up (greeting over when AMD is off)."""

    call_id: str


@value
class AmdResult:
    """Answering-machine detection finished on an answered call."""

    call_id: str
    status: AmdStatus
    cause: str = ""


@value
class CallConnected:
    """The answered customer entered the seat's bridge: the agent hears them now."""

    call_id: str
    seat_id: str


@value
class CallHungUp:
    """The call's customer leg is gone. ``cause`` is the Q.850 / Asterisk hang-up cause code."""

    call_id: str
    cause: int = 16
    cause_text: str = ""


#: ``detail`` of a call the telephony adapter lost track of (its channel was gone when the AMI
#: connection came back): how it ended is unknown.
LOST_TRACK = "vanished while the AMI connection was down"
#: ``detail`` (prefix) of a call whose Originate never left: the AMI connection was down.
NOT_SENT = "not sent: the AMI connection was down"


@value
class OriginateFailed:
    """The call was never answered: busy, no answer, congestion, invalid number, or failure."""

    call_id: str
    reason: FailReason
    cause: int = 0
    detail: str = ""


@value
class SeatPhoneUp:
    """A seat's phone is answered and sits in its own bridge (nailed up)."""

    seat_id: str


@value
class SeatPhoneDown:
    """A seat's phone left its bridge: the seat cannot take calls until it is back."""

    seat_id: str


@value
class CustomerLeftSeat:
    """The customer hung up or left the seat's bridge: the seat's talk time ends."""

    call_id: str
    seat_id: str


CallEvent = (
    CallRinging
    | CallAnswered
    | AmdResult
    | CallConnected
    | CallHungUp
    | OriginateFailed
    | SeatPhoneUp
    | SeatPhoneDown
    | CustomerLeftSeat
)


# ----------------------------------------------------------------------------- commands


@value
class Originate:
    """Place a call. ``call_id`` is the attempt id, written to the database before this is sent."""

    call_id: str
    campaign: str
    lead_id: int | None
    number: str  # E.164
    caller_id: str  # E.164, from the campaign's caller-ID pool
    timeout_s: float  # how long to let it ring (>= 15 s by law)
    server: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


@value
class ConnectToSeat:
    """Bridge an answered customer into the seat's nailed-up bridge."""

    call_id: str
    seat_id: str


@value
class PlaySafeHarbour:
    """Abandon: play the recorded identification message, then hang up."""

    call_id: str


@value
class SendToIvr:
    """Robot mode: hand the answered call to the campaign's IVR context (at ``exten``)."""

    call_id: str
    context: str
    exten: str = "s"


@value
class Hangup:
    """Hang the call up (machine left alone, drain, operator request)."""

    call_id: str
    reason: str = ""


Command = Originate | ConnectToSeat | PlaySafeHarbour | SendToIvr | Hangup


# ----------------------------------------------------------------------------- events added by the
# telephony adapter (appended; not part of the CallEvent union above, see
# dialer.telephony.base.TelephonyEvent)


@value
class SafeHarbourPlayed:
    """The safe-harbour message finished on an abandoned call (``completed`` False: cut short)."""

    call_id: str
    completed: bool = True


@value
class SeatRequested:
    """Robot mode: the called party asked the IVR for a person; connect them to a seat now."""

    call_id: str


@value
class InboundCall:
    """A call came in on a caller-ID pool number (a callback): the daemon must route it.

    ``call_id`` is the inbound channel's unique id; route it with ``connect_to_seat``.
    """

    call_id: str
    caller_number: str
    dialled_number: str
