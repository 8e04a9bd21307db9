"""The Telephony interface on one Asterisk server, over AMI (panoramisk 1.4, defects worked around).

* ``start`` waits for the login and raises ``AmiLoginError`` when it is refused.
* Every action has a timeout; commands never wait for their reply (replies become events).
* An Originate is sent once, ever: pending actions fail on disconnect instead of being re-sent.
* Pings detect a half-open connection; reconnects back off exponentially with jitter.
* After a reconnect, ``CoreShowChannels`` reconciles the calls: those that vanished end with
  ``CallHungUp`` / ``OriginateFailed``; a call reported finished that shows up later is hung up.
* The secret never reaches a log line, a repr or an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import phonenumbers
from panoramisk import actions

from dialer.engine.events import NOT_SENT
from dialer.telephony.ami_protocol import DialerAmiProtocol, DialerManager
from dialer.telephony.ami_tracker import CallTracker
from dialer.telephony.base import (
    ActionFailed,
    AmiActionTimeout,
    AmiDisconnected,
    AmiLoginError,
    LiveChannel,
    ServerConnected,
    ServerDisconnected,
    TelephonyError,
    TelephonyEvent,
)
from dialer.telephony.call_rate import CallRateLimit

log = logging.getLogger(__name__)

SEAT_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
MAX_CHANNEL_ID = 149  # Asterisk's limit for ChannelId / OtherChannelId


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """Answering-machine detection timings (ms) sent with each call as ``DIALER_AMD_ARGS``."""

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_time_ms: int = 3500
    min_word_length_ms: int = 100
    between_words_silence_ms: int = 50
    maximum_number_of_words: int = 3
    silence_threshold: int = 256
    maximum_word_length_ms: int = 5000

    def as_args(self) -> str:
        """The AMD() argument list, in Asterisk's order."""
        return ",".join(
            str(v)
            for v in (
                self.initial_silence_ms,
                self.greeting_ms,
                self.after_greeting_silence_ms,
                self.total_analysis_time_ms,
                self.min_word_length_ms,
                self.between_words_silence_ms,
                self.maximum_number_of_words,
                self.silence_threshold,
                self.maximum_word_length_ms,
            )
        )


@dataclass(frozen=True, slots=True)
class AmiServerConfig:
    """One Asterisk server: where its AMI is, how many calls it may carry, how to dial."""

    name: str
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    max_channels: int = 200
    #: New calls a second the trunk accepts (None: no limit; see :mod:`dialer.telephony.call_rate`).
    max_calls_per_second: float | None = None
    #: ``{e164}`` (or ``{number}``) is the number as given, ``{digits}`` its digits only,
    #: ``{national}`` its national significant number (same placeholders as campaigns.yaml).
    dial_string_template: str = "Local/{digits}@sim-customers"
    answered_context: str = "dialer-answered"
    connect_context: str = "dialer-connect"
    seat_context: str = "dialer-seat"
    safe_harbour_context: str = "dialer-safe-harbour"
    amd: AmdSettings | None = None  # None: no answering-machine detection
    seat_ring_timeout_s: float = 30.0
    #: at (re)connect, take over seat phones already in their bridges (``dialer-seat``), e.g.
    #: nailed up by this daemon before a restart; off: they are left to the daemon to hang up.
    adopt_seats: bool = False
    action_timeout_s: float = 5.0
    login_timeout_s: float = 5.0
    ping_interval_s: float = 5.0
    ping_timeout_s: float = 3.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 30.0
    flush_grace_s: float = 1.0  # how long a failed Originate waits for its channel's Hangup
    originate_grace_s: float = 60.0  # Originate outcome overdue after timeout + this: reconcile
    #: Asterisk's Originate timeout runs from the dial, call set-up included, but the law's
    #: minimum ring (15 s) is of ringing: the timeout sent is the call's ``timeout_s`` plus this,
    #: so the phone rings at least ``timeout_s`` when set-up takes up to this long.
    ring_setup_allowance_s: float = 5.0


def digits_of(number: str) -> str:
    """The digits of a phone number (``+1 555-0103012`` -> ``15550103012``)."""
    return "".join(ch for ch in number if ch.isdigit())


def dial_string_for(template: str, number: str) -> str:
    """Fill a dial string template (``PJSIP/{e164}@trunk``, ``Local/{digits}@sim-customers``)."""
    digits = digits_of(number)
    national = digits
    if "{national}" in template:
        try:
            national = str(phonenumbers.parse(number, None).national_number)
        except phonenumbers.NumberParseException:
            national = digits
    return template.format(e164=number, number=number, digits=digits, national=national)


