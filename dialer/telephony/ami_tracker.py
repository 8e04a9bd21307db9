"""Turns raw AMI events into the dialer's normalized call and seat events. Pure: no I/O, no clock.

A call is keyed by its ``call_id``, sent to Asterisk as the Originate ``ChannelId``: the customer
leg's ``Uniqueid`` is the call id, and for a ``Local/`` dial string the far half is
``<call id>;2``. What Asterisk 22 does, as observed on the sandbox:

* an unanswered call reports its outcome twice, in no fixed order: ``OriginateResponse``
  (``Reason`` 0 failure, 1 hang-up, 3 no answer, 5 busy, 8 congestion) and the legs' ``Hangup``
  (``Cause``; on a Local channel often only the ``;2`` half has it). ``OriginateFailed`` is emitted
  once both are in (or, when no channel was ever seen, once ``flush`` is called after a grace
  period), with the first non-zero cause;
* an answered call: ``Newstate`` Up, then ``UserEvent(DialerAmd)`` from the dialplan, then
  ``ConfbridgeJoin`` of the seat's conference ``dialer-seat-<seat id>``, then ``Hangup``.

Seats are tracked by the unique id of their phone's channel (created by ``login_seat``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from dialer.engine.events import (
    LOST_TRACK,
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    CustomerLeftSeat,
    FailReason,
    InboundCall,
    OriginateFailed,
    SafeHarbourPlayed,
    SeatPhoneDown,
    SeatPhoneUp,
    SeatRequested,
)
from dialer.telephony.base import LiveChannel, TelephonyEvent

SEAT_BRIDGE_PREFIX = "dialer-seat-"

#: The cause to report when Asterisk gave only an OriginateResponse reason.
REASON_CAUSE = {5: 17, 3: 19, 8: 34, 1: 16}
_BUSY_CAUSES = frozenset({17})
_NO_ANSWER_CAUSES = frozenset({18, 19})
_CONGESTION_CAUSES = frozenset({34, 38, 41, 42, 44, 58})
_INVALID_CAUSES = frozenset({1, 3, 22, 28})
_REASON_FAIL = {5: FailReason.BUSY, 3: FailReason.NO_ANSWER, 8: FailReason.CONGESTION}
_AMD = {s.name: s for s in AmdStatus}

AmiMessage = Mapping[str, str]


def classify_failure(reason: int | None, cause: int) -> FailReason:
    """Why an unanswered call failed, from the Q.850 cause first, else the Originate reason."""
    if cause in _BUSY_CAUSES:
        return FailReason.BUSY
    if cause in _NO_ANSWER_CAUSES:
        return FailReason.NO_ANSWER
    if cause in _CONGESTION_CAUSES:
        return FailReason.CONGESTION
    if cause in _INVALID_CAUSES:
        return FailReason.INVALID_NUMBER
    return _REASON_FAIL.get(reason if reason is not None else -1, FailReason.FAILED)


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


@dataclass(slots=True)
class _Call:
    call_id: str
    deadline: float = float("inf")  # adapter's clock; when to suspect a lost Originate
    channel: str = ""
    created: bool = False
    ringing: bool = False
    answered: bool = False
    inbound: bool = False
    seat_id: str | None = None
    reason: int | None = None  # OriginateResponse reason of a failure
    hung_up: bool = False
    cause: int = 0
    cause_text: str = ""
    other_cause: int = 0
    other_cause_text: str = ""
    other_seen: bool = False  # the ;2 half of a Local channel hung up


@dataclass(slots=True)
class _Seat:
    seat_id: str
    uniqueid: str
    channel: str = ""
    up: bool = False
    ever_up: bool = False


class CallTracker:
    """State of every live call and seat phone on one server; ``feed`` maps AMI to events."""

    def __init__(self, tombstones: int = 10_000) -> None:
        self._calls: dict[str, _Call] = {}
        self._seats: dict[str, _Seat] = {}  # by seat id
        self._seat_uids: dict[str, _Seat] = {}  # by phone channel unique id
        self._tombstones: OrderedDict[str, None] = OrderedDict()
        self._tombstone_limit = tombstones
        #: call ids whose OriginateResponse failure came before any channel: flush them soon.
        self.flush_requests: list[str] = []
        #: channels that belong to calls already reported finished: the adapter hangs them up.
        self.stale_channels: list[str] = []
        self._handlers: dict[str, Callable[[AmiMessage, str], list[TelephonyEvent]]] = {
            "Newchannel": self._newchannel,
            "Newstate": self._newstate,
            "Hangup": self._hangup,
            "OriginateResponse": self._originate_response,
            "UserEvent": self._user_event,
            "ConfbridgeJoin": self._bridge_join,
            "ConfbridgeLeave": self._bridge_leave,
        }

    # ----------------------------------------------------------------- queries

    def __contains__(self, call_id: str) -> bool:
        return call_id in self._calls

    def was_used(self, call_id: str) -> bool:
        """True if the call id is live or finished recently (a retry must take a new one)."""
        return call_id in self._calls or call_id in self._tombstones

    def __len__(self) -> int:
        return len(self._calls)

    def call_ids(self) -> list[str]:
        """Calls not finished yet."""
        return list(self._calls)

    def channel_of(self, call_id: str) -> str | None:
        """The customer leg's channel name (what Redirect and Hangup need), if known."""
        call = self._calls.get(call_id)
        return call.channel or None if call else None

    def seat_channel(self, seat_id: str) -> str | None:
        """The seat phone's channel name, if known."""
        seat = self._seats.get(seat_id)
        return seat.channel or None if seat else None

    def seat_uniqueid(self, seat_id: str) -> str | None:
        """The unique id the seat's phone channel was created with."""
        seat = self._seats.get(seat_id)
        return seat.uniqueid if seat else None

    def seat_is_up(self, seat_id: str) -> bool:
        """True when the seat's phone sits in its bridge (a customer may be connected)."""
        seat = self._seats.get(seat_id)
        return bool(seat and seat.up)

    def is_answered(self, call_id: str) -> bool:
        call = self._calls.get(call_id)
        return bool(call and call.answered)

    # ----------------------------------------------------------------- registration

    def expect_call(self, call_id: str, deadline: float = float("inf")) -> None:
        """Register an outbound call before its Originate goes out."""
        self._calls[call_id] = _Call(call_id, deadline=deadline)

    def expect_seat(self, seat_id: str, uniqueid: str) -> None:
        """Register a seat phone before its Originate goes out."""
        seat = _Seat(seat_id, uniqueid)
        self._seats[seat_id] = seat
        self._seat_uids[uniqueid] = seat

    def originate_not_sent(self, call_id: str, detail: str) -> list[TelephonyEvent]:
        """The Originate was refused or never reached Asterisk: the call failed."""
        call = self._calls.pop(call_id, None)
        if call is None:
            return []
        self._tombstone(call_id)
        return [OriginateFailed(call_id, FailReason.FAILED, 0, detail)]

    def forget_seat(self, seat_id: str) -> str | None:
        """Stop tracking a seat's phone (a new login replaces it); its channel name, if known."""
        seat = self._seats.pop(seat_id, None)
        if seat is None:
            return None
        self._seat_uids.pop(seat.uniqueid, None)
        return seat.channel or None

    def seat_not_sent(self, seat_id: str) -> list[TelephonyEvent]:
        """The seat phone's Originate was refused or lost."""
        seat = self._seats.pop(seat_id, None)
        if seat is None:
            return []
        self._seat_uids.pop(seat.uniqueid, None)
        return [SeatPhoneDown(seat_id)]

    def flush(self, call_id: str) -> list[TelephonyEvent]:
        """Finish a failed call whose legs never showed up (grace period over)."""
        call = self._calls.get(call_id)
        if call is None or call.reason is None or call.answered:
            return []
        return self._finish_unanswered(call)

    def overdue(self, now: float) -> list[str]:
        """Calls with no Originate outcome past their deadline (the adapter checks them)."""
        return [
            c.call_id
            for c in self._calls.values()
            if not c.answered and c.reason is None and c.deadline < now
        ]

    # ----------------------------------------------------------------- the event path

    def feed(self, message: AmiMessage) -> list[TelephonyEvent]:
        """Events that one AMI event produces (most produce none)."""
        handler = self._handlers.get(message.get("Event", ""))
        if handler is None:
            return []
        return handler(message, message.get("Uniqueid", ""))

    def _newchannel(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        call = self._calls.get(uid)
        if call is not None:
            call.channel = msg.get("Channel", "")
            call.created = True
        elif uid in self._seat_uids:
            self._seat_uids[uid].channel = msg.get("Channel", "")
        elif uid in self._tombstones:
            self.stale_channels.append(msg.get("Channel", ""))
        return []

    def _newstate(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        call = self._calls.get(uid)
        if call is None:
            return []
        if not call.channel:
            call.channel = msg.get("Channel", "")
            call.created = True
        state = msg.get("ChannelState")
        if state == "6" and not call.answered:
            call.answered = True
            return [CallAnswered(uid)]
        if state == "5" and not call.ringing and not call.answered:
            call.ringing = True
            return [CallRinging(uid)]
        return []

    def _hangup(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        call = self._calls.get(uid)
        if call is not None:
            call.hung_up = True
            call.cause = _int(msg.get("Cause"))
            call.cause_text = msg.get("Cause-txt", "")
            if call.answered or call.inbound:
                return self._finish_answered(call)
            return self._maybe_finish_unanswered(call)
        if uid.endswith(";2"):
            call = self._calls.get(uid[:-2])
            if call is not None:
                call.other_seen = True
                call.other_cause = _int(msg.get("Cause"))
                call.other_cause_text = msg.get("Cause-txt", "")
                if call.hung_up and not call.answered:
                    return self._maybe_finish_unanswered(call)
            return []
        seat = self._seat_uids.pop(uid, None)
        if seat is not None:
            self._seats.pop(seat.seat_id, None)
            if seat.up or not seat.ever_up:  # else ConfbridgeLeave reported it already
                return [SeatPhoneDown(seat.seat_id)]
        return []

    def _originate_response(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        call = self._calls.get(uid)
        reason = _int(msg.get("Reason"))
        success = msg.get("Response") == "Success" or reason == 4
        if call is not None:
            if success:
                if not call.answered:
                    call.answered = True
                    return [CallAnswered(uid)]
                return []
            call.reason = reason
            if not call.created:
                self.flush_requests.append(uid)
                return []
            return self._maybe_finish_unanswered(call)
        seat = self._seat_uids.get(uid)
        if seat is not None and not success:
            self._seat_uids.pop(uid, None)
            self._seats.pop(seat.seat_id, None)
            return [SeatPhoneDown(seat.seat_id)]
        return []

    def _user_event(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        kind = msg.get("UserEvent", "")
        if kind == "DialerInbound":
            call = _Call(uid, channel=msg.get("Channel", ""), created=True, inbound=True)
            self._calls[uid] = call
            return [InboundCall(uid, msg.get("Caller", ""), msg.get("Dialled", ""))]
        if uid not in self._calls:
            return []
        if kind == "DialerAmd":
            status = _AMD.get(msg.get("AmdStatus", "").upper(), AmdStatus.NOTSURE)
            return [AmdResult(uid, status, msg.get("AmdCause", ""))]
        if kind == "DialerSafeHarbour":
            return [SafeHarbourPlayed(uid, msg.get("Status", "") == "SUCCESS")]
        if kind == "DialerSeatRequest":
            return [SeatRequested(uid)]
        return []

    def _bridge_join(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        conference = msg.get("Conference", "")
        if not conference.startswith(SEAT_BRIDGE_PREFIX):
            return []
        seat_id = conference[len(SEAT_BRIDGE_PREFIX) :]
        call = self._calls.get(uid)
        if call is not None:
            call.seat_id = seat_id
            return [CallConnected(uid, seat_id)]
        seat = self._seat_uids.get(uid)
        if seat is not None and not seat.up:
            seat.up = seat.ever_up = True
            seat.channel = seat.channel or msg.get("Channel", "")
            return [SeatPhoneUp(seat.seat_id)]
        return []

    def _bridge_leave(self, msg: AmiMessage, uid: str) -> list[TelephonyEvent]:
        call = self._calls.get(uid)
        if call is not None and call.seat_id is not None:
            seat_id, call.seat_id = call.seat_id, None
            return [CustomerLeftSeat(uid, seat_id)]
        seat = self._seat_uids.get(uid)
        if seat is not None and seat.up:
            seat.up = False
            return [SeatPhoneDown(seat.seat_id)]
        return []

    # ----------------------------------------------------------------- endings

    def _tombstone(self, call_id: str) -> None:
        self._tombstones[call_id] = None
        if len(self._tombstones) > self._tombstone_limit:
            self._tombstones.popitem(last=False)

    def _finish_answered(self, call: _Call) -> list[TelephonyEvent]:
        del self._calls[call.call_id]
        self._tombstone(call.call_id)
        events: list[TelephonyEvent] = []
        if call.seat_id is not None:
            events.append(CustomerLeftSeat(call.call_id, call.seat_id))
        cause, text = call.cause, call.cause_text
        if cause == 0 and call.other_cause:
            cause, text = call.other_cause, call.other_cause_text
        events.append(CallHungUp(call.call_id, cause, text))
        return events

    def _maybe_finish_unanswered(self, call: _Call) -> list[TelephonyEvent]:
        """Finish once the outcome and the customer leg's end are in. A Local channel's ``;1``
        half often hangs up with cause 0 while its ``;2`` half carries the real cause: wait for
        that too (``flush`` finishes it anyway after the grace period)."""
        if call.reason is None or not call.hung_up:
            return []
        if call.cause == 0 and not call.other_seen and call.channel.startswith("Local/"):
            self.flush_requests.append(call.call_id)
            return []
        return self._finish_unanswered(call)

    def _finish_unanswered(self, call: _Call) -> list[TelephonyEvent]:
        del self._calls[call.call_id]
        self._tombstone(call.call_id)
        cause, text = call.cause, call.cause_text
        if cause == 0:
            cause, text = call.other_cause, call.other_cause_text
        if cause == 0:
            cause = REASON_CAUSE.get(call.reason or 0, 0)
        reason = classify_failure(call.reason, cause)
        detail = text or f"originate reason {call.reason}"
        return [OriginateFailed(call.call_id, reason, cause, detail)]

    def reconcile(
        self,
        live: Iterable[LiveChannel],
        only: Iterable[str] | None = None,
        seat_context: str | None = None,
    ) -> list[TelephonyEvent]:
        """Compare with the channels alive on the server (after a (re)connect, or for overdue
        calls when ``only`` is given): finish calls and seats that vanished, catch up answers,
        and, when ``seat_context`` is given, adopt seat phones already sitting in their bridges
        there (e.g. nailed up before a daemon restart)."""
        live = list(live)
        by_uid = {c.uniqueid: c for c in live}
        events: list[TelephonyEvent] = []
        for call_id in list(only) if only is not None else list(self._calls):
            call = self._calls.get(call_id)
            if call is None:
                continue
            channel = by_uid.get(call_id)
            if channel is None:
                del self._calls[call_id]
                self._tombstone(call_id)
                if call.answered or call.inbound:
                    if call.seat_id is not None:
                        events.append(CustomerLeftSeat(call_id, call.seat_id))
                    events.append(CallHungUp(call_id, 0, LOST_TRACK))
                else:
                    events.append(OriginateFailed(call_id, FailReason.FAILED, 0, LOST_TRACK))
                continue
            call.channel = channel.channel
            call.created = True
            if channel.state == 6 and not call.answered:
                call.answered = True
                events.append(CallAnswered(call_id))
        if only is None:
            for seat in list(self._seats.values()):
                if seat.uniqueid not in by_uid:
                    self._seats.pop(seat.seat_id, None)
                    self._seat_uids.pop(seat.uniqueid, None)
                    events.append(SeatPhoneDown(seat.seat_id))
            for channel in live if seat_context else ():
                if (
                    channel.context == seat_context
                    and channel.application == "ConfBridge"
                    and channel.exten not in self._seats
                    and channel.uniqueid not in self._calls
                ):
                    seat = _Seat(
                        channel.exten, channel.uniqueid, channel.channel, up=True, ever_up=True
                    )
                    self._seats[seat.seat_id] = seat
                    self._seat_uids[seat.uniqueid] = seat
                    events.append(SeatPhoneUp(seat.seat_id))
        return events
