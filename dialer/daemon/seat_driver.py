"""Driving a campaign's seats: log them in, pause or out as their requests in the database ask
(dialerctl, the CRM), follow their phones, and put them back to ready after wrap-up."""

from __future__ import annotations

import asyncio
import contextlib
import os
from functools import partial
from typing import Any

from dialer.daemon.worker_base import SeatInfo, WorkerBase, log, utc
from dialer.daemon.worker_jobs import seat_requests
from dialer.engine.events import SeatPhoneDown, SeatPhoneUp
from dialer.engine.seats import SeatState as EngineSeatState
from dialer.states import SeatRequest, SeatState
from dialer.store.dispositions import record_wrapup
from dialer.store.seats import set_seat_state

RELOGIN_AFTER_S = 5.0
AUTO_WRAPUP_ENV = "DIALER_AUTO_WRAPUP_S"
DEFAULT_AUTO_WRAPUP_S = 5.0
"""Seconds a seat stays in wrap-up before it is ready again (agents' desktops will signal it)."""


def auto_wrapup_s() -> float:
    raw = os.environ.get(AUTO_WRAPUP_ENV)
    if not raw:
        return DEFAULT_AUTO_WRAPUP_S
    try:
        return max(0.0, float(raw))
    except ValueError:
        log.warning("bad_setting", variable=AUTO_WRAPUP_ENV, value=raw,
                    using=DEFAULT_AUTO_WRAPUP_S)  # fmt: skip
        return DEFAULT_AUTO_WRAPUP_S


