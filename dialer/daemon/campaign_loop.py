"""dialerd's main loop: campaigns dialled end to end on Asterisk (plugged into ``Server``).

``run_campaigns(ctx)``:

1. opens the database (sync engine, used from worker threads) and the Asterisk pool of
   ``ctx.config.asterisk`` (secrets through ``resolve_secret``); the pool connects in the
   background and reconnects by itself, so an unreachable Asterisk only pauses dialling
   (``/readyz`` answers 503 meanwhile);
2. routes every Asterisk event to the campaign worker owning its call or seat
   (``ServerConnected``/``ServerDisconnected`` go to ``ctx.set_ami_connected``); callbacks into
   the caller-ID pool's numbers go to the :class:`~dialer.daemon.inbound.InboundRouter`;
3. every ``SUPERVISE_S`` (and at most a second apart, with ``ctx.heartbeat()``): reads each
   campaign's desired state from the database and starts, pauses or stops its
   :class:`~dialer.daemon.campaign_worker.CampaignWorker`; every ``CHECK_LEADS_S`` validates leads
   the CRM inserted (``check_new_leads``);
4. on SIGTERM (``ctx.stopping``): workers stop dialling, let their calls end within the drain
   time, hang up the rest, log their seats out and release their leases; then it returns;
5. on SIGHUP: the new configuration is checked campaign by campaign (a campaign this daemon cannot
   run rejects the reload and the old configuration stays) and applied to the running workers.

Environment: ``DIALER_DAEMON_ID`` names this daemon in leases and attempts (default
``host:pid:random``; a stable id lets a restarted daemon take its campaigns back at once instead of
waiting for the lease to expire, but two live daemons must never share one);
``DIALER_AUTO_WRAPUP_S`` is how long a seat stays in wrap-up before it is ready again (default 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from dialer.config import DialerConfig
from dialer.daemon.campaign_settings import UnsupportedCampaign
from dialer.daemon.campaign_worker import CampaignWorker, Shared, is_terminal, validate_campaign
from dialer.daemon.db_writer import DbWriter, is_connection_error
from dialer.daemon.inbound import InboundRouter
from dialer.daemon.server import ConfigRejected, ServerContext
from dialer.engine.events import InboundCall, SafeHarbourPlayed
from dialer.obs.logs import get_logger
from dialer.states import CampaignActualState
from dialer.store.campaigns import list_campaigns, set_actual_state
from dialer.store.engine import make_engine
from dialer.store.errors import NotFound
from dialer.store.leads import check_new_leads
from dialer.telephony.ami import AmiServerConfig
from dialer.telephony.base import ActionFailed, ServerConnected, ServerDisconnected
from dialer.telephony.pool import TelephonyPool

log = get_logger("dialer.daemon.campaigns")

SUPERVISE_S = 0.5
CHECK_LEADS_S = 10.0
DAEMON_ID_ENV = "DIALER_DAEMON_ID"


def daemon_id() -> str:
    """This daemon's name in leases and attempts: ``$DIALER_DAEMON_ID`` or host:pid:random."""
    given = os.environ.get(DAEMON_ID_ENV)
    if given:
        return given[:128]
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def ami_configs(config: DialerConfig) -> list[AmiServerConfig]:
    """The AMI settings of every Asterisk server of the configuration (secrets resolved)."""
    return [
        AmiServerConfig(
            name=server.name,
            host=server.host,
            port=server.port,
            username=server.username,
            secret=server.resolve_secret().get_secret_value(),
            max_channels=server.max_channels,
            max_calls_per_second=server.max_calls_per_second,
            ping_interval_s=2.0,
            ping_timeout_s=2.0,
            reconnect_min_s=0.2,
            reconnect_max_s=10.0,
        )
        for server in config.asterisk
    ]


