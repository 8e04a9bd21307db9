"""A loopback TCP server speaking enough AMI to test the client's failure handling.

It records every action it receives (per connection), answers Login/Ping/Originate/
CoreShowChannels, and can misbehave on request: refuse logins, stop answering pings (half-open),
drop the connection right after an Originate, or send raw bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass
class FakeAmiServer:
    secret: str = "s3cret-value"
    answer_pings: bool = True
    answer_originate: bool = True
    drop_after_originate: bool = False
    channels: list[dict[str, str]] = field(default_factory=list)
    received: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    connections: int = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self._writers: list[asyncio.StreamWriter] = []
        self.logged_in = asyncio.Event()
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self.drop_all()
        self._server.close()
        await self._server.wait_closed()

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def actions(self, name: str) -> list[tuple[int, dict[str, str]]]:
        return [(c, a) for c, a in self.received if a.get("Action", "").lower() == name.lower()]

    async def send_raw(self, data: bytes, chunk: int = 0) -> None:
        """Write bytes to the latest connection, optionally in tiny chunks."""
        writer = self._writers[-1]
        if chunk <= 0:
            writer.write(data)
            await writer.drain()
            return
        for start in range(0, len(data), chunk):
            writer.write(data[start : start + chunk])
            await writer.drain()
            await asyncio.sleep(0.001)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        buffer = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                buffer += data
                *blocks, buffer = buffer.split(b"\r\n\r\n")
                for block in blocks:
                    action = {}
                    for line in block.decode().split("\r\n"):
                        key, _, value = line.partition(": ")
                        action[key] = value
                    self.received.append((number, action))
                    await self._answer(action, writer)
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, action: dict[str, str], writer: asyncio.StreamWriter) -> None:
        name = action.get("Action", "").lower()
        action_id = action.get("ActionID", "")

        def reply(*lines: str) -> None:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())

        if name == "login":
            if action.get("Secret") == self.secret:
                reply("Response: Success", f"ActionID: {action_id}",
                      "Message: Authentication accepted")
                reply("Event: FullyBooted", "Privilege: system,all", "Status: Fully Booted")
                self.logged_in.set()
            else:
                reply("Response: Error", f"ActionID: {action_id}",
                      "Message: Authentication failed")
        elif name == "ping":
            if self.answer_pings:
                reply("Response: Success", f"ActionID: {action_id}", "Ping: Pong",
                      "Timestamp: 1.0")
        elif name == "originate":
            if self.answer_originate:
                reply("Response: Success", f"ActionID: {action_id}",
                      "Message: Originate successfully queued")
            if self.drop_after_originate:
                await writer.drain()
                writer.close()
        elif name == "coreshowchannels":
            reply("Response: Success", f"ActionID: {action_id}", "EventList: start",
                  "Message: Channels will follow")
            for channel in self.channels:
                reply("Event: CoreShowChannel", f"ActionID: {action_id}",
                      *(f"{k}: {v}" for k, v in channel.items()))
            reply("Event: CoreShowChannelsComplete", f"ActionID: {action_id}",
                  "EventList: Complete", f"ListItems: {len(self.channels)}")
        else:
            reply("Response: Success", f"ActionID: {action_id}")
        await writer.drain()
