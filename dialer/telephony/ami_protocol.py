"""panoramisk 1.4's AMI protocol and manager, with its defects taken out.

* Bytes are decoded with an incremental UTF-8 decoder, so a character split across TCP chunks
  survives (panoramisk decodes each chunk alone and drops the pieces).
* Events that no pending action waits for go straight to one callback as plain ``dict``\\s (no
  pattern matching, no ``CaseInsensitiveDict``): the hot path of a busy dialer.
* When the connection drops, pending actions fail with ``AmiDisconnected`` at once instead of being
  queued and re-sent after the next ``FullyBooted``: a re-sent Originate would dial a person twice.
* No automatic reconnect, ping or login: ``AmiTelephony`` does those with timeouts and backoff.
* Nothing logged carries an action's content (a Login holds the secret).
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.manager import Manager
from panoramisk.message import Message

from dialer.telephony.base import AmiDisconnected

log = logging.getLogger(__name__)

EOL = "\r\n"
BLOCK_END = "\r\n\r\n"
BANNER = "Asterisk Call Manager/"

EventCallback = Callable[[dict[str, Any]], None]
LostCallback = Callable[[Exception | None], None]


def parse_block(block: str) -> dict[str, Any]:
    """One AMI message (``Key: value`` lines) as a dict; repeated keys become lists."""
    message: dict[str, Any] = {}
    for line in block.split(EOL):
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key in message:
            previous = message[key]
            if isinstance(previous, list):
                previous.append(value)
            else:
                message[key] = [previous, value]
        else:
            message[key] = value
    return message


class DialerAmiProtocol(AMIProtocol):
    """AMI wire protocol: incremental decoding, fast event path, fail-fast on disconnect."""

    version: str | None
    closed: bool
    transport: asyncio.Transport | None

    def __init__(
        self, on_event: EventCallback, on_lost: LostCallback, sent: Counter[str] | None = None
    ) -> None:
        super().__init__()
        self._on_event = on_event
        self._on_lost = on_lost
        #: actions written to the socket, by name: proof that nothing is ever re-sent
        self.sent: Counter[str] = sent if sent is not None else Counter()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.log = log
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._tail = ""
        self.bytes_received = 0

    def send(self, data: Any, as_list: bool | None = False) -> asyncio.Future[Any]:
        """Write an action; the returned future fails at once if the connection is closed."""
        if not isinstance(data, actions.Action):
            klass = actions.Command if "Command" in data else actions.Action
            data = klass(data, as_list=as_list)
        data.as_list = as_list
        future: asyncio.Future[Any] = data.future
        if self.closed or self.transport is None or self.transport.is_closing():
            future.set_exception(AmiDisconnected("AMI connection is closed"))
            return future
        self.responses[data.id] = data
        if data.action_id:
            self.responses[data.action_id] = data
        self.transport.write(str(data).encode("utf-8"))
        self.sent[str(data["Action"])] += 1
        return future

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        text = self._tail + self._decoder.decode(data)
        if self.version is None:
            if text.startswith(BANNER):
                banner, sep, rest = text.partition(EOL)
                if not sep:
                    self._tail = text
                    return
                self.version = banner[len(BANNER) :].strip()
                text = rest
            elif len(text) >= len(BANNER):
                self.version = ""
        blocks = text.split(BLOCK_END)
        self._tail = blocks.pop()
        responses = self.responses
        for block in blocks:
            message = parse_block(block)
            if not message:
                continue
            if "Event" in message and "ActionID" not in message:
                self._on_event(message)
            elif responses:
                self.handle_message(Message(message))
            elif "Event" in message:
                self._on_event(message)

    def handle_message(self, message: Message) -> None:
        response = self.responses.get(message.id)
        if response is None and message.action_id:
            response = self.responses.get(message.action_id)
        if response is not None:
            if response.add_message(message) or response.future.done():
                self.responses.pop(response.id, None)
                if response.action_id:
                    self.responses.pop(response.action_id, None)
            return
        if "event" in message:
            self._on_event({key: message[key] for key in message})

    def forget(self, action: actions.Action) -> None:
        """Stop waiting for an action's reply (after a timeout)."""
        self.responses.pop(action.id, None)
        if action.action_id:
            self.responses.pop(action.action_id, None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed:
            self.close()
        self._on_lost(exc)

    def close(self) -> None:
        """Close the transport and fail every pending action (never queue it for a re-send)."""
        pending = list({id(a): a for a in self.responses.values()}.values())
        self.responses.clear()
        for action in pending:
            if not action.future.done():
                action.future.set_exception(AmiDisconnected("AMI connection lost"))
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()


class DialerManager(Manager):
    """panoramisk's Manager reduced to a connection holder: no auto-login, ping or reconnect,
    and never re-sends actions after a reconnect."""

    def __init__(self, **config: Any) -> None:
        config.pop("username", None)
        config.pop("secret", None)
        super().__init__(**config)
        self.callbacks.clear()  # drops panoramisk's FullyBooted -> send_awaiting_actions hook
        self.patterns.clear()

    def connection_made(self, f: asyncio.Future[Any]) -> None:
        if f.cancelled() or f.exception() is not None:
            return
        _transport, protocol = f.result()
        self._connected = True
        self.protocol = protocol
        self.protocol.factory = self
        self.protocol.config = self.config
        self.protocol.encoding = self.encoding = "utf-8"
        self.responses = self.protocol.responses

    async def send_awaiting_actions(self, *_: Any) -> None:
        """Never re-send: an action without reply is failed on disconnect instead."""
        self.awaiting_actions.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False

    def close(self) -> None:
        if getattr(self, "protocol", None):
            self.protocol.close()