class CampaignLoop:
    """The state of one ``run_campaigns`` call (see the module docstring)."""

    def __init__(self, ctx: ServerContext, engine: Engine, telephony: TelephonyPool) -> None:
        self.ctx = ctx
        self.engine = engine
        self.telephony = telephony
        self.config: DialerConfig = ctx.config
        self.writer = DbWriter(engine, ctx.metrics, on_health=self._db_health)
        self.connected: dict[str, bool] = {s.name: False for s in self.config.asterisk}
        self.shared = Shared(
            engine=engine,
            telephony=telephony,
            writer=self.writer,
            metrics=ctx.metrics,
            router=self,
            owner=daemon_id(),
            connected=self.connected,
            config=self.config,
            stopping=ctx.stopping,
            drain_time_left=ctx.drain_time_left,
        )
        self.workers: dict[str, tuple[CampaignWorker, asyncio.Task[None]]] = {}
        self.calls: dict[str, CampaignWorker] = {}
        self.seats: dict[str, CampaignWorker] = {}
        self.inbound = InboundRouter(engine, telephony, self.writer, self.seats, self.config)
        self._next_lead_check = 0.0
        self._next_unreadable_log = 0.0
        self._missing_logged: set[str] = set()

    # ------------------------------------------------------------------ router

    def register_call(self, call_id: str, worker: CampaignWorker) -> None:
        self.calls[call_id] = worker

    def register_seat(self, seat_id: str, worker: CampaignWorker) -> None:
        owner = self.seats.get(seat_id)
        if owner is not None and owner is not worker and owner.name != worker.name:
            log.warning("seat_shared", seat=seat_id, campaigns=[owner.name, worker.name])
        self.seats[seat_id] = worker

    def forget_seat(self, seat_id: str) -> None:
        self.seats.pop(seat_id, None)

    async def route_events(self) -> None:
        """Consume the pool's events until it closes."""
        async for event in self.telephony.events():
            try:
                await self._route(event)
            except Exception as exc:  # one bad event must not stop the event path
                log.exception("event_failed", event_type=type(event).__name__, error=str(exc))

    async def _route(self, event: Any) -> None:
        if isinstance(event, ServerConnected | ServerDisconnected):
            up = isinstance(event, ServerConnected)
            self.connected[event.server] = up
            self.ctx.set_ami_connected(event.server, up)
            if isinstance(event, ServerDisconnected):
                log.warning("ami_down", server=event.server, reason=event.reason,
                            action="dialling paused")  # fmt: skip
            for worker, _ in self.workers.values():
                worker.wake.set()
            return
        if isinstance(event, ActionFailed):
            target = self.calls.get(event.call_id or "")
            if target is not None:
                target.on_action_failed(event.call_id, event.action, event.message)
            else:
                log.info("ami_action_failed", action=event.action, message=event.message)
            return
        if isinstance(event, SafeHarbourPlayed):
            log.info("safe_harbour_played", attempt=event.call_id, completed=event.completed)
            return
        if isinstance(event, InboundCall):
            await self.inbound.on_call(event)
            return
        call_id = getattr(event, "call_id", None)
        if self.inbound.owns(call_id):
            await self.inbound.on_event(event)
            return
        if call_id is not None:
            call_worker = self.calls.get(call_id)
            if call_worker is not None:
                await call_worker.handle(event)
            if is_terminal(event):
                self.calls.pop(call_id, None)
            return
        seat_id = getattr(event, "seat_id", None)
        if seat_id is not None:
            owner = self.seats.get(seat_id)
            if owner is not None:
                await owner.handle(event)

    # ------------------------------------------------------------------ supervision

    def _db_health(self, ok: bool, detail: str) -> None:
        self.ctx.set_database_ok(ok, detail)

    async def supervise_once(self) -> None:
        """Match the workers to the campaigns' desired states in the database."""
        try:
            with self.ctx.metrics.time_db("other"):
                rows = await asyncio.to_thread(self._read_campaigns)
        except Exception as exc:
            if is_connection_error(exc):
                self.ctx.set_database_ok(False, type(exc).__name__)
            if time.monotonic() >= self._next_unreadable_log:
                self._next_unreadable_log = time.monotonic() + 30.0
                log.warning("campaigns_unreadable", error=str(exc)[:300])
            rows = None
        else:
            self._next_unreadable_log = 0.0
            if self.writer.healthy:
                self.ctx.set_database_ok(True)
        self._reap()
        if rows is None:
            return
        for name, desired in rows.items():
            if name not in self.config.campaigns:
                if name not in self._missing_logged and desired == "running":
                    log.warning("campaign_not_configured", campaign=name,
                                detail="in the database but not in campaigns.yaml")  # fmt: skip
                    self._missing_logged.add(name)
                continue
            current = self.workers.get(name)
            if desired in ("running", "paused"):
                if current is None:
                    self._start_worker(name, desired)
                else:
                    current[0].set_desired(desired)
            elif current is not None:
                current[0].set_desired("stopped")
        for name, (worker, _) in self.workers.items():
            if name not in rows or name not in self.config.campaigns:
                worker.request_stop()
        await self._check_leads()

    def _read_campaigns(self) -> dict[str, str]:
        with self.engine.begin() as conn:
            return {row["name"]: row["desired_state"] for row in list_campaigns(conn)}

    def _start_worker(self, name: str, desired: str) -> None:
        try:
            validate_campaign(self.config, name)
        except UnsupportedCampaign as exc:
            if name not in self._missing_logged:
                log.error("campaign_unsupported", campaign=name, error=str(exc))
                self._missing_logged.add(name)
                reason, at = str(exc)[:500], datetime.now(UTC)

                def report(conn: Connection) -> None:
                    with contextlib.suppress(NotFound):
                        set_actual_state(conn, name, CampaignActualState.BLOCKED, at, reason=reason)

                self.writer.put(report, "other", f"campaign {name} blocked")
            return
        worker = CampaignWorker(name, self.shared)
        worker.set_desired(desired)
        task = asyncio.create_task(worker.run(), name=f"campaign-{name}")
        self.workers[name] = (worker, task)

    def _reap(self) -> None:
        for name, (_worker, task) in list(self.workers.items()):
            if not task.done():
                continue
            del self.workers[name]
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                log.error("campaign_worker_crashed", campaign=name, error=str(exc),
                          exc_info=exc)  # fmt: skip

    async def _check_leads(self) -> None:
        if time.monotonic() < self._next_lead_check:
            return
        self._next_lead_check = time.monotonic() + CHECK_LEADS_S
        for name in list(self.workers):
            with contextlib.suppress(Exception):
                result = await asyncio.to_thread(self._check, name)
                if result.accepted or result.rejected:
                    log.info("crm_leads_checked", campaign=name, accepted=result.accepted,
                             rejected=result.rejected)  # fmt: skip

    def _check(self, name: str) -> Any:
        with self.engine.begin() as conn:
            return check_new_leads(conn, name, datetime.now(UTC))

    # ------------------------------------------------------------------ reload

    def on_reload(self, _old: Any, new: Any) -> None:
        """Check every running campaign against the new configuration, then apply it."""
        if not isinstance(new, DialerConfig):
            raise ConfigRejected("the new configuration is not a DialerConfig")
        for name in self.workers:
            if name not in new.campaigns:
                continue  # its worker stops at the next supervision pass
            try:
                validate_campaign(new, name)
            except (UnsupportedCampaign, ValueError) as exc:
                raise ConfigRejected(str(exc)) from exc
        old_servers = {(s.name, s.host, s.port, s.username) for s in self.config.asterisk}
        new_servers = {(s.name, s.host, s.port, s.username) for s in new.asterisk}
        if old_servers != new_servers:
            raise ConfigRejected("Asterisk servers changed: restart dialerd to apply that")
        self.config = new
        self.shared.config = new
        self.inbound.config = new
        for name, (worker, _) in self.workers.items():
            if name in new.campaigns:
                worker.apply_config(new)

    # ------------------------------------------------------------------ shutdown

    async def drain(self) -> None:
        for worker, _ in self.workers.values():
            worker.request_stop()
        tasks = [task for _, task in self.workers.values()]
        while tasks and not all(t.done() for t in tasks):
            self.ctx.heartbeat()
            left = self.ctx.drain_time_left()
            if left <= 0.5:
                break
            await asyncio.wait(tasks, timeout=min(0.5, left - 0.5))
        self._reap()
        for _, task in self.workers.values():
            task.cancel()


