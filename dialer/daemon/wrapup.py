"""Seats' wrap-ups in a campaign worker: when each is over, and how long it lasted.

:class:`WrapupKeeper` applies the campaign's :class:`~dialer.engine.wrapup.WrapupRule`
(``wrapup: {mode: timed|disposition, timed_s, max_s}``): ``refresh`` learns from the database
which of the calls the wrapping-up seats took have a disposition (the CRM writes
``attempts.disposition``, or ``dialerctl attempts dispose``); ``over`` says whether a seat's
wrap-up is done; ``ended`` lists the wrap-ups that ended since the last look — the seat left
``wrapup`` for whatever reason (ready, pause, logout, phone down) — with their exact length, for
``attempts.wrapup_s`` (or ``inbound_calls.wrapup_s``).

``DIALER_AUTO_WRAPUP_S``, when set, replaces every campaign's ``timed_s`` (demo, tests).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from dialer.engine.seats import Seat, SeatBoard, SeatState
from dialer.engine.wrapup import WrapupRule
from dialer.obs.logs import get_logger
from dialer.store.dispositions import attempt_dispositions

log = get_logger("dialer.daemon.wrapup")

AUTO_WRAPUP_ENV = "DIALER_AUTO_WRAPUP_S"

Db = Callable[..., Awaitable[Any]]


def timed_override() -> float | None:
    """``DIALER_AUTO_WRAPUP_S`` in seconds, or None when unset (or unreadable: logged)."""
    raw = os.environ.get(AUTO_WRAPUP_ENV, "").strip()
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        log.warning("bad_setting", variable=AUTO_WRAPUP_ENV, value=raw, using="campaign timed_s")
        return None


class WrapupKeeper:
    """See the module docstring."""

    def __init__(self, rule: WrapupRule) -> None:
        self.rule = rule
        self._open: dict[str, tuple[float, str | None]] = {}  # seat -> (wrap-up start, call)
        self._disposed: dict[str, bool] = {}  # attempt id -> has a disposition
        self._not_attempts: set[str] = set()  # calls with nothing to dispose (inbound)

    def over(self, seat: Seat, now: float) -> bool:
        """Is this wrapping-up seat's wrap-up over at ``now``?"""
        elapsed, call_id = seat.elapsed(now), seat.call_id
        if not self.rule.waits_for_disposition or call_id is None:
            return self.rule.over(elapsed, disposed=False, disposable=False)
        if call_id in self._not_attempts:
            return self.rule.over(elapsed, disposed=False, disposable=False)
        if call_id in self._disposed:
            return self.rule.over(elapsed, disposed=self._disposed[call_id])
        return elapsed >= self.rule.max_s  # not looked up yet

    async def refresh(self, board: SeatBoard, db: Db) -> None:
        """Ask the database about the calls of the seats in wrap-up (disposition mode only)."""
        if not self.rule.waits_for_disposition:
            return
        calls = [
            s.call_id
            for s in board.seats.values()
            if s.state is SeatState.WRAPUP and s.call_id is not None
        ]
        found: dict[str, bool] = await db("seats", attempt_dispositions, calls) if calls else {}
        self._disposed = dict(found)
        self._not_attempts = {c for c in calls if c not in found}

    def ended(self, board: SeatBoard) -> list[tuple[str, float]]:
        """(call id, wrap-up seconds) of the wrap-ups that ended since the last call."""
        done: list[tuple[str, float]] = []
        for seat_id, seat in board.seats.items():
            if seat.state is SeatState.WRAPUP:
                current = self._open.get(seat_id)
                if current is None or current[0] != seat.since:
                    self._open[seat_id] = (seat.since, seat.call_id)
            elif seat_id in self._open:
                since, call_id = self._open.pop(seat_id)
                if call_id is not None:
                    done.append((call_id, max(0.0, seat.since - since)))
        return done
