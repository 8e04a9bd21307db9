"""What a campaign worker is made of: the daemon-wide shared parts, the state of one campaign's
calls and seats, and the small database helpers every part of the worker uses.

:class:`WorkerBase` declares the state; the worker's behaviour is split by subject into
:mod:`~dialer.daemon.seat_driver` (seats), :mod:`~dialer.daemon.dialling` (claiming leads and
placing calls), :mod:`~dialer.daemon.call_records` (call progress and results) and
:mod:`~dialer.daemon.campaign_worker` (the lifecycle and loop that combines them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine

from dialer.config import CampaignConfig, DialerConfig
from dialer.daemon.db_writer import DbWriter, is_connection_error
from dialer.daemon.wrapup import WrapupKeeper
from dialer.engine import numbers
from dialer.engine.events import Command
from dialer.engine.runner import CampaignRunner
from dialer.obs.logs import get_logger
from dialer.obs.metrics import DialerMetrics
from dialer.states import SeatRequest
from dialer.store.leads import ClaimedLead
from dialer.store.leases import Lease
from dialer.telephony.base import TelephonyEvent
from dialer.telephony.pool import TelephonyPool

if TYPE_CHECKING:
    from dialer.daemon.campaign_worker import CampaignWorker

log = get_logger("dialer.daemon.campaign")


def utc(ts: float) -> datetime:
    """UNIX seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


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


class WorkerBase:
    """The state of one campaign worker (set by ``CampaignWorker.__init__``) and the helpers
    shared by its parts."""

    name: str
    shared: Shared
    metrics: DialerMetrics
    campaign: CampaignConfig
    runner: CampaignRunner
    desired: str
    lease: Lease | None
    calls: dict[str, CallInfo]
    seats: dict[str, SeatInfo]
    pool: numbers.PoolState
    server: str | None
    wake: asyncio.Event
    stop_requested: bool
    lease_ok: bool
    db_ok: bool
    actual: tuple[str, str | None] | None
    wrapup_s: float
    wrapup: WrapupKeeper
    trial_id: int | None
    """The running trial whose sample alone is dialled (trial mode), else None."""
    _next_renew: float
    _next_seat_sync: float
    _finished_calls: int
    _next_pacing_log: float

    def set_desired(self, state: str) -> None:
        """``running``, ``paused`` or ``stopped`` (see CampaignWorker)."""
        raise NotImplementedError

    async def handle(self, event: TelephonyEvent) -> None:
        """One event for a call or seat of this campaign (see CampaignWorker)."""
        raise NotImplementedError

    def _register_call(self, call_id: str) -> None:
        """Route the call's events to this worker (see CampaignWorker)."""
        raise NotImplementedError

    async def _carry_out(
        self, commands: list[Command], now: float, *, from_tick: bool = False
    ) -> None:
        """Carry out the runner's commands (see CallRecords)."""
        raise NotImplementedError

    def _ledger(self) -> None:
        """Persist the runner's new ledger entries (see CallRecords)."""
        raise NotImplementedError

    def _collect(self, now: float) -> None:
        """Queue the records of finished attempts (see CallRecords)."""
        raise NotImplementedError

    def _should_exit_now(self) -> bool:
        return self.stop_requested or self.shared.stopping.is_set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), seconds)
        self.wake.clear()

    def _lease_lost_on_claim(self) -> None:
        """A claim found the campaign lease gone: stop dialling until it is renewed."""
        self.lease_ok = False
        self._next_renew = 0.0
        log.error("lease_lost_on_claim", action="dialling stopped")

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
