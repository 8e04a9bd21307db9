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

The parts live by subject: seats in :mod:`~dialer.daemon.seat_driver`, claiming and placing in
:mod:`~dialer.daemon.dialling`, progress and results in :mod:`~dialer.daemon.call_records`, the
database jobs in :mod:`~dialer.daemon.worker_jobs`, the shared state in
:mod:`~dialer.daemon.worker_base`; this module keeps the lifecycle and the loop.

Times given to the runner are UNIX seconds (``time.time()``), so they convert to the database's
UTC timestamps without a second clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import replace

from sqlalchemy import Connection

from dialer.config import CampaignConfig, DialerConfig
from dialer.daemon.call_records import CallRecords
from dialer.daemon.campaign_settings import (
    UnsupportedCampaign,
    campaign_server,
    runner_config,
    wrapup_rule,
)
from dialer.daemon.dialling import lead_view
from dialer.daemon.preview import PreviewDialler
from dialer.daemon.reconcile import settle, stale_seat_channels
from dialer.daemon.seat_driver import SeatDriver, auto_wrapup_s
from dialer.daemon.trial_keeper import TrialKeeper
from dialer.daemon.worker_base import CallInfo, CallRouter, SeatInfo, Shared, log, utc
from dialer.daemon.worker_jobs import settle_job
from dialer.daemon.wrapup import WrapupKeeper, timed_override
from dialer.engine import numbers
from dialer.engine.events import (
    AmdResult,
    CallAnswered,
    CallConnected,
    CallHungUp,
    CallRinging,
    Command,
    CustomerLeftSeat,
    OriginateFailed,
    SeatPhoneDown,
    SeatPhoneUp,
    SeatRequested,
)
from dialer.engine.runner import CampaignRunner
from dialer.engine.seats import SeatState as EngineSeatState
from dialer.obs.logs import bound_call
from dialer.states import CallerIdState, CampaignActualState, SeatState
from dialer.store.attempts import in_flight_attempts
from dialer.store.caller_ids import list_caller_ids
from dialer.store.campaigns import set_actual_state
from dialer.store.errors import NotFound
from dialer.store.leads import recover_stale_claims
from dialer.store.leases import Lease, release_lease, renew_lease, take_lease
from dialer.store.ledger import load_abandon_window
from dialer.store.preview import withdraw_open_offers
from dialer.telephony.base import LiveChannel, TelephonyEvent
from pacing.budget import LedgerEntry
from pacing.budget import LedgerKind as PacingLedgerKind

PACE_INTERVAL_S = 0.15
LEASE_TTL_S = 15.0
SEAT_SYNC_S = 1.0
PACING_LOG_S = 10.0
#: Below this estimated share of answers within the ring timeout, the pacing log warns.
HIDDEN_ANSWERS_WARN = 0.5

_TERMINAL_EVENTS = (CallHungUp, OriginateFailed)


