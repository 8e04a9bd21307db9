"""Callbacks: calls into the caller-ID pool's numbers, routed to a seat or to the closed message.

The dialplan's ``[dialer-inbound]`` context announces a call with ``UserEvent(DialerInbound)``
(the adapter's :class:`~dialer.engine.events.InboundCall`) and lets it ring while the daemon
decides. :class:`InboundRouter` (owned by the campaign loop):

1. looks the binding up (``callback_bindings``: caller = the lead's number, dialled = the pool
   number we showed; :func:`dialer.store.followups.find_callback`), which names the campaign and
   the seat that took the bound outbound attempt; with no binding, the campaign whose caller-ID
   pool holds the dialled number;
2. writes the ``inbound_calls`` row, then decides with :func:`dialer.engine.inbound.route_inbound`
   — the same seat if it is ready (or comes free within ``SAME_SEAT_WAIT_S``), else the
   longest-idle ready seat of the campaign's ``inbound_seat_group`` (waiting up to
   ``INBOUND_WAIT_S`` while one is on duty), else the closed path — re-deciding every
   ``POLL_S`` while it waits;
3. a chosen seat is reserved in the runner of the campaign worker driving it
   (``CampaignRunner.inbound_to_seat``) and the call is redirected into the seat's bridge; the
   seat then talks and wraps up like after an outbound call. A call not bridged within
   ``CONNECT_TIMEOUT_S`` gives its seat back and goes to the closed message;
4. the call's end writes its outcome and timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from dialer.config import DialerConfig
from dialer.daemon.db_writer import DbWriter
from dialer.engine.events import CallConnected, CallHungUp, InboundCall
from dialer.engine.inbound import InboundRoute, SeatView, route_inbound
from dialer.obs.logs import get_logger
from dialer.states import InboundOutcome
from dialer.states import InboundRoute as StoredRoute
from dialer.store.followups import CallbackTarget, find_callback, number_forms
from dialer.store.inbound import (
    InboundArrival,
    InboundEnd,
    finish_inbound_call,
    record_inbound_arrival,
    record_inbound_route,
)
from dialer.telephony.pool import TelephonyPool

if TYPE_CHECKING:
    from dialer.daemon.campaign_worker import CampaignWorker

log = get_logger("dialer.daemon.inbound")

CLOSED_CONTEXT = "dialer-inbound-closed"
POLL_S = 0.2
CONNECT_TIMEOUT_S = 3.0


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@dataclass(slots=True)
class PendingInbound:
    """An inbound call this daemon is routing or has routed."""

    call_id: str
    arrived: float
    campaign: str | None
    bound_seat: str | None
    group: list[str]
    route: InboundRoute = InboundRoute.WAIT
    seat_id: str | None = None
    worker: CampaignWorker | None = None
    connect_sent: float | None = None
    connected: float | None = None


def campaign_of_number(config: DialerConfig, dialled: str) -> str | None:
    """The first campaign (by name) whose caller-ID pool holds the dialled number."""
    forms = set(number_forms(dialled))
    for name in sorted(config.campaigns):
        pool = config.caller_id_pools.get(config.campaigns[name].caller_id.pool)
        if pool is not None and forms & set(pool.numbers):
            return name
    return None


class InboundRouter:
    """Routes callbacks (see the module docstring). ``seat_owners`` is the campaign loop's map
    of seat id → the worker driving that seat."""

    def __init__(
        self,
        engine: Engine,
        telephony: TelephonyPool,
        writer: DbWriter,
        seat_owners: Mapping[str, CampaignWorker],
        config: DialerConfig,
    ) -> None:
        self.engine = engine
        self.telephony = telephony
        self.writer = writer
        self.seat_owners = seat_owners
        self.config = config
        self.calls: dict[str, PendingInbound] = {}
        self._task: asyncio.Task[None] | None = None

    def owns(self, call_id: str | None) -> bool:
        return call_id is not None and call_id in self.calls

    # ------------------------------------------------------------------ arrival

    async def on_call(self, event: InboundCall) -> None:
        now = time.time()
        try:
            target = await asyncio.to_thread(
                self._lookup, event.dialled_number, event.caller_number, utc(now)
            )
        except Exception as exc:
            log.error("callback_lookup_failed", call=event.call_id, error=str(exc)[:300])
            target = None
        campaign = (
            target.campaign if target else campaign_of_number(self.config, event.dialled_number)
        )
        group_name = None
        if campaign is not None and campaign in self.config.campaigns:
            group_name = self.config.campaigns[campaign].inbound_seat_group
        group = list(self.config.seat_groups.get(group_name or "", []))
        call = PendingInbound(
            event.call_id, now, campaign, target.seat_id if target else None, group
        )
        self.calls[event.call_id] = call
        arrival = InboundArrival(
            id=event.call_id,
            caller_number=event.caller_number[:32],
            dialled_number=event.dialled_number[:32],
            arrived_at=utc(now),
            campaign=campaign,
            lead_id=target.lead_id if target else None,
            binding_attempt_id=target.attempt_id if target else None,
        )
        self.writer.put(
            lambda conn: record_inbound_arrival(conn, arrival), "other", f"inbound {event.call_id}"
        )
        log.info("inbound_call", call=event.call_id, campaign=campaign,
                 bound_seat=call.bound_seat, bound=target is not None)  # fmt: skip
        await self._decide(call, now)
        self._ensure_poller()

    def _lookup(self, dialled: str, caller: str, now: datetime) -> CallbackTarget | None:
        with self.engine.begin() as conn:
            return find_callback(conn, dialled, caller, now)

    # ------------------------------------------------------------------ deciding

    def _seat_views(self, call: PendingInbound) -> dict[str, SeatView]:
        views: dict[str, SeatView] = {}
        for seat_id in [*([call.bound_seat] if call.bound_seat else []), *call.group]:
            worker = self.seat_owners.get(seat_id)
            if worker is None:
                continue
            seat = worker.runner.seats.seats.get(seat_id)
            if seat is not None:
                views[seat_id] = SeatView(seat.state, seat.since)
        return views

    async def _decide(self, call: PendingInbound, now: float) -> None:
        if call.route is not InboundRoute.WAIT:
            return
        decision = route_inbound(
            bound_seat=call.bound_seat,
            group=call.group,
            seats=self._seat_views(call),
            waited_s=now - call.arrived,
        )
        if decision.route is InboundRoute.WAIT:
            return
        if decision.seat_id is not None:
            worker = self.seat_owners.get(decision.seat_id)
            command = (
                worker.runner.inbound_to_seat(call.call_id, decision.seat_id, now)
                if worker is not None
                else None
            )
            if worker is None or command is None:
                return  # taken meanwhile: decide again at the next poll
            call.route, call.seat_id, call.worker = decision.route, decision.seat_id, worker
            call.connect_sent = now
            self._write_route(call)
            log.info("inbound_routed", call=call.call_id, route=decision.route.value,
                     seat=decision.seat_id, waited_s=round(now - call.arrived, 3))  # fmt: skip
            await worker._carry_out([command], now)
            worker.wake.set()
            return
        await self._close(call, now)

    async def _close(self, call: PendingInbound, now: float) -> None:
        call.route = InboundRoute.CLOSED
        self._write_route(call)
        log.info("inbound_closed", call=call.call_id, waited_s=round(now - call.arrived, 3))
        try:
            await self.telephony.send_to_ivr(call.call_id, CLOSED_CONTEXT)
        except Exception as exc:
            log.error("inbound_close_failed", call=call.call_id, error=str(exc))

    def _write_route(self, call: PendingInbound) -> None:
        call_id, route, seat_id = call.call_id, StoredRoute(call.route.value), call.seat_id
        self.writer.put(
            lambda conn: record_inbound_route(conn, call_id, route, seat_id),
            "other",
            f"inbound {call_id} route",
        )

    def _ensure_poller(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="inbound-router")

    async def _poll(self) -> None:
        while self.calls:
            await asyncio.sleep(POLL_S)
            now = time.time()
            for call in list(self.calls.values()):
                try:
                    if call.route is InboundRoute.WAIT:
                        await self._decide(call, now)
                    elif (
                        call.worker is not None
                        and call.connected is None
                        and call.connect_sent is not None
                        and now - call.connect_sent > CONNECT_TIMEOUT_S
                    ):
                        log.warning("inbound_connect_timeout", call=call.call_id, seat=call.seat_id)
                        commands = call.worker.runner.inbound_release(call.call_id, now)
                        await call.worker._carry_out(commands, now)
                        call.worker = None
                        call.seat_id = None
                        await self._close(call, now)
                except Exception as exc:  # one call's trouble must not stop the others
                    log.exception("inbound_route_failed", call=call.call_id, error=str(exc))

    # ------------------------------------------------------------------ events of routed calls

    async def on_event(self, event: Any) -> None:
        """An event of an inbound call: forwarded to the worker of its seat; the end recorded."""
        call = self.calls.get(event.call_id)
        if call is None:
            return
        now = time.time()
        if isinstance(event, CallConnected) and call.connected is None:
            call.connected = now
        if call.worker is not None:
            await call.worker.handle(event)
        if isinstance(event, CallHungUp):  # (CustomerLeftSeat only ends the seat's talk)
            del self.calls[call.call_id]
            await self._finish(call, now)

    async def _finish(self, call: PendingInbound, now: float) -> None:
        if call.connected is not None:
            outcome = InboundOutcome.CONNECTED
        elif call.route is InboundRoute.CLOSED:
            outcome = InboundOutcome.CLOSED
        else:
            outcome = InboundOutcome.CALLER_HANGUP
        wait_end = call.connected if call.connected is not None else now
        end = InboundEnd(
            outcome=outcome,
            ended_at=utc(now),
            connected_at=utc(call.connected) if call.connected is not None else None,
            wait_s=round(wait_end - call.arrived, 3),
            talk_s=round(now - call.connected, 3) if call.connected is not None else None,
        )
        call_id = call.call_id
        if call.worker is not None and call.connected is None:
            commands = call.worker.runner.inbound_release(call_id, now)
            await call.worker._carry_out(commands, now)
        self.writer.put(
            lambda conn: finish_inbound_call(conn, call_id, end), "other", f"inbound {call_id} end"
        )
        log.info("inbound_ended", call=call_id, outcome=outcome.value, seat=call.seat_id)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
