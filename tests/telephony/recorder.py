"""Collects a telephony adapter's events in the background so a test can wait for them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from dialer.engine.events import CallHungUp, OriginateFailed


class EventRecorder:
    """Records ``(monotonic time, event)`` pairs from an event stream."""

    def __init__(self, stream: AsyncIterator[Any]) -> None:
        self.events: list[tuple[float, Any]] = []
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[Any]) -> None:
        async for event in stream:
            self.events.append((time.monotonic(), event))
            self._changed.set()

    async def wait_for(
        self, predicate: Callable[[Any], bool], timeout_s: float = 15.0
    ) -> tuple[float, Any]:
        """The first recorded event matching ``predicate`` (waits for it)."""
        deadline = time.monotonic() + timeout_s
        while True:
            for stamp, event in self.events:
                if predicate(event):
                    return stamp, event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(repr(e) for _, e in self.events[-30:])
                raise AssertionError(f"event not seen within {timeout_s} s; last events:\n{seen}")
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_terminal(self, call_id: str, timeout_s: float = 20.0) -> Any:
        """The call's terminal event (CallHungUp or OriginateFailed)."""
        _, event = await self.wait_for(
            lambda e: isinstance(e, CallHungUp | OriginateFailed) and e.call_id == call_id,
            timeout_s,
        )
        return event

    def of_call(self, call_id: str) -> list[Any]:
        """Events of one call, in order."""
        return [e for _, e in self.events if getattr(e, "call_id", None) == call_id]

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
