"""Several Asterisk servers behind one Telephony: calls go where there is free capacity.

Each server has its own channel limit (``AmiServerConfig.max_channels``). ``originate`` picks the
connected server with the most free capacity (or the one named), and every later action for that
call id goes to the same server. A seat's phone lives on one server, and a customer can only be
redirected into a bridge on the server carrying the call: ``connect_to_seat`` across servers is
refused with an ``ActionFailed`` event — place a campaign's calls on its seats' server
(``server=``) when seats are spread out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping

from dialer.engine.events import CallHungUp, FailReason, InboundCall, OriginateFailed
from dialer.telephony.ami import AmiServerConfig, AmiTelephony
from dialer.telephony.base import (
    ActionFailed,
    LiveChannel,
    TelephonyError,
    TelephonyEvent,
)

_TERMINAL = (CallHungUp, OriginateFailed)


class TelephonyPool:
    """The Telephony interface over several ``AmiTelephony`` servers."""

    def __init__(self, configs: Iterable[AmiServerConfig]) -> None:
        self._queue: asyncio.Queue[TelephonyEvent | None] = asyncio.Queue()
        self.servers: dict[str, AmiTelephony] = {}
        for config in configs:
            if config.name in self.servers:
                raise TelephonyError(f"two Asterisk servers are named {config.name!r}")
            self.servers[config.name] = AmiTelephony(config, sink=self._sink)
        if not self.servers:
            raise TelephonyError("a telephony pool needs at least one Asterisk server")
        self._call_server: dict[str, str] = {}
        self._seat_server: dict[str, str] = {}

    def _sink(self, event: TelephonyEvent) -> None:
        if isinstance(event, InboundCall):
            for name, server in self.servers.items():
                if event.call_id in server.tracker:
                    self._call_server[event.call_id] = name
        elif isinstance(event, _TERMINAL):
            self._call_server.pop(event.call_id, None)
        self._queue.put_nowait(event)

    @property
    def free_capacity(self) -> int:
        """Calls the pool may still place now, over all connected servers."""
        return sum(server.free_capacity for server in self.servers.values())

    @property
    def connected(self) -> bool:
        """True when at least one server is logged in."""
        return any(server.connected for server in self.servers.values())

    async def start(self, wait: bool = True) -> None:
        """Start every server; with ``wait``, raise if any refuses the login or is unreachable."""
        await asyncio.gather(*(s.start(wait=wait) for s in self.servers.values()))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.servers.values()))
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[TelephonyEvent]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event

    def _choose(self, server: str | None) -> AmiTelephony | None:
        if server is not None:
            chosen = self.servers.get(server)
            if chosen is None:
                raise TelephonyError(f"unknown Asterisk server {server!r}")
            return chosen if chosen.free_channels > 0 else None
        # (by channels, not by calls per second: a call over a server's rate waits its turn
        # there rather than failing a lead that had its line)
        best = max(self.servers.values(), key=lambda s: (s.free_capacity, s.free_channels))
        return best if best.free_channels > 0 else None

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
        if call_id in self._call_server:
            raise TelephonyError(f"call id {call_id!r} is already in use: never dial twice")
        chosen = self._choose(server)
        if chosen is None:
            where = f"server {server!r}" if server else "any server"
            self._queue.put_nowait(
                OriginateFailed(call_id, FailReason.FAILED, 0, f"no free capacity on {where}")
            )
            return
        self._call_server[call_id] = chosen.name
        await chosen.originate(
            call_id,
            number,
            caller_id,
            timeout_s,
            variables=variables,
            context=context,
            exten=exten,
            dial_string=dial_string,
        )

    def _server_of(self, call_id: str, action: str) -> AmiTelephony | None:
        name = self._call_server.get(call_id)
        if name is None:
            self._queue.put_nowait(ActionFailed("", action, call_id, "unknown or finished call"))
            return None
        return self.servers[name]

    async def connect_to_seat(self, call_id: str, seat_id: str) -> None:
        server = self._server_of(call_id, "Redirect")
        if server is None:
            return
        seat_server = self._seat_server.get(seat_id)
        if seat_server is not None and seat_server != server.name:
            self._queue.put_nowait(
                ActionFailed(
                    server.name,
                    "Redirect",
                    call_id,
                    f"seat {seat_id!r} is on server {seat_server!r}, the call on {server.name!r}",
                )
            )
            return
        await server.connect_to_seat(call_id, seat_id)

    async def play_safe_harbour_and_hangup(self, call_id: str) -> None:
        server = self._server_of(call_id, "Redirect")
        if server is not None:
            await server.play_safe_harbour_and_hangup(call_id)

    async def send_to_ivr(self, call_id: str, context: str, exten: str = "s") -> None:
        server = self._server_of(call_id, "Redirect")
        if server is not None:
            await server.send_to_ivr(call_id, context, exten)

    async def hangup(self, call_id: str) -> None:
        server = self._server_of(call_id, "Hangup")
        if server is not None:
            await server.hangup(call_id)

    async def login_seat(self, seat_id: str, endpoint: str, server: str | None = None) -> None:
        """Log the seat in on ``server`` (default: the first connected server)."""
        if server is None:
            connected = [s for s in self.servers.values() if s.connected]
            chosen = connected[0] if connected else next(iter(self.servers.values()))
        else:
            if server not in self.servers:
                raise TelephonyError(f"unknown Asterisk server {server!r}")
            chosen = self.servers[server]
        self._seat_server[seat_id] = chosen.name
        await chosen.login_seat(seat_id, endpoint)

    async def logout_seat(self, seat_id: str) -> None:
        name = self._seat_server.pop(seat_id, None)
        if name is not None:
            await self.servers[name].logout_seat(seat_id)

    async def live_channels(self) -> list[LiveChannel]:
        """Live channels of every connected server (a disconnected one contributes none)."""
        results: list[LiveChannel] = []
        for server in self.servers.values():
            if server.connected:
                with contextlib.suppress(TelephonyError):
                    results.extend(await server.live_channels())
        return results
