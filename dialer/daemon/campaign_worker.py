"""One running campaign inside dialerd: lease, seats, pacing loop, calls and their records.

The decisions are the pure engine's (:class:`~dialer.engine.runner.CampaignRunner`, the hopper
rules of :mod:`dialer.engine.leads`, :mod:`dialer.engine.retry`, :mod:`dialer.engine.numbers`);
this worker feeds them the wall clock, Asterisk's events and the database, and carries out what
they decide:

1. take the campaign's lease (renewed every ttl/3; a failed renewal stops dialling at once);
2. settle attempts a previous daemon left in flight (:mod:`dialer.daemon.reconcile`), return
   leads claimed but never dialled, seed the abandon history from the ledger;
3. log the campaign's seats in as their requests in the database ask (ready / paused /
   logged out), seats back to ready after wrap-up;
4. pacing loop (every ``PACE_INTERVAL_S`` and on every event): ``n = dial_demand(now)``, claim up
   to ``n`` leads, re-check each with ``may_dial`` against the DNC lists, choose a caller ID,
   create the attempt (committed) and only then send the Originate;
5. every event goes through the runner; its commands are carried out at once, progress and
   results are queued on the :class:`~dialer.daemon.db_writer.DbWriter` (never lost when the
   database is away).

Times given to the runner are UNIX seconds (``time.time()``), so they convert to the database's
UTC timestamps without a second clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select

from dialer.config import CampaignConfig, DialerConfig
from dialer.daemon.campaign_settings import (
    UnsupportedCampaign,
    call_variables,
    campaign_server,
    runner_config,
)
from dialer.daemon.db_writer import DbWriter, is_connection_error
from dialer.daemon.reconcile import CRASH_CAUSE_TEXT, Settlement, settle, stale_seat_channels
from dialer.engine import numbers
from dialer.engine.calls import CallOutcome
from dialer.engine.events import (
    AmdResult,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    Command,
    CustomerLeftSeat,
    OriginateFailed,
    PlaySafeHarbour,
    SeatPhoneDown,
    SeatPhoneUp,
)
from dialer.engine.leads import DncEntry, DncSet, LeadView, Refusal, may_dial
from dialer.engine.retry import after_attempt
from dialer.engine.runner import AttemptRecord, CampaignRunner
from dialer.engine.seats import SeatState as EngineSeatState
from dialer.obs.logs import bound_call, get_logger
from dialer.obs.metrics import DialerMetrics
from dialer.states import (
    AttemptOutcome,
    AttemptState,
    CallerIdState,
    CampaignActualState,
    LeadStatus,
    LedgerKind,
    SeatRequest,
    SeatState,
)
from dialer.store.attempts import (
    ANSWERED_OUTCOMES,
    AttemptResult,
    LeadUpdate,
    NewAttempt,
    OutboxRequest,
    create_attempt,
    finish_attempt,
    in_flight_attempts,
    new_attempt_id,
    update_attempt,
)
from dialer.store.caller_ids import list_caller_ids, set_caller_id_state
from dialer.store.campaigns import set_actual_state
from dialer.store.dnc import dnc_matches
from dialer.store.errors import LeadNotClaimed, LeaseLost, NotFound
from dialer.store.followups import bind_callback
from dialer.store.leads import ClaimedLead, claim_leads, recover_stale_claims, release_lead
from dialer.store.leases import Lease, release_lease, renew_lease, take_lease
from dialer.store.ledger import load_abandon_window, record_abandon_ledger
from dialer.store.schema import attempts, leads, seats
from dialer.store.seats import set_seat_state
from dialer.telephony.base import LiveChannel, TelephonyEvent
from dialer.telephony.pool import TelephonyPool
from pacing.budget import LedgerEntry
from pacing.budget import LedgerKind as PacingLedgerKind

log = get_logger("dialer.daemon.campaign")

PACE_INTERVAL_S = 0.15
LEASE_TTL_S = 15.0
SEAT_SYNC_S = 1.0
PACING_LOG_S = 10.0
RELOGIN_AFTER_S = 5.0
NO_RETRY_TIME_DELAY = timedelta(hours=1)
AUTO_WRAPUP_ENV = "DIALER_AUTO_WRAPUP_S"
DEFAULT_AUTO_WRAPUP_S = 5.0
"""Seconds a seat stays in wrap-up before it is ready again (agents' desktops will signal it)."""

_REFUSAL_METRIC = {
    Refusal.OUTSIDE_HOURS: "outside_calling_hours",
    Refusal.HOLIDAY: "holiday",
    Refusal.DNC_GLOBAL: "dnc",
    Refusal.DNC_CAMPAIGN: "dnc",
    Refusal.MAX_ATTEMPTS_TOTAL: "attempt_cap",
    Refusal.MAX_ATTEMPTS_DAY: "attempt_cap",
    Refusal.MIN_GAP: "min_gap",
    Refusal.ABANDON_72H: "abandon_72h",
    Refusal.NOT_DUE: "not_due",
}

_TERMINAL_EVENTS = (CallHungUp, OriginateFailed)


def utc(ts: float) -> datetime:
    """UNIX seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


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


class CallRouter(Protocol):
    """Where the campaign loop routes Asterisk's events: call and seat ids to their worker."""

    def register_call(self, call_id: str, worker: CampaignWorker) -> None: ...

    def register_seat(self, seat_id: str, worker: CampaignWorker) -> None: ...

    def forget_seat(self, seat_id: str) -> None: ...


@dataclass(slots=True)
class Shared:
    """What every campaign worker of one daemon shares."""

    engine: Engine
    telephony: TelephonyPool
    writer: DbWriter
    metrics: DialerMetrics
    router: CallRouter
    owner: str
    connected: dict[str, bool]
    config: DialerConfig
    stopping: asyncio.Event
    drain_time_left: Callable[[], float]


@dataclass(slots=True)
class CallInfo:
    """What the worker keeps about one of its calls beyond what the runner knows."""

    attempt_id: str
    lead: ClaimedLead | None
    number: str
    caller_id: str
    server: str | None
    placed_at: float
    answered_at: float | None = None
    live_at: float | None = None
    amd_result: str | None = None
    amd_cause: str | None = None


@dataclass(slots=True)
class SeatInfo:
    """A seat as this worker drives it (requests from the database, phone state from Asterisk)."""

    seat_id: str
    endpoint: str
    requested: str = SeatRequest.LOGGED_OUT.value
    pause_reason: str = ""
    phone_up: bool = False
    login_sent_at: float | None = None
    reported: str | None = None


class CampaignWorker:
    """Runs one campaign (see the module docstring); ``run()`` returns when it has stopped."""

    def __init__(self, name: str, shared: Shared) -> None:
        self.name = name
        self.shared = shared
        self.metrics = shared.metrics
        self.campaign: CampaignConfig = shared.config.campaigns[name]
        self.runner = CampaignRunner(runner_config(self.campaign))
        self.desired = "running"
        self.lease: Lease | None = None
        self.calls: dict[str, CallInfo] = {}
        self.seats: dict[str, SeatInfo] = {}
        self.pool = numbers.new_pool(self.campaign.caller_id, self._pool_numbers())
        self.server: str | None = None
        self.wake = asyncio.Event()
        self.stop_requested = False
        self.lease_ok = False
        self.db_ok = True
        self.actual: tuple[str, str | None] | None = None
        self.wrapup_s = auto_wrapup_s()
        self._next_renew = 0.0
        self._next_seat_sync = 0.0
        self._finished_calls = 0
        self._next_pacing_log = 0.0

    # ================================================================== control

    def set_desired(self, state: str) -> None:
        """``running``, ``paused`` or ``stopped`` (the campaign row's desired_state)."""
        if state != self.desired:
            log.info("campaign_desired_state", campaign=self.name, state=state)
        self.desired = state
        if state == "stopped":
            self.stop_requested = True
        self.wake.set()

    def request_stop(self) -> None:
        self.stop_requested = True
        self.wake.set()

    def apply_config(self, config: DialerConfig) -> None:
        """A reloaded configuration: new rules apply to the next decisions (validated by the
        caller with :func:`validate_campaign`)."""
        campaign = config.campaigns[self.name]
        new_runner = runner_config(campaign)
        old = self.runner.config
        self.shared.config = config
        self.campaign = campaign
        self.runner.config = new_runner
        if new_runner.mode != old.mode:
            from pacing.policies import make_policy

            self.runner.policy = make_policy(new_runner.mode)
        self.pool = replace(self.pool, settings=campaign.caller_id)
        known = {s.number for s in self.pool.numbers}
        fresh = [n for n in self._pool_numbers() if n not in known]
        if fresh:
            self.pool = numbers.add_numbers(self.pool, fresh)
        for seat in self.shared.config.campaign_seats(self.name):
            if seat.id in self.seats:
                self.seats[seat.id].endpoint = seat.endpoint
        log.info("campaign_config_applied", campaign=self.name, mode=new_runner.mode)

    def _pool_numbers(self) -> list[str]:
        return list(self.shared.config.caller_id_pool(self.name).numbers)

    @property
    def in_flight(self) -> int:
        return len(self.calls)

    # ================================================================== life

    async def run(self) -> None:
        with bound_call(campaign=self.name):
            try:
                if not await self._acquire():
                    return
                await self._startup()
                await self._loop()
            finally:
                await self._shutdown()

    async def _acquire(self) -> bool:
        """Take the lease, waiting while another daemon holds it; False if asked to stop."""
        waited = False
        while not self._should_exit_now():
            try:
                lease = await self._db(
                    "lease", take_lease, self.name, self.shared.owner, LEASE_TTL_S
                )
            except Exception as exc:
                log.warning("lease_take_failed", error=type(exc).__name__)
                lease = None
            if lease is not None:
                self.lease = lease
                self.lease_ok = True
                self._next_renew = time.monotonic() + LEASE_TTL_S / 3
                log.info("campaign_lease_taken", token=lease.token)
                return True
            if not waited:
                log.info("campaign_lease_busy", detail="another daemon owns the campaign")
                waited = True
            await self._sleep(1.0)
        return False

    def _should_exit_now(self) -> bool:
        return self.stop_requested or self.shared.stopping.is_set()

    async def _startup(self) -> None:
        now = time.time()
        window = self.campaign.abandon.window_s
        history = await self._db(
            "abandon_ledger", load_abandon_window, self.name, utc(now - window)
        )
        entries = [LedgerEntry(at.timestamp(), PacingLedgerKind(k.value)) for at, k in history]
        self.runner = CampaignRunner(runner_config(self.campaign), history=entries)
        rows = await self._db("other", list_caller_ids, self.campaign.caller_id.pool)
        for row in rows:
            number = row["number"]
            if row["state"] == CallerIdState.ACTIVE.value:
                continue
            with contextlib.suppress(KeyError):
                status = numbers.NumberStatus(row["state"])
                state = self.pool.get(number)
                self.pool = self.pool._with(replace(state, status=status))
        for seat in self.shared.config.campaign_seats(self.name):
            self.seats[seat.id] = SeatInfo(seat.id, seat.endpoint)
            self.shared.router.register_seat(seat.id, self)
        await self._wait_for_server()
        await self._reconcile()
        recovered = await self._db(
            "release_lead", recover_stale_claims, self.name, utc(time.time())
        )
        if recovered:
            log.info("stale_claims_recovered", leads=recovered)
        answers, abandons = self.runner.controller.ledger.counts(time.time())
        log.info("campaign_started", mode=self.runner.config.mode, history_answers=answers,
                 history_abandons=abandons, server=self.server)  # fmt: skip

    async def _wait_for_server(self) -> None:
        while not self._should_exit_now():
            self.server = campaign_server(self.shared.config, self.name, self.shared.connected)
            if self.server is not None:
                return
            self._report_state(CampaignActualState.BLOCKED, "no Asterisk server connected")
            await self._sleep(0.5)

    async def _reconcile(self) -> None:
        """Settle attempts left in flight by a previous run (see dialer.daemon.reconcile)."""
        rows = await self._db("other", in_flight_attempts, self.name)
        live: list[LiveChannel] = []
        for _ in range(3):
            try:
                live = await self.shared.telephony.live_channels()
                break
            except Exception as exc:  # the pool already swallows per-server errors
                log.warning("live_channels_failed", error=str(exc))
                await asyncio.sleep(0.5)
        stale_seats = stale_seat_channels(live, self.seats)
        for channel in stale_seats:
            self._hangup_channel(channel)
        if not rows:
            if stale_seats:
                await asyncio.sleep(0.5)  # let the old seat phones leave their bridges
            return
        settlements = settle([dict(r) for r in rows], live)
        by_id = {str(r["id"]): r for r in rows}
        hung = 0
        for s in settlements:
            for channel in s.channels:
                self._hangup_channel(channel)
                hung += 1
        now = time.time()
        for s in settlements:
            self.shared.writer.put(
                _settle_job(self, by_id[s.attempt_id], s, now), "finish_attempt",
                f"settle attempt {s.attempt_id}",
            )  # fmt: skip
            if s.live_answer:
                # The runner's ledger must know the abandon too (the write above records it).
                self.runner.controller.record(LedgerEntry(now, PacingLedgerKind.ABANDON))
        await self.shared.writer.flush(10.0)
        log.info("in_flight_settled", attempts=len(settlements), channels_hung_up=hung,
                 outcomes=sorted({s.outcome.value for s in settlements}))  # fmt: skip

    def _hangup_channel(self, channel: LiveChannel) -> None:
        # The adapter only hangs up calls it placed itself; these belong to a dead daemon.
        server = self.shared.telephony.servers.get(channel.server)
        if server is None:
            return
        hangup = getattr(server, "hangup_channel", None)
        if hangup is not None:
            hangup(channel.channel)
        else:
            server._fire({"Action": "Hangup", "Channel": channel.channel, "Cause": "16"}, None)

    async def _loop(self) -> None:
        while True:
            now = time.time()
            await self._carry_out(self.runner.tick(now), now, from_tick=True)
            await self._renew_lease_if_due()
            if time.monotonic() >= self._next_seat_sync:
                self._next_seat_sync = time.monotonic() + SEAT_SYNC_S
                await self._sync_seats(now)
            self._auto_ready(now)
            self._update_state()
            if self._may_dial():
                await self._dial_step(time.time())
            self._export_metrics(time.time())
            if self._should_exit_now():
                return
            await self._sleep(self._pause_for())

    def _pause_for(self) -> float:
        deadline = self.runner.next_deadline()
        pause = PACE_INTERVAL_S
        if deadline is not None:
            pause = min(pause, max(0.0, deadline - time.time()) + 0.001)
        return pause

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
        self.wake.clear()

    # ================================================================== shutdown

    async def _shutdown(self) -> None:
        """No new dials; let calls end (within the drain time), hang up the rest, log seats out,
        write everything, release the lease."""
        self.runner.dialling_enabled = False
        if self.lease is None:
            return
        self._report_state(CampaignActualState.DRAINING, "stopping")
        budget = self._drain_budget()
        deadline = time.monotonic() + budget
        while self.calls and time.monotonic() < deadline:
            now = time.time()
            await self._carry_out(self.runner.tick(now), now, from_tick=True)
            await self._renew_lease_if_due()
            self._auto_ready(now)
            self._export_metrics(now)
            await self._sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        if self.calls:
            log.warning("drain_hanging_up", calls=len(self.calls))
            for call_id in list(self.calls):
                with contextlib.suppress(Exception):
                    await self.shared.telephony.hangup(call_id)
            end = time.monotonic() + 2.0
            while self.calls and time.monotonic() < end:
                now = time.time()
                await self._carry_out(self.runner.tick(now), now, from_tick=True)
                await self._sleep(0.1)
            now = time.time()
            for call_id, info in list(self.calls.items()):
                self._finish_unresolved(call_id, info, now)
        for seat in self.seats.values():
            if seat.phone_up or seat.login_sent_at is not None:
                with contextlib.suppress(Exception):
                    await self.shared.telephony.logout_seat(seat.seat_id)
            with contextlib.suppress(Exception):
                state = self.runner.seats.get(seat.seat_id).state
                if state is not EngineSeatState.LOGGED_OUT:
                    self.runner.seat_logout(seat.seat_id, time.time())
            self.shared.router.forget_seat(seat.seat_id)
            self._write_seat_state(seat, SeatState.LOGGED_OUT.value, time.time())
        self._report_state(CampaignActualState.STOPPED, None)
        await self.shared.writer.flush(max(1.0, min(10.0, self.shared.drain_time_left() - 1.0)))
        lease = self.lease
        with contextlib.suppress(Exception):
            await self._db("lease", release_lease, lease)
        self.lease = None
        self.lease_ok = False
        self._export_metrics(time.time())
        log.info("campaign_stopped", calls_finished=self._finished_calls)

    def _drain_budget(self) -> float:
        left = self.shared.drain_time_left()
        if math.isinf(left):
            return 60.0  # the campaign was stopped; the daemon goes on
        return max(0.0, left - 4.0)

    def _finish_unresolved(self, call_id: str, info: CallInfo, now: float) -> None:
        """A call whose end Asterisk never reported (hung up at drain): record it anyway."""
        self.calls.pop(call_id, None)
        self.runner.calls.pop(call_id, None)
        outcome = AttemptOutcome.FAILED
        if info.live_at is not None:
            outcome = AttemptOutcome.ABANDONED
        record = AttemptRecord(
            call_id=call_id,
            lead_id=info.lead.id if info.lead else None,
            number=info.number,
            caller_id=info.caller_id,
            outcome=CallOutcome(outcome.value),
            placed_at=info.placed_at,
            ended_at=now,
            answered_at=info.answered_at,
            cause=0,
        )
        self._queue_finish(record, info, cause_text="hung up at shutdown")

    # ================================================================== lease

    async def _renew_lease_if_due(self) -> None:
        if self.lease is None or time.monotonic() < self._next_renew:
            return
        self._next_renew = time.monotonic() + LEASE_TTL_S / 3
        try:
            renewed = await self._db("lease", renew_lease, self.lease, LEASE_TTL_S)
        except Exception as exc:
            if self.lease_ok:
                log.error("lease_renewal_failed", error=type(exc).__name__,
                          action="dialling stopped")  # fmt: skip
            self.lease_ok = False
            self._next_renew = time.monotonic() + 1.0
            return
        if renewed is None:
            # Expired (e.g. the database was away): take it again if nobody else did.
            retaken = await self._db("lease", take_lease, self.name, self.shared.owner, LEASE_TTL_S)
            if retaken is None:
                log.error("lease_lost", action="dialling stopped; finishing calls in flight")
                self.lease_ok = False
                self.stop_requested = True
                return
            renewed = retaken
            log.warning("lease_retaken", token=renewed.token)
        if not self.lease_ok:
            log.info("lease_ok_again", token=renewed.token)
        self.lease = renewed
        self.lease_ok = True

    # ================================================================== state

    def _may_dial(self) -> bool:
        ok = (
            self.desired == "running"
            and not self._should_exit_now()
            and self.lease_ok
            and self.db_ok
            and self.shared.writer.healthy
            and self.server is not None
            and self.shared.connected.get(self.server, False)
        )
        self.runner.dialling_enabled = ok
        return ok

    def _update_state(self) -> None:
        if self._should_exit_now():
            return
        server_up = self.server is not None and self.shared.connected.get(self.server, False)
        if self.desired == "paused":
            self._report_state(CampaignActualState.PAUSED, None)
        elif not server_up:
            self._report_state(CampaignActualState.BLOCKED, "Asterisk server disconnected")
        elif not (self.db_ok and self.shared.writer.healthy):
            self._report_state(CampaignActualState.BLOCKED, "database unreachable")
        elif not self.lease_ok:
            self._report_state(CampaignActualState.BLOCKED, "campaign lease not renewed")
        elif self.desired == "running":
            self._report_state(CampaignActualState.RUNNING, None)

    def _report_state(self, state: CampaignActualState, reason: str | None) -> None:
        if self.actual == (state.value, reason):
            return
        self.actual = (state.value, reason)
        log.info("campaign_actual_state", state=state.value, reason=reason)
        name, at = self.name, utc(time.time())

        def write(conn: Connection) -> None:
            with contextlib.suppress(NotFound):
                set_actual_state(conn, name, state, at, reason=reason)

        self.shared.writer.put(write, "other", f"campaign {name} actual state {state.value}")

    # ================================================================== seats

    async def _sync_seats(self, now: float) -> None:
        """Apply the seat requests stored in the database (dialerctl, CRM)."""
        ids = list(self.seats)
        try:
            rows = await self._db("seats", _seat_requests, ids)
            self.db_ok = True
        except Exception as exc:
            self._db_trouble(exc)
            return
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
        elif not want_in and logged_in and state in (
            EngineSeatState.READY, EngineSeatState.PAUSED, EngineSeatState.WRAPUP,
            EngineSeatState.PHONE_DOWN,
        ):  # fmt: skip
            self.runner.seat_logout(seat.seat_id, now)
            seat.login_sent_at = None
            log.info("seat_logout", seat=seat.seat_id)
            with contextlib.suppress(Exception):
                await self.shared.telephony.logout_seat(seat.seat_id)
        state = board.seats[seat.seat_id].state if seat.seat_id in board.seats else None
        if seat.requested == SeatRequest.PAUSED.value and state in (
            EngineSeatState.READY, EngineSeatState.WRAPUP,
        ):  # fmt: skip
            self.runner.seat_pause(seat.seat_id, seat.pause_reason or "requested", now)
        elif (
            seat.requested == SeatRequest.READY.value
            and state is EngineSeatState.PAUSED
            and seat.phone_up
        ):
            await self._carry_out(self.runner.seat_ready(seat.seat_id, now), now)
        self._report_seat(seat, now)

    def _auto_ready(self, now: float) -> None:
        """Seats in wrap-up for ``wrapup_s`` go back to ready (or to pause if asked)."""
        for seat_id, seat in self.runner.seats.seats.items():
            if seat.state is not EngineSeatState.WRAPUP or now - seat.since < self.wrapup_s:
                continue
            info = self.seats.get(seat_id)
            if info is not None and info.requested == SeatRequest.PAUSED.value:
                self.runner.seat_pause(seat_id, info.pause_reason or "requested", now)
            elif info is not None and info.requested == SeatRequest.LOGGED_OUT.value:
                continue  # the seat sync logs it out
            else:
                commands = self.runner.seat_ready(seat_id, now)
                if commands:
                    task = asyncio.ensure_future(self._carry_out(commands, now))
                    task.add_done_callback(_log_task_error)
            if info is not None:
                self._report_seat(info, now)

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

    # ================================================================== dialling

    async def _dial_step(self, now: float) -> None:
        server = self.server
        assert server is not None
        demand = self.runner.dial_demand(now)
        if demand <= 0:
            return
        capacity = self.shared.telephony.servers[server].free_capacity
        if capacity < demand:
            self.runner.release_demand(demand - capacity)
            if capacity == 0:
                self.metrics.dial_rejected(self.name, "line_limit")
            demand = capacity
        if demand <= 0:
            return
        lease = self.lease
        assert lease is not None
        campaign = self.campaign
        at = utc(now)
        try:
            claimed, listed = await self._db(
                "claim_leads", _claim_with_dnc, self.name, demand, at, self.shared.owner,
                campaign.attempts.max_total, campaign.attempts.max_per_day, lease.token,
            )  # fmt: skip
            self.db_ok = True
        except LeaseLost:
            self.runner.release_demand(demand)
            self.lease_ok = False
            self._next_renew = 0.0
            log.error("lease_lost_on_claim", action="dialling stopped")
            return
        except Exception as exc:
            self.runner.release_demand(demand)
            self._db_trouble(exc)
            return
        self.runner.release_demand(demand - len(claimed))
        dnc = DncSet(DncEntry(n, self.name) for n in listed)
        releases: list[tuple[ClaimedLead, datetime | None, LeadStatus | None]] = []
        placing: list[tuple[ClaimedLead, str, str]] = []
        for lead in claimed:
            verdict = may_dial(lead_view(lead), campaign, at, dnc)
            if not verdict:
                reason = verdict.reason
                self.metrics.dial_rejected(self.name, _REFUSAL_METRIC.get(reason, "other")
                                           if reason else "other")  # fmt: skip
                status: LeadStatus | None = None
                retry_at = verdict.retry_at
                if reason in (Refusal.DNC_GLOBAL, Refusal.DNC_CAMPAIGN):
                    status = LeadStatus.DNC
                elif reason is Refusal.MAX_ATTEMPTS_TOTAL:
                    status = LeadStatus.NO_CONTACT
                elif retry_at is None:
                    retry_at = at + NO_RETRY_TIME_DELAY
                releases.append((lead, retry_at, status))
                self.runner.release_demand(1)
                continue
            caller_id = numbers.choose(self.pool, lead.phone_e164, at)
            if caller_id is None:
                self.metrics.dial_rejected(self.name, "no_caller_id")
                releases.append((lead, None, None))
                self.runner.release_demand(1)
                continue
            self.pool = numbers.record_use(self.pool, caller_id, at)
            placing.append((lead, caller_id, new_attempt_id()))
        if not placing and not releases:
            return
        binding_s = campaign.caller_id.callback_binding_s
        try:
            created = await self._db(
                "create_attempt", _create_attempts, self.name, placing, releases, at,
                self.shared.owner, lease.token, server, binding_s,
            )  # fmt: skip
        except Exception as exc:
            self.runner.release_demand(len(placing))
            self._db_trouble(exc)
            return
        variables = call_variables(campaign)
        target = self.shared.config.server(server)
        for lead, caller_id, attempt_id in placing:
            if attempt_id not in created:
                self.runner.release_demand(1)
                continue
            placed = time.time()
            self.calls[attempt_id] = CallInfo(
                attempt_id, lead, lead.phone_e164, caller_id, server, placed
            )
            self.shared.router.register_call(attempt_id, self)
            originate = self.runner.call_placed(
                attempt_id, lead.id, lead.phone_e164, caller_id, placed
            )
            try:
                await self.shared.telephony.originate(
                    originate.call_id,
                    originate.number,
                    originate.caller_id,
                    originate.timeout_s,
                    variables=variables,
                    dial_string=target.dial_target(originate.number),
                    server=server,
                )
            except Exception as exc:
                log.error("originate_failed", attempt=attempt_id, error=str(exc))
                await self.handle(OriginateFailed(attempt_id, _failed(), 0, str(exc)))
                continue
            self.metrics.dial_placed(self.name)

    def _db_trouble(self, exc: BaseException) -> None:
        if is_connection_error(exc):
            if self.db_ok:
                log.error("database_unreachable", error=type(exc).__name__,
                          action="dialling paused")  # fmt: skip
            self.db_ok = False
        else:
            log.error("database_error", error=str(exc)[:300], error_type=type(exc).__name__)

    async def _db(self, operation: str, fn: Callable[..., Any], *args: Any) -> Any:
        engine = self.shared.engine

        def run() -> Any:
            with self.metrics.time_db(operation), engine.begin() as conn:
                return fn(conn, *args)

        result = await asyncio.to_thread(run)
        if not self.db_ok:
            log.info("database_back", action="dialling resumes")
        self.db_ok = True
        return result

    # ================================================================== events

    async def handle(self, event: TelephonyEvent) -> None:
        """One event for a call or seat of this campaign (called by the campaign loop)."""
        now = time.time()
        call_id = getattr(event, "call_id", None)
        info = self.calls.get(call_id) if call_id is not None else None
        if isinstance(event, SeatPhoneUp | SeatPhoneDown):
            self._seat_phone(event, now)
        elif info is not None:
            self._progress(event, info, now)
        commands: list[Command] = []
        if _runner_event(event) and (
            not isinstance(event, SeatPhoneUp | SeatPhoneDown)
            or event.seat_id in self.runner.seats.seats
        ):
            commands = self.runner.on_event(event, now)  # type: ignore[arg-type]
        self._ledger(call_id, [])
        await self._carry_out(commands, now)
        self._collect(now)
        self.wake.set()

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

    def _progress(self, event: TelephonyEvent, info: CallInfo, now: float) -> None:
        fields: dict[str, Any] = {}
        if isinstance(event, CallRinging):
            fields["ringing_at"] = utc(now)
        elif isinstance(event, CallAnswered):
            info.answered_at = now
            fields["answered_at"] = utc(now)
            if not self.runner.config.amd:
                info.live_at = now
        elif isinstance(event, AmdResult):
            info.amd_result = event.status.value
            info.amd_cause = event.cause[:64] if event.cause else None
            fields["amd_result"] = info.amd_result
            fields["amd_cause"] = info.amd_cause
            if event.status.value in ("human", "notsure"):
                info.live_at = now
        elif isinstance(event, CallConnected):
            fields["connected_at"] = utc(now)
            fields["seat_id"] = event.seat_id
            live = info.live_at if info.live_at is not None else info.answered_at
            if live is not None:
                self.metrics.connected_to_seat(self.name, now - live)
        if fields:
            attempt_id = info.attempt_id
            self.shared.writer.put(
                lambda conn: update_attempt(conn, attempt_id, **fields),
                "update_attempt",
                f"attempt {attempt_id} progress",
            )

    async def _carry_out(
        self, commands: list[Command], now: float, *, from_tick: bool = False
    ) -> None:
        from dialer.telephony.base import carry_out

        if from_tick:
            harbour = [c.call_id for c in commands if isinstance(c, PlaySafeHarbour)]
            self._ledger(None, harbour)
        for command in commands:
            with bound_call(attempt=getattr(command, "call_id", None)):
                try:
                    await carry_out(self.shared.telephony, command)
                except Exception as exc:
                    log.error("command_failed", command=type(command).__name__, error=str(exc))
        if from_tick:
            self._collect(now)

    def _ledger(self, call_id: str | None, abandoned: list[str]) -> None:
        """Persist the runner's new ledger entries, each with the attempt it is about."""
        entries = self.runner.drain_ledger()
        if not entries:
            return
        queue = list(abandoned)
        for entry in entries:
            attempt_id = call_id
            if entry.kind is PacingLedgerKind.ABANDON and queue:
                attempt_id = queue.pop(0)
            kind = LedgerKind(entry.kind.value)
            if kind is LedgerKind.LIVE_ANSWER:
                self.metrics.live_answer(self.name)
            else:
                self.metrics.abandon(self.name)
            self.shared.writer.put(
                _ledger_job(self.name, kind, utc(entry.at), attempt_id),
                "abandon_ledger",
                f"ledger {kind.value} {attempt_id}",
            )

    def _collect(self, now: float) -> None:
        """Finished attempts from the runner: queue their records."""
        for record in self.runner.drain_records():
            info = self.calls.pop(record.call_id, None)
            if info is None:
                continue
            if math.isnan(record.ended_at):
                record = replace(record, ended_at=now)
            self._queue_finish(record, info)

    def _queue_finish(
        self, record: AttemptRecord, info: CallInfo, *, cause_text: str | None = None
    ) -> None:
        outcome = AttemptOutcome(record.outcome.value)
        self._finished_calls += 1
        log.info("attempt_ended", attempt=record.call_id, outcome=outcome.value,
                 seat=record.seat_id, cause=record.cause)  # fmt: skip
        self.metrics.call_ended(self.name, outcome.value)
        ended = utc(record.ended_at)
        with contextlib.suppress(KeyError):
            self.pool = numbers.record_result(
                self.pool, info.caller_id, outcome in ANSWERED_OUTCOMES, ended
            )
            state = self.pool.get(info.caller_id)
            if state.status is numbers.NumberStatus.QUARANTINED:
                self._persist_quarantine(info.caller_id, state.status_reason, ended)
        answered = info.answered_at if info.answered_at is not None else record.answered_at
        live = info.live_at
        connected = record.connected_at
        ring_end = answered if answered is not None else record.ended_at
        wait_end = connected if connected is not None else record.ended_at
        result = AttemptResult(
            outcome=outcome,
            ended_at=ended,
            hangup_cause=record.cause or None,
            cause_text=cause_text,
            answered_at=utc(answered) if answered is not None else None,
            amd_result=info.amd_result,
            amd_cause=info.amd_cause,
            connected_at=utc(connected) if connected is not None else None,
            seat_id=record.seat_id,
            ring_s=round(max(0.0, ring_end - info.placed_at), 3),
            wait_s=round(max(0.0, wait_end - live), 3) if live is not None else None,
            talk_s=round(record.talk_s, 3) if connected is not None else None,
        )
        campaign, lead = self.campaign, info.lead
        placed = utc(info.placed_at)
        attempt_id = record.call_id

        def write(conn: Connection) -> None:
            update = None
            outbox: list[OutboxRequest] = []
            if lead is not None:
                previous = _previous_outcomes(conn, lead.id, attempt_id)
                after = after_attempt(
                    outcome, lead_view(lead), campaign, ended,
                    previous_outcomes=previous, placed_at=placed,
                )  # fmt: skip
                update = LeadUpdate(after.status, after.next_call_at)
                if after.queue_sms:
                    outbox.append(OutboxRequest("sms", {
                        "template": campaign.sms_follow_up.template, "reason": after.reason,
                    }))  # fmt: skip
            finish_attempt(conn, attempt_id, result, update, outbox_requests=outbox)

        self.shared.writer.put(write, "finish_attempt", f"finish attempt {attempt_id}")

    def _persist_quarantine(self, number: str, reason: str, at: datetime) -> None:
        self.shared.writer.put(
            lambda conn: set_caller_id_state(
                conn, number, CallerIdState.QUARANTINED, at, reason=reason
            ),
            "other",
            "caller id quarantined",
        )

    def on_action_failed(self, call_id: str | None, action: str, message: str) -> None:
        log.warning("ami_action_failed", attempt=call_id, action=action, message=message)

    # ================================================================== metrics

    def _export_metrics(self, now: float) -> None:
        m, name = self.metrics, self.name
        if name not in m.campaigns:
            return
        m.set_lines_in_flight(name, len(self.calls))
        counts: dict[str, int] = {}
        for seat in self.runner.seats.seats.values():
            counts[seat.state.value] = counts.get(seat.state.value, 0) + 1
        m.set_seats(name, counts)
        answers, abandons = self.runner.controller.ledger.counts(now)
        m.set_abandon_rate(name, abandons / answers if answers else 0.0)
        d = self.runner.last_decision
        m.set_pacing(name, risk_threshold=d.threshold, free_seats=d.expected_free,
                     live_answers=d.expected_answers)  # fmt: skip
        if time.monotonic() >= self._next_pacing_log:
            self._next_pacing_log = time.monotonic() + PACING_LOG_S
            board = self.runner.seats
            log.info(
                "pacing", policy=d.policy, threshold=round(d.threshold, 4),
                expected_free=round(d.expected_free, 2),
                expected_answers=round(d.expected_answers, 2), lines=len(self.calls),
                seats_ready=board.ready_count, seats_logged_in=board.logged_in_count,
                window_answers=answers, window_abandons=abandons,
                hit_rate=round(self.runner.estimators.rates.human, 3),
            )  # fmt: skip


# ====================================================================== helpers (pure / SQL)


def lead_view(lead: ClaimedLead) -> LeadView:
    """The hopper rules' view of a claimed lead (as it was before this attempt)."""
    return LeadView(
        id=lead.id,
        phone_e164=lead.phone_e164,
        time_zones=lead.time_zones,
        attempts_total=lead.attempts_total,
        attempts_today=lead.attempts_today,
        last_attempt_at=lead.last_attempt_at,
        abandoned_at=lead.abandoned_at,
        next_call_at=lead.next_call_at,
        status=lead.status,
        priority=lead.priority,
        is_callback=lead.is_callback,
    )


def _runner_event(event: TelephonyEvent) -> bool:
    return isinstance(
        event,
        CallRinging | CallAnswered | AmdResult | CallConnected | CallHungUp | OriginateFailed
        | SeatPhoneUp | SeatPhoneDown | CustomerLeftSeat,
    )  # fmt: skip


def is_terminal(event: TelephonyEvent) -> bool:
    return isinstance(event, _TERMINAL_EVENTS)


def _failed() -> Any:
    from dialer.engine.events import FailReason

    return FailReason.FAILED


def _log_task_error(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("task_failed", error=str(task.exception()))


def _claim_with_dnc(
    conn: Connection,
    campaign: str,
    n: int,
    now: datetime,
    owner: str,
    max_total: int,
    max_per_day: int,
    lease_token: int,
) -> tuple[list[ClaimedLead], set[str]]:
    claimed = claim_leads(
        conn, campaign, n, now, owner,
        max_attempts_total=max_total, max_attempts_per_day=max_per_day, lease_token=lease_token,
    )  # fmt: skip
    listed = dnc_matches(conn, [c.phone_e164 for c in claimed], campaign) if claimed else set()
    return claimed, listed


def _create_attempts(
    conn: Connection,
    campaign: str,
    placing: list[tuple[ClaimedLead, str, str]],
    releases: list[tuple[ClaimedLead, datetime | None, LeadStatus | None]],
    now: datetime,
    owner: str,
    lease_token: int,
    server: str,
    binding_s: float,
) -> set[str]:
    """Release the refused leads and create the attempts, in one transaction: committed before
    any Originate is sent. Returns the attempt ids created."""
    for lead, retry_at, status in releases:
        release_lead(conn, lead.id, lead.claim_token, now, next_call_at=retry_at, status=status)
    created: set[str] = set()
    expires = now + timedelta(seconds=binding_s)
    for lead, caller_id, attempt_id in placing:
        savepoint = conn.begin_nested()
        try:
            create_attempt(
                conn,
                NewAttempt(
                    attempt_id, lead.id, lead.claim_token, campaign, lead.phone_e164, caller_id,
                    now, server=server, daemon=owner, lease_token=lease_token,
                ),
            )  # fmt: skip
            if binding_s > 0:
                bind_callback(conn, caller_id, lead.phone_e164, campaign, now, expires,
                              lead_id=lead.id, attempt_id=attempt_id)  # fmt: skip
        except (LeadNotClaimed, LeaseLost) as exc:
            savepoint.rollback()
            log.warning("attempt_not_created", lead=lead.id, error=str(exc))
            if isinstance(exc, LeaseLost):
                raise
            continue
        savepoint.commit()
        created.add(attempt_id)
    return created


def _ledger_job(
    campaign: str, kind: LedgerKind, at: datetime, attempt_id: str | None
) -> Callable[[Connection], object]:
    return lambda conn: record_abandon_ledger(conn, campaign, kind, at, attempt_id)


def _previous_outcomes(conn: Connection, lead_id: int, attempt_id: str) -> list[str]:
    t = attempts.c
    rows = conn.execute(
        select(t.outcome).where(
            t.lead_id == lead_id,
            t.id != attempt_id,
            t.state == AttemptState.ENDED.value,
            t.outcome.is_not(None),
        )
    ).scalars()
    return [o for o in rows if o != AttemptOutcome.CANCELLED.value]


def _seat_requests(conn: Connection, seat_ids: list[str]) -> Mapping[str, tuple[str, str]]:
    if not seat_ids:
        return {}
    t = seats.c
    rows = conn.execute(
        select(t.id, t.requested_state, t.pause_reason).where(t.id.in_(seat_ids))
    ).all()
    return {r.id: (r.requested_state, r.pause_reason or "") for r in rows}


def _settle_job(
    worker: CampaignWorker, row: Mapping[str, Any], s: Settlement, now: float
) -> Callable[[Connection], None]:
    """The write that finishes an attempt a previous daemon left in flight."""
    campaign = worker.campaign
    name = worker.name
    ended = utc(now)

    def write(conn: Connection) -> None:
        lead_row = None
        if row["lead_id"] is not None:
            lead_row = (
                conn.execute(select(leads).where(leads.c.id == row["lead_id"])).mappings().first()
            )
        answered = row.get("answered_at")
        if s.live_answer:
            at = answered or ended
            record_abandon_ledger(conn, name, LedgerKind.LIVE_ANSWER, at, s.attempt_id)
            if s.outcome is AttemptOutcome.ABANDONED:
                record_abandon_ledger(conn, name, LedgerKind.ABANDON, ended, s.attempt_id)
        update = None
        outbox: list[OutboxRequest] = []
        if lead_row is not None:
            view = LeadView(
                id=lead_row["id"],
                phone_e164=lead_row["phone_e164"] or row["phone_e164"],
                time_zones=tuple(z for z in (lead_row["time_zone"] or "").split(",") if z),
                attempts_total=max(0, lead_row["attempts_total"] - 1),
                attempts_today=max(0, lead_row["attempts_today"] - 1),
                last_attempt_at=None,
                abandoned_at=lead_row["abandoned_at"],
                next_call_at=None,
                status=lead_row["claimed_from"] or LeadStatus.RETRY.value,
                priority=lead_row["priority"],
            )
            previous = _previous_outcomes(conn, lead_row["id"], s.attempt_id)
            after = after_attempt(s.outcome, view, campaign, ended, previous_outcomes=previous,
                                  placed_at=row["placed_at"])  # fmt: skip
            update = LeadUpdate(after.status, after.next_call_at)
            if after.queue_sms:
                outbox.append(OutboxRequest("sms", {
                    "template": campaign.sms_follow_up.template, "reason": after.reason,
                }))  # fmt: skip
        connected = row.get("connected_at")
        result = AttemptResult(
            outcome=s.outcome,
            ended_at=ended,
            cause_text=CRASH_CAUSE_TEXT,
            talk_s=(ended - connected).total_seconds() if connected is not None else None,
        )
        finish_attempt(conn, s.attempt_id, result, update, outbox_requests=outbox)

    return write


def validate_campaign(config: DialerConfig, name: str) -> None:
    """Raise :class:`UnsupportedCampaign` (or ValueError) if the campaign cannot run here."""
    runner_config(config.campaigns[name])


__all__ = [
    "CallRouter",
    "CampaignWorker",
    "Shared",
    "UnsupportedCampaign",
    "is_terminal",
    "lead_view",
    "validate_campaign",
]