class SeatDriver(WorkerBase):
    """The seat part of :class:`~dialer.daemon.campaign_worker.CampaignWorker`."""

    async def _sync_seats(self, now: float) -> None:
        """Apply the seat requests stored in the database (dialerctl, CRM)."""
        ids = list(self.seats)
        try:
            rows = await self._db("seats", seat_requests, ids)
            self.db_ok = True
        except Exception as exc:
            self._db_trouble(exc)
            return
        try:
            await self.wrapup.refresh(self.runner.seats, self._db)
        except Exception as exc:
            self._db_trouble(exc)
        server = self.server
        for seat in self.seats.values():
            row = rows.get(seat.seat_id)
            if row is not None:
                seat.requested, seat.pause_reason = row
            await self._drive_seat(seat, now, server)

    async def _drive_seat(self, seat: SeatInfo, now: float, server: str | None) -> None:
        board = self.runner.seats
        state = board.seats[seat.seat_id].state if seat.seat_id in board.seats else None
        logged_in = state not in (None, EngineSeatState.LOGGED_OUT)
        want_in = seat.requested in (SeatRequest.READY.value, SeatRequest.PAUSED.value)
        if want_in and not logged_in and not self._should_exit_now() and server is not None:
            seat.login_sent_at = now
            seat.phone_up = False
            self.runner.seat_login(seat.seat_id, now, phone_up=False)
            log.info("seat_login", seat=seat.seat_id)
            try:
                await self.shared.telephony.login_seat(seat.seat_id, seat.endpoint, server)
            except Exception as exc:
                log.error("seat_login_failed", seat=seat.seat_id, error=str(exc))
        elif want_in and state is EngineSeatState.PHONE_DOWN and server is not None:
            sent = seat.login_sent_at
            if sent is None or (now - sent > RELOGIN_AFTER_S and not seat.phone_up):
                seat.login_sent_at = now
                with contextlib.suppress(Exception):
                    await self.shared.telephony.logout_seat(seat.seat_id)
                with contextlib.suppress(Exception):
                    await self.shared.telephony.login_seat(seat.seat_id, seat.endpoint, server)
        elif (
            not want_in
            and logged_in
            and state in (
                EngineSeatState.READY, EngineSeatState.PAUSED, EngineSeatState.WRAPUP,
                EngineSeatState.PHONE_DOWN,
            )
            and self._may_go(seat.seat_id, state, now)
        ):  # fmt: skip
            self.runner.seat_logout(seat.seat_id, now)
            seat.login_sent_at = None
            log.info("seat_logout", seat=seat.seat_id)
            with contextlib.suppress(Exception):
                await self.shared.telephony.logout_seat(seat.seat_id)
        state = board.seats[seat.seat_id].state if seat.seat_id in board.seats else None
        if (
            seat.requested == SeatRequest.PAUSED.value
            and state in (EngineSeatState.READY, EngineSeatState.WRAPUP)
            and self._may_go(seat.seat_id, state, now)
        ):
            self.runner.seat_pause(seat.seat_id, seat.pause_reason or "requested", now)
        elif (
            seat.requested == SeatRequest.READY.value
            and state is EngineSeatState.PAUSED
            and seat.phone_up
        ):
            await self._carry_out(self.runner.seat_ready(seat.seat_id, now), now, from_tick=True)
        if seat.seat_id in board.seats:
            # A pause or logout asked for mid-call takes effect after it (_auto_ready); until
            # then the forecast must not count the seat as coming free.
            leaving = seat.requested in (SeatRequest.PAUSED.value, SeatRequest.LOGGED_OUT.value)
            before = board.is_leaving(seat.seat_id)
            commands = self.runner.seat_leaves_after_call(seat.seat_id, leaving, now)
            if board.is_leaving(seat.seat_id) != before:
                log.info("seat_leaving_after_call", seat=seat.seat_id, leaving=leaving,
                         requested=seat.requested)  # fmt: skip
            if commands:  # (the request withdrawn at ready: a waiting answer takes the seat)
                await self._carry_out(commands, now, from_tick=True)
        self._report_seat(seat, now)

    def _may_go(self, seat_id: str, state: EngineSeatState, now: float) -> bool:
        """May a seat whose agent asked to pause or log out go now? A ready seat waits while
        calls dialled counting on it are still out: it is held for them
        (``CampaignRunner.may_leave``), and a later sync lets it go. (A busy seat marked
        leaving was left out of the forecast from the request on: it goes after its wrap-up.)"""
        if state is not EngineSeatState.READY:
            return True
        board = self.runner.seats
        before = board.is_leaving(seat_id)
        if self.runner.may_leave(seat_id, now):
            return True
        if not before and board.is_leaving(seat_id):
            log.info("seat_held", seat=seat_id, reason="calls dialled for it are still out")
        return False

    def _auto_ready(self, now: float) -> None:
        """Seats whose wrap-up is over (timed, or disposition given: see
        :mod:`dialer.daemon.wrapup`) go back to ready (or to pause if asked); wrap-ups that
        ended are written (``wrapup_s``)."""
        for seat_id, seat in self.runner.seats.seats.items():
            if seat.state is not EngineSeatState.WRAPUP or not self.wrapup.over(seat, now):
                continue
            info = self.seats.get(seat_id)
            if info is not None and info.requested == SeatRequest.PAUSED.value:
                self.runner.seat_pause(seat_id, info.pause_reason or "requested", now)
            elif info is not None and info.requested == SeatRequest.LOGGED_OUT.value:
                continue  # the seat sync logs it out
            else:
                commands = self.runner.seat_ready(seat_id, now)
                if commands:
                    self._ledger()  # (an abandon here is filed under its own call)
                    self._collect(now)
                    task = asyncio.ensure_future(self._carry_out(commands, now))
                    task.add_done_callback(_log_task_error)
            if info is not None:
                self._report_seat(info, now)
        self._write_wrapups()

    def _write_wrapups(self) -> None:
        for call_id, seconds in self.wrapup.ended(self.runner.seats):
            self.shared.writer.put(
                partial(record_wrapup, call_id=call_id, wrapup_s=seconds),
                "update_attempt",
                f"wrap-up of {call_id}",
            )

    def _report_seat(self, seat: SeatInfo, now: float) -> None:
        board = self.runner.seats.seats
        state = board[seat.seat_id].state.value if seat.seat_id in board else "logged_out"
        self._write_seat_state(seat, state, now)

    def _write_seat_state(self, seat: SeatInfo, state: str, now: float) -> None:
        if seat.reported == state:
            return
        seat.reported = state
        seat_id, at = seat.seat_id, utc(now)
        self.shared.writer.put(
            lambda conn: set_seat_state(conn, seat_id, SeatState(state), at),
            "seats",
            f"seat {seat_id} state {state}",
        )

    def _seat_phone(self, event: SeatPhoneUp | SeatPhoneDown, now: float) -> None:
        seat = self.seats.get(event.seat_id)
        if seat is None:
            return
        seat.phone_up = isinstance(event, SeatPhoneUp)
        log.info("seat_phone", seat=event.seat_id, up=seat.phone_up)
        board = self.runner.seats.seats
        if event.seat_id not in board:
            return
        if (
            seat.phone_up
            and board[event.seat_id].state is EngineSeatState.PHONE_DOWN
            and seat.requested == SeatRequest.PAUSED.value
        ):
            self.runner.seat_pause(event.seat_id, seat.pause_reason or "requested", now)


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task_failed", error=str(task.exception()))