def amd_variables(settings: AmdSettings | None) -> dict[str, str]:
    """Per-call channel variables that switch AMD on with these timings, or off (None): pass
    them as ``originate(variables=...)`` to override the server's default for one campaign."""
    if settings is None:
        return {"DIALER_AMD": "0"}
    return {"DIALER_AMD": "1", "DIALER_AMD_ARGS": settings.as_args()}


def _backoff(attempt: int, low: float, high: float) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(high, low * 2**attempt)."""
    delay = min(high, low * (2 ** min(attempt, 30)))
    return random.uniform(delay / 2, delay)


class AmiTelephony:
    """Telephony on one Asterisk server. See the module docstring for the guarantees."""

    def __init__(
        self,
        config: AmiServerConfig,
        *,
        sink: Callable[[TelephonyEvent], None] | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.tracker = CallTracker()
        #: AMI actions written to the socket, by name (tests prove an Originate is never re-sent).
        self.sent_actions: Counter[str] = Counter()
        self.events_received = 0
        self.reconnects = 0
        self._queue: asyncio.Queue[TelephonyEvent | None] = asyncio.Queue()
        self._sink = sink or self._queue.put_nowait
        self._manager: DialerManager | None = None
        self._protocol: DialerAmiProtocol | None = None
        self._connected = False
        self._closing = False
        self._lost: asyncio.Event | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._first_login: asyncio.Future[None] | None = None
        self._ever_connected = False
        self._down_reported = False
        rate = config.max_calls_per_second
        self._call_rate = CallRateLimit(rate) if rate is not None else None

    # ----------------------------------------------------------------- state

    @property
    def connected(self) -> bool:
        """Logged in and not known to be cut off."""
        return self._connected

    @property
    def calls_in_flight(self) -> int:
        """Calls placed or taken on this server and not finished."""
        return len(self.tracker)

    @property
    def free_capacity(self) -> int:
        """How many more calls this server may carry now (0 when disconnected)."""
        room = self.free_channels
        if room and self._call_rate is not None:
            room = min(room, self._call_rate.available(time.monotonic()))
        return room

    @property
    def free_channels(self) -> int:
        """Channels free now (0 when disconnected), whatever the calls-per-second limit: a call
        sent beyond the limit waits in :meth:`originate` for its turn."""
        if not self._connected:
            return 0
        return max(0, self.config.max_channels - len(self.tracker))

    def _emit(self, event: TelephonyEvent) -> None:
        self._sink(event)

    def _emit_all(self, events: list[TelephonyEvent]) -> None:
        for event in events:
            self._sink(event)

    # ----------------------------------------------------------------- life cycle

    async def start(self, wait: bool = True) -> None:
        """Connect in the background; with ``wait``, return once logged in or raise
        ``AmiLoginError`` (refused) / ``AmiDisconnected`` (unreachable within the login timeout).
        """
        if self._supervisor is not None:
            return
        loop = asyncio.get_running_loop()
        self._first_login = loop.create_future()
        self._lost = asyncio.Event()
        self._supervisor = loop.create_task(self._supervise(), name=f"ami-{self.name}")
        if not wait:
            # Nobody awaits the first login: a refusal is reported as ServerDisconnected, so
            # mark the future's exception retrieved instead of letting asyncio log it as lost.
            self._first_login.add_done_callback(lambda f: f.cancelled() or f.exception())
            return
        try:
            await asyncio.wait_for(
                asyncio.shield(self._first_login), self.config.login_timeout_s * 2 + 1
            )
        except TimeoutError:
            await self.close()
            raise AmiDisconnected(
                f"AMI of server {self.name!r} at {self.config.host}:{self.config.port} "
                "did not answer a login in time"
            ) from None
        except AmiLoginError:
            await self.close()
            raise

    async def close(self) -> None:
        """Disconnect for good and end ``events()``."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
        if self._manager is not None:
            self._manager.close()
        self._connected = False
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[TelephonyEvent]:
        """Normalized events until ``close`` (only when no ``sink`` was given)."""
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    async def _supervise(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                await self._connect_and_login()
            except AmiLoginError as exc:
                self._first_outcome(exc)
                self._report_down("login refused")
            except (TimeoutError, OSError, AmiDisconnected) as exc:
                self._report_down(f"cannot connect: {type(exc).__name__}: {exc}")
            else:
                self._down_reported = False
                attempt = 0
                reconnect = self._ever_connected
                self._connected = True
                self._ever_connected = True
                if reconnect:
                    self.reconnects += 1
                log.info("AMI %s: logged in%s", self.name, " again" if reconnect else "")
                self._emit(ServerConnected(self.name, reconnect=reconnect))
                await self._reconcile()
                self._first_outcome(None)
                reason = await self._watch()
                self._connected = False
                if self._manager is not None:
                    self._manager.close()
                if self._closing:
                    return
                self._report_down(reason)
            await asyncio.sleep(
                _backoff(attempt, self.config.reconnect_min_s, self.config.reconnect_max_s)
            )
            attempt += 1

    def _report_down(self, reason: str) -> None:
        """One ``ServerDisconnected`` (and log line) per outage, not one per retry."""
        if self._down_reported:
            return
        self._down_reported = True
        log.warning("AMI %s: down (%s)", self.name, reason)
        self._emit(ServerDisconnected(self.name, reason))

    def _first_outcome(self, error: Exception | None) -> None:
        if self._first_login is None or self._first_login.done():
            return
        if error is None:
            self._first_login.set_result(None)
        else:
            self._first_login.set_exception(error)

    async def _connect_and_login(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._lost is not None
        self._lost.clear()
        if self._manager is not None:
            self._manager.close()
        self._manager = DialerManager(
            host=self.config.host,
            port=self.config.port,
            loop=loop,
            protocol_factory=partial(
                DialerAmiProtocol, self._on_ami_event, self._on_lost, self.sent_actions
            ),
        )
        task = self._manager.connect()
        _transport, protocol = await asyncio.wait_for(task, self.config.login_timeout_s)
        self._protocol = protocol
        login = actions.Action(
            {
                "Action": "Login",
                "Username": self.config.username,
                "Secret": self.config.secret,
                "Events": "on",
            },
            as_list=False,
        )
        future = protocol.send(login, as_list=False)
        try:
            reply = await asyncio.wait_for(future, self.config.login_timeout_s)
        except TimeoutError:
            protocol.close()
            raise
        if reply.response != "Success":
            protocol.close()
            raise AmiLoginError(
                f"AMI of server {self.name!r} refused user {self.config.username!r}: "
                f"{reply.message or reply.response}"
            )

    def _on_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self._lost is not None:
            self._lost.set()

    async def _watch(self) -> str:
        """Ping until the connection is lost; return why it was."""
        assert self._lost is not None
        loop = asyncio.get_running_loop()
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._lost.wait(), self.config.ping_interval_s)
                return "connection closed by server"
            try:
                await self._request({"Action": "Ping"}, self.config.ping_timeout_s)
            except AmiActionTimeout:
                return "ping unanswered (half-open connection)"
            except AmiDisconnected:
                return "connection closed by server"
            overdue = self.tracker.overdue(loop.time())
            if overdue:
                with contextlib.suppress(TelephonyError):
                    live = await self.live_channels()
                    self._emit_all(self.tracker.reconcile(live, only=overdue))
        return "closing"

    async def _reconcile(self) -> None:
        try:
            live = await self.live_channels()
        except TelephonyError as exc:
            log.warning("AMI %s: cannot reconcile after reconnect: %s", self.name, exc)
            return
        seat_context = self.config.seat_context if self.config.adopt_seats else None
        events = self.tracker.reconcile(live, seat_context=seat_context)
        log.info(
            "AMI %s: reconciled %d live channels, %d events", self.name, len(live), len(events)
        )
        self._emit_all(events)

    # ----------------------------------------------------------------- event path

    def _on_ami_event(self, message: dict[str, Any]) -> None:
        self.events_received += 1
        event_name = message.get("Event")
        if event_name == "Shutdown":
            log.warning("AMI %s: Asterisk is shutting down", self.name)
        tracker = self.tracker
        events = tracker.feed(message)
        for event in events:
            self._sink(event)
        if tracker.flush_requests:
            loop = asyncio.get_running_loop()
            for call_id in tracker.flush_requests:
                loop.call_later(self.config.flush_grace_s, self._flush, call_id)
            tracker.flush_requests.clear()
        if tracker.stale_channels:
            for channel in tracker.stale_channels:
                self.hangup_channel(channel)
            tracker.stale_channels.clear()

    def _flush(self, call_id: str) -> None:
        self._emit_all(self.tracker.flush(call_id))

    # ----------------------------------------------------------------- actions

    async def _request(self, action: dict[str, str], timeout_s: float | None = None) -> Any:
        """Send an action and wait for its full reply (with a timeout)."""
        protocol = self._protocol
        if protocol is None or not self._connected:
            raise AmiDisconnected(f"server {self.name!r} is not connected")
        request = actions.Action(action)
        future = protocol.send(request, as_list=None)
        try:
            return await asyncio.wait_for(future, timeout_s or self.config.action_timeout_s)
        except TimeoutError:
            protocol.forget(request)
            raise AmiActionTimeout(
                f"{action['Action']} on server {self.name!r} got no reply in time"
            ) from None

    def _fire(
        self,
        action: Mapping[str, str | list[str]],
        call_id: str | None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        """Send an action without waiting; a refusal or a timeout becomes an event."""
        name = str(action["Action"])

        def failed(message: str) -> None:
            if on_error is not None:
                on_error(message)
            else:
                self._emit(ActionFailed(self.name, name, call_id, message))

        protocol = self._protocol
        if protocol is None or not self._connected:
            failed(f"{NOT_SENT} (server {self.name!r})")
            return
        request = actions.Action(dict(action), as_list=False)
        future = protocol.send(request, as_list=False)
        loop = asyncio.get_running_loop()

        def timed_out() -> None:
            if not future.done():
                protocol.forget(request)
                future.cancel()
                log.warning("AMI %s: %s got no reply in time", self.name, name)

        timer = loop.call_later(self.config.action_timeout_s, timed_out)

        def done(fut: asyncio.Future[Any]) -> None:
            timer.cancel()
            if fut.cancelled():
                return
            exc = fut.exception()
            if exc is not None:
                if name != "Originate":
                    failed(str(exc))
                return
            reply = fut.result()
            if reply.response not in ("Success", "Follows"):
                failed(str(reply.message or reply.response))

        future.add_done_callback(done)

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
        """Place a call with ``ChannelId = call_id``; its outcome arrives as events."""
        if not call_id or len(call_id) > MAX_CHANNEL_ID or ";" in call_id:
            raise TelephonyError(f"call id {call_id!r} is not a valid Asterisk ChannelId")
        if self.tracker.was_used(call_id):
            raise TelephonyError(f"call id {call_id!r} was already used: never dial twice")
        channel = dial_string or dial_string_for(self.config.dial_string_template, number)
        loop = asyncio.get_running_loop()
        wait = 0.0
        if self._call_rate is not None and self._connected:
            # (the daemon asks for no more calls than free_capacity, which counts the tokens: a
            # call waits here when campaigns sharing the trunk raced for the same tokens)
            wait = self._call_rate.take(time.monotonic())
        timeout_s += self.config.ring_setup_allowance_s
        self.tracker.expect_call(
            call_id, deadline=loop.time() + wait + timeout_s + self.config.originate_grace_s
        )
        if wait > 0:
            await asyncio.sleep(wait)
        if not self._connected:
            self._emit_all(
                self.tracker.originate_not_sent(call_id, f"{NOT_SENT} (server {self.name!r})")
            )
            return
        chan_vars = {"DIALER_CALL_ID": call_id, **amd_variables(self.config.amd)}
        if variables:
            chan_vars.update(variables)
        action: dict[str, str | list[str]] = {
            "Action": "Originate",
            "Channel": channel,
            "Context": context or self.config.answered_context,
            "Exten": exten or "s",
            "Priority": "1",
            "Timeout": str(int(timeout_s * 1000)),
            "CallerID": caller_id,
            "ChannelId": call_id,
            "Async": "true",  # a string: panoramisk sends Python False as "False" and hangs
            "Variable": [f"{k}={v}" for k, v in chan_vars.items()],
        }
        self._fire(
            action,
            call_id,
            on_error=lambda msg: self._emit_all(self.tracker.originate_not_sent(call_id, msg)),
        )

    def _call_channel(self, call_id: str, action: str) -> str | None:
        channel = self.tracker.channel_of(call_id)
        if channel is None:
            self._emit(ActionFailed(self.name, action, call_id, "no live channel for this call"))
        return channel

    def _redirect(self, call_id: str, context: str, exten: str) -> None:
        channel = self._call_channel(call_id, "Redirect")
        if channel is None:
            return
        self._fire(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": "1",
            },
            call_id,
        )

    async def connect_to_seat(self, call_id: str, seat_id: str) -> None:
        """Redirect the answered customer into ``dialer-seat-<seat_id>``; refused (as an
        ``ActionFailed`` event) when the seat's phone is not in its bridge on this server."""
        _check_seat_id(seat_id)
        if not self.tracker.seat_is_up(seat_id):
            self._emit(
                ActionFailed(self.name, "Redirect", call_id, f"seat {seat_id!r} is not nailed up")
            )
            return
        self._redirect(call_id, self.config.connect_context, seat_id)

    async def play_safe_harbour_and_hangup(self, call_id: str) -> None:
        """Redirect to the safe-harbour context (message, ``UserEvent``, hang-up)."""
        self._redirect(call_id, self.config.safe_harbour_context, "s")

    async def send_to_ivr(self, call_id: str, context: str, exten: str = "s") -> None:
        """Redirect to an IVR context (robot mode), at ``exten``."""
        self._redirect(call_id, context, exten)

    async def hangup(self, call_id: str) -> None:
        """Hang the customer leg up (cause 16)."""
        channel = self._call_channel(call_id, "Hangup")
        if channel is not None:
            self._fire({"Action": "Hangup", "Channel": channel, "Cause": "16"}, call_id)

    async def login_seat(self, seat_id: str, endpoint: str) -> None:
        """Call the seat's phone once; it stays in its conference until ``logout_seat``."""
        _check_seat_id(seat_id)
        old_channel = self.tracker.forget_seat(seat_id)
        if old_channel:  # a new login replaces the old phone call (no SeatPhoneDown for it)
            self.hangup_channel(old_channel)
        uniqueid = f"seat-{seat_id}-{uuid.uuid4().hex[:12]}"
        self.tracker.expect_seat(seat_id, uniqueid)
        if not self._connected:
            self._emit_all(self.tracker.seat_not_sent(seat_id))
            return
        action = {
            "Action": "Originate",
            "Channel": endpoint,
            "Context": self.config.seat_context,
            "Exten": seat_id,
            "Priority": "1",
            "Timeout": str(int(self.config.seat_ring_timeout_s * 1000)),
            "CallerID": f"dialer <{seat_id}>",
            "ChannelId": uniqueid,
            "Async": "true",
            "Variable": f"DIALER_SEAT_ID={seat_id}",
        }
        self._fire(
            action, None, on_error=lambda _msg: self._emit_all(self.tracker.seat_not_sent(seat_id))
        )

    def hangup_channel(self, channel: str) -> None:
        """Hang up any channel by name (e.g. a seat phone left by a dead daemon)."""
        self._fire({"Action": "Hangup", "Channel": channel, "Cause": "16"}, None)

    async def logout_seat(self, seat_id: str) -> None:
        """Hang the seat's phone up (``SeatPhoneDown`` follows)."""
        channel = self.tracker.seat_channel(seat_id)
        if channel is None:
            self._emit_all(self.tracker.seat_not_sent(seat_id))
            return
        self._fire({"Action": "Hangup", "Channel": channel, "Cause": "16"}, None)

    async def live_channels(self) -> list[LiveChannel]:
        """``CoreShowChannels``: every channel alive on this server."""
        reply = await self._request({"Action": "CoreShowChannels"})
        messages = reply if isinstance(reply, list) else [reply]
        channels = []
        for msg in messages:
            if msg.get("Event") != "CoreShowChannel":
                continue
            channels.append(
                LiveChannel(
                    server=self.name,
                    channel=msg.get("Channel", ""),
                    uniqueid=msg.get("Uniqueid", ""),
                    linkedid=msg.get("Linkedid", ""),
                    state=int(msg.get("ChannelState", "0") or 0),
                    state_desc=msg.get("ChannelStateDesc", ""),
                    context=msg.get("Context", ""),
                    exten=msg.get("Exten", ""),
                    application=msg.get("Application", ""),
                    duration_s=_duration(msg.get("Duration", "")),
                    bridge_id=msg.get("BridgeId", ""),
                )
            )
        return channels


def _check_seat_id(seat_id: str) -> None:
    if not SEAT_ID_RE.match(seat_id):
        raise TelephonyError(
            f"seat id {seat_id!r} must be 1-64 letters, digits, '_' or '-' (it is a dialplan "
            "extension), not starting with '-'"
        )


def _duration(text: str) -> int:
    """``HH:MM:SS`` to seconds (0 if unreadable)."""
    try:
        hours, minutes, seconds = (int(part) for part in text.split(":"))
    except ValueError:
        return 0
    return hours * 3600 + minutes * 60 + seconds