async def run_campaigns(ctx: ServerContext) -> None:
    """The daemon's main loop (see the module docstring)."""
    config: DialerConfig = ctx.config
    engine = make_engine(ctx.db_url)
    try:
        configs = ami_configs(config)
    except LookupError as exc:
        log.error("ami_secret_missing", error=str(exc))
        raise
    telephony = TelephonyPool(configs)
    loop = CampaignLoop(ctx, engine, telephony)
    for server in configs:
        ctx.set_ami_connected(server.name, False)
    loop.writer.start()
    router = asyncio.create_task(loop.route_events(), name="ami-events")
    await telephony.start(wait=False)
    ctx.on_reload(loop.on_reload)
    log.info("campaign_loop_started", daemon=loop.shared.owner,
             servers=[c.name for c in configs])  # fmt: skip
    try:
        while not ctx.stopping.is_set():
            ctx.heartbeat()
            await loop.supervise_once()
            ctx.heartbeat()
            await ctx.sleep(SUPERVISE_S)
        await loop.drain()
    finally:
        left = await loop.writer.close(timeout_s=max(1.0, min(5.0, ctx.drain_time_left() - 0.5)))
        if left:
            log.error("results_not_written", count=left)
        await loop.inbound.close()
        await telephony.close()
        router.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await router
        engine.dispose()
        log.info("campaign_loop_stopped")