class CampaignWorker(SeatDriver, TrialKeeper, PreviewDialler, CallRecords):
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
        self.wrapup = WrapupKeeper(wrapup_rule(self.campaign, timed_override()))
        self._next_renew = 0.0
        self._next_seat_sync = 0.0
        self._finished_calls = 0
        self._next_pacing_log = 0.0
        self._visible_share = 1.0  # the last share of answers within the ring timeout reckoned
        self._lengthenings = {"talk": 0, "wrapup": 0}  # (the new regimes already logged)
        self._breaker_trips_seen = 0
        self._breaker_holding = False
        self.offers = {}
        self._next_offer_poll = 0.0
        self._next_offer_claim = 0.0
        self._trial_init()

    # ================================================================== control

    def set_desired(self, state: str) -> None:
        """``running``, ``paused`` or ``stopped`` (the campaign row's desired_state)."""
        if state == "running" and self.trial_paused_recently():
            return  # read before the trial's pause was committed; the next pass says paused
        if state != self.desired:
            log.info("campaign_desired_state", campaign=self.name, state=state)
        if state != "paused":
            self.pause_reason = None
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
            self.runner.policy = self.runner.policy_for(new_runner.mode)
        if new_runner.dial_breaker != old.dial_breaker:
            self.runner.dial_breaker.reconfigure(new_runner.dial_breaker)
        self.wrapup.rule = wrapup_rule(campaign, timed_override())
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
        withdrawn = await self._db(
            "other", withdraw_open_offers, self.name, utc(time.time()), "daemon restarted"
        )
        if withdrawn:
            log.info("preview_offers_withdrawn", offers=withdrawn, reason="daemon restarted")
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
        settlements = settle(
            [dict(r) for r in rows], live, robot=self.runner.config.ivr_context is not None
        )
        by_id = {str(r["id"]): r for r in rows}
        hung = 0
        for s in settlements:
            for channel in s.channels:
                self._hangup_channel(channel)
                hung += 1
        now = time.time()
        for s in settlements:
            self.shared.writer.put(
                settle_job(self.campaign, self.name, by_id[s.attempt_id], s, now), "finish_attempt",
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
            await self._trial_sync(now)
            self._update_state()
            if self._may_dial():
                if self.preview:
                    await self._preview_step(time.time())
                else:
                    if self.offers:  # the campaign left preview mode (configuration reloaded)
                        await self._withdraw_all("dial mode changed")
                    await self._dial_step(time.time())
            elif self.offers and self.desired != "running":
                await self._withdraw_all(f"campaign {self.desired}")
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

    # ================================================================== shutdown

    async def _shutdown(self) -> None:
        """No new dials; let calls end (within the drain time), hang up the rest, log seats out,
        write everything, release the lease."""
        self.runner.dialling_enabled = False
        if self.lease is None:
            return
        self._report_state(CampaignActualState.DRAINING, "stopping")
        await self._withdraw_all("campaign stopping")
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
            # (what the runner already settled — an abandon ledgered, a record finished — is
            # filed first: the rest is what the PBX never reported)
            self._ledger()
            self._collect(now)
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
        self._write_wrapups()  # wrap-ups cut short by the logout
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
            and self.trial_ready
        )
        self.runner.dialling_enabled = ok
        return ok

    def _update_state(self) -> None:
        if self._should_exit_now():
            return
        server_up = self.server is not None and self.shared.connected.get(self.server, False)
        if self.desired == "paused":
            self._report_state(CampaignActualState.PAUSED, self.pause_reason)
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
        self._ledger()
        await self._carry_out(commands, now)
        self._collect(now)
        self.wake.set()

    def _register_call(self, call_id: str) -> None:
        self.shared.router.register_call(call_id, self)

    def on_action_failed(self, call_id: str | None, action: str, message: str) -> None:
        log.warning("ami_action_failed", attempt=call_id, action=action, message=message)

    # ================================================================== metrics

    def _export_breaker(self, now: float) -> None:
        """The dial-failure breaker to metrics, and its changes to the log."""
        breaker = self.runner.dial_breaker
        new_trips = breaker.trips - self._breaker_trips_seen
        holding = breaker.holding(now)
        self.metrics.dial_breaker(self.name, holding=holding, new_trips=new_trips)
        if new_trips > 0:
            log.warning(
                "dial_breaker_open", campaign=self.name, trips=breaker.trips,
                detail="most recent calls failed in the network; dialling held back",
            )  # fmt: skip
        elif self._breaker_holding and not holding:
            log.info("dial_breaker_closed", campaign=self.name)
        self._breaker_trips_seen = breaker.trips
        self._breaker_holding = holding

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
        log_due = time.monotonic() >= self._next_pacing_log
        if log_due:
            # (a grid posterior, reckoned with the pacing log rather than at every loop pass:
            # the share moves over minutes)
            self._visible_share = self.runner.estimators.visible_share()
        share = self._visible_share
        m.set_pacing(name, risk_threshold=d.threshold, free_seats=d.expected_free,
                     live_answers=d.expected_answers, visible_answer_share=share)  # fmt: skip
        self._export_breaker(now)
        self._warn_lengthened(now)
        if log_due:
            self._next_pacing_log = time.monotonic() + PACING_LOG_S
            board = self.runner.seats
            log.info(
                "pacing", policy=d.policy, threshold=round(d.threshold, 4),
                expected_free=round(d.expected_free, 2),
                expected_answers=round(d.expected_answers, 2), lines=len(self.calls),
                seats_ready=board.ready_count, seats_logged_in=board.logged_in_count,
                window_answers=answers, window_abandons=abandons,
                hit_rate=round(self.runner.estimators.rates.human, 3),
                visible_answer_share=round(share, 3),
            )  # fmt: skip
            self._warn_no_answers()
            if share < HIDDEN_ANSWERS_WARN:
                log.warning(
                    "ring_timeout_hides_answers", visible_answer_share=round(share, 3),
                    ring_timeout_s=self.runner.config.ring_timeout_s,
                    advice="most people who would answer do so after the ring timeout; pacing "
                    "holds lines back for them: lengthen no_answer_timeout_s",
                )  # fmt: skip

    def _warn_no_answers(self) -> None:
        """Warn (with the pacing log) while a campaign has had many outcomes and not one
        answer, person or machine: a dead list, or a trunk that does not signal answers, or
        people who all answer past the ring timeout. Pacing keeps one line per idle seat
        until an answer comes (``BudgetGuard.outcomes_learnt``)."""
        est = self.runner.estimators
        if est.answers_seen or est.rates.observations < est.DROUGHT_DIALS:
            return
        log.warning(
            "no_answers_yet", dials=est.rates.observations,
            ring_timeout_s=self.runner.config.ring_timeout_s,
            advice="not one call answered: check the list, the trunk's answer supervision and "
            "the ring timeout; pacing keeps one line per idle seat until a call is answered",
        )  # fmt: skip

    def _warn_lengthened(self, now: float) -> None:
        """Log each new regime of seat durations the pacing found (talks or wrap-ups that
        lengthened at once: it paces from the calls begun since, the older ones forgotten)."""
        est = self.runner.estimators
        for what, durations in (("talk", est.talk), ("wrapup", est.wrapup)):
            if durations.lengthenings > self._lengthenings[what]:
                self._lengthenings[what] = durations.lengthenings
                log.warning(
                    "seat_durations_lengthened", durations=what,
                    regime_began_s_ago=round(now - durations.regime_born, 1),
                    mean_s=round(durations.mean(), 1),
                    advice="the calls begun lately outlive the old ones; pacing counts only "
                    "them until their durations are learnt (a new script, list or team?)",
                )  # fmt: skip


def _runner_event(event: TelephonyEvent) -> bool:
    return isinstance(
        event,
        CallRinging | CallAnswered | AmdResult | CallConnected | CallHungUp | OriginateFailed
        | SeatPhoneUp | SeatPhoneDown | CustomerLeftSeat | SeatRequested,
    )  # fmt: skip


def is_terminal(event: TelephonyEvent) -> bool:
    return isinstance(event, _TERMINAL_EVENTS)


def validate_campaign(config: DialerConfig, name: str) -> None:
    """Raise :class:`UnsupportedCampaign` (or ValueError) if the campaign cannot run here."""
    runner_config(config.campaigns[name])


__all__ = [
    "CallInfo",
    "CallRouter",
    "CampaignWorker",
    "SeatInfo",
    "Shared",
    "UnsupportedCampaign",
    "is_terminal",
    "lead_view",
    "validate_campaign",
]
