"""The campaign runner: one campaign's calls, seats, pacing and abandon budget, as pure code.

It is fed events and ``now`` and answers with commands; it never reads a clock or does I/O, so the
daemon (real Asterisk, leads claimed from the database) and the simulator (virtual clock, synthetic
leads) drive exactly the same code.

Dial step, in two halves so leads can be claimed asynchronously (after
``runner.trim_ringing(now)``: the hang-ups of calls that have rung the legal minimum with no seat
free for their answer, predictive campaigns only, see :mod:`pacing.trim`):

1. ``n = runner.dial_demand(now)`` — how many more calls pacing wants now. The ``n`` calls count as
   requested (ring age 0 in the forecast) until placed or released, so asking again before they
   are placed does not double the demand.
2. for each lead obtained: ``runner.call_placed(call_id, lead_id, number, caller_id, now)`` returns
   the :class:`Originate` to send; ``runner.release_demand(k)`` gives back requests that found no
   lead. Requests not placed within ``request_ttl_s`` lapse.

Then ``runner.on_event(event, now)`` and ``runner.tick(now)`` return commands. A live answer is
connected to the longest-idle ready seat at once, else waits up to ``connect_window_s`` for a seat,
else is abandoned (:class:`PlaySafeHarbour`) and counted. ``next_deadline()`` says when ``tick``
must run next at the latest. Finished attempts pile up in ``drain_records()``; abandon-ledger
entries (live answers, abandons) in ``drain_ledger()`` for the daemon to persist, and ``history``
at construction seeds the ledger after a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from dialer.engine.calls import Call, CallOutcome, CallState
from dialer.engine.dial_breaker import BreakerConfig, DialFailureBreaker, is_network_failure
from dialer.engine.events import (
    LOST_TRACK,
    NOT_SENT,
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    CallEvent,
    CallHungUp,
    CallRinging,
    Command,
    ConnectToSeat,
    CustomerLeftSeat,
    FailReason,
    Hangup,
    Originate,
    OriginateFailed,
    PlaySafeHarbour,
    SeatPhoneDown,
    SeatPhoneUp,
    SeatRequested,
    SendToIvr,
)
from dialer.engine.robot import ROBOT_MODE, IvrTally, RobotPolicy, robot_room
from dialer.engine.seats import SeatBoard, SeatState
from pacing.budget import AbandonController, BudgetConfig, LedgerEntry, LedgerKind
from pacing.estimators import OutcomeRates
from pacing.guard import BudgetGuard
from pacing.model import PacingEstimators, Priors
from pacing.policies import (
    PacingDecision,
    PacingSnapshot,
    Policy,
    PredictivePolicy,
    make_policy,
    seat_free_forecast,
)
from pacing.risk import EXACT_MAX_TRIALS, ForecastMoments
from pacing.thin import ThinBudget
from pacing.trim import LATE_ANSWER_GRACE_S, MIN_RING_S, calls_to_trim
from pacing.values import value


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """A campaign's pacing-relevant settings."""

    campaign: str = "default"
    mode: str = "predictive"  # predictive | progressive | ratio:R
    connect_window_s: float = 2.0
    ring_timeout_s: float = 20.0
    amd: bool = False  # wait for an AmdResult after CallAnswered
    hang_up_machines: bool = True
    ivr_context: str | None = None  # robot mode: live answers go to this dialplan context
    ivr_extension: str = "s"  # ... at this extension
    max_lines: int | None = None
    request_ttl_s: float = 10.0
    connect_margin_s: float = 0.25
    """A waiting live answer gets a seat only while this much of its connect window is left, so the
    bridge (a few ms on Asterisk) completes inside the window; later it is abandoned at once."""
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    priors: Priors = field(default_factory=Priors)
    risk_threshold_min: float = 0.0
    """Predictive: the budget controller's risk threshold is held within [min, max] while it
    dials ahead (never when the budget or the breaker says progressive)."""
    risk_threshold_max: float = 1.0
    hit_jump: float = 2.0
    """Predictive: the sudden rise of the live-answer rate (a factor) the budget guard keeps
    abandon budget for. 2 holds jumps up to ~5x in the simulator; more holds bigger jumps at a
    steep price on low hit rates (see docs/benchmarks.md)."""
    answer_horizon_s: float | None = None
    """Predictive: forecast answers and free seats at most this far ahead (None: as far as the
    learnt answer delays reach)."""
    trim_ringing_s: float | None = MIN_RING_S
    """Predictive: a call still ringing after this many seconds is hung up while no seat is free
    for it (see :mod:`pacing.trim`); None rings every call to ``ring_timeout_s``. At least 15."""
    dial_breaker: BreakerConfig = field(default_factory=BreakerConfig)
    """When to stop dialling because the network fails the calls (see
    :mod:`dialer.engine.dial_breaker`)."""
    on_notsure: str = "seat"
    """AMD not sure: ``seat`` (treat as a person) or ``hangup`` (treat as a machine, hang up)."""
    on_machine: str | None = None
    """AMD machine: ``hangup``, ``ivr`` (the robot IVR plays to it) or ``seat`` (an agent leaves a
    message); None: ``hangup`` when ``hang_up_machines`` else leave the call in the dialplan."""

    def __post_init__(self) -> None:
        if self.connect_window_s <= 0:
            raise ValueError(f"connect_window_s must be positive, got {self.connect_window_s}")
        if not 0 <= self.connect_margin_s < self.connect_window_s:
            raise ValueError(
                f"connect_margin_s must be in [0, connect_window_s), got {self.connect_margin_s}"
            )
        if self.ring_timeout_s < 15:
            raise ValueError(f"ring_timeout_s must be >= 15 s by law, got {self.ring_timeout_s}")
        if not 0.0 <= self.risk_threshold_min <= self.risk_threshold_max <= 1.0:
            raise ValueError(
                "risk thresholds must satisfy 0 <= min <= max <= 1, got "
                f"{self.risk_threshold_min} and {self.risk_threshold_max}"
            )
        if self.answer_horizon_s is not None and self.answer_horizon_s <= 0:
            raise ValueError(f"answer_horizon_s must be positive, got {self.answer_horizon_s}")
        if self.trim_ringing_s is not None and not self.trim_ringing_s >= MIN_RING_S:
            raise ValueError(
                f"trim_ringing_s must be >= {MIN_RING_S:g} s by law (or None), "
                f"got {self.trim_ringing_s}"
            )
        if not self.hit_jump >= 1.0:
            raise ValueError(f"hit_jump must be a factor >= 1, got {self.hit_jump}")
        if self.on_notsure not in ("seat", "hangup"):
            raise ValueError(f"on_notsure must be seat or hangup, got {self.on_notsure!r}")
        if self.on_machine not in (None, "hangup", "ivr", "seat"):
            raise ValueError(f"on_machine must be hangup, ivr or seat, got {self.on_machine!r}")
        if self.on_machine == "ivr" and self.ivr_context is None:
            raise ValueError("on_machine ivr needs an ivr_context (a robot section)")


@value
class AttemptRecord:
    """A finished attempt: what happened and when (campaign-clock seconds)."""

    call_id: str
    lead_id: int | None
    number: str
    caller_id: str
    outcome: CallOutcome
    placed_at: float
    ended_at: float
    answered_at: float | None = None
    connected_at: float | None = None
    seat_id: str | None = None
    cause: int = 0
    ivr_at: float | None = None
    handover_at: float | None = None
    machine: bool = False  # answered by a machine (AMD), handled by the IVR or a seat

    @property
    def ivr_result(self) -> str | None:
        """Robot mode: ``pressed`` (asked for a person) or ``not_pressed``; None otherwise."""
        if self.ivr_at is None:
            return None
        return "pressed" if self.handover_at is not None else "not_pressed"

    @property
    def transferred(self) -> bool:
        """Handed over from the IVR to a seat."""
        return self.handover_at is not None and self.connected_at is not None

    @property
    def ring_s(self) -> float:
        end = self.answered_at if self.answered_at is not None else self.ended_at
        return end - self.placed_at

    @property
    def wait_s(self) -> float:
        """Answer to connect (or to abandon); in robot mode from the hand-over request."""
        start = self.handover_at if self.handover_at is not None else self.answered_at
        if start is None or (self.ivr_at is not None and self.handover_at is None):
            return 0.0
        end = self.connected_at if self.connected_at is not None else self.ended_at
        return end - start

    @property
    def talk_s(self) -> float:
        return 0.0 if self.connected_at is None else self.ended_at - self.connected_at


_NOT_A_DIAL = -1  # (a dial's outcome the hit rate skips: the network failed the call)

_FAIL_OUTCOME = {
    FailReason.BUSY: (CallState.BUSY, CallOutcome.BUSY),
    FailReason.NO_ANSWER: (CallState.NO_ANSWER, CallOutcome.NO_ANSWER),
    FailReason.CONGESTION: (CallState.FAILED, CallOutcome.CONGESTION),
    FailReason.INVALID_NUMBER: (CallState.FAILED, CallOutcome.INVALID_NUMBER),
    FailReason.FAILED: (CallState.FAILED, CallOutcome.FAILED),
}


class CampaignRunner:
    """One campaign's engine core (see module docstring)."""

    def __init__(
        self,
        config: RunnerConfig | None = None,
        *,
        policy: Policy | None = None,
        history: Iterable[LedgerEntry] = (),
    ) -> None:
        self.config = cfg = config or RunnerConfig()
        self.policy: Policy = policy or self.policy_for(cfg.mode)
        self.estimators = PacingEstimators(
            cfg.priors,
            max_ring_s=max(60.0, cfg.ring_timeout_s),
            connect_window_s=cfg.connect_window_s,
            horizon_cap_s=cfg.answer_horizon_s,
            ring_timeout_s=cfg.ring_timeout_s,
        )
        if cfg.trim_ringing_s is not None:
            self.estimators.trim_from = cfg.trim_ringing_s + LATE_ANSWER_GRACE_S
        self.controller = AbandonController(cfg.budget, history)
        self.guard = BudgetGuard(self.estimators, self.controller.ledger)
        self.thin = ThinBudget(self.guard)
        self.seats = SeatBoard()
        self.calls: dict[str, Call] = {}
        self._ringing: dict[str, float] = {}  # unanswered calls: placed_at
        self._waiting: dict[str, float] = {}  # live answers without a seat: deadline (FIFO)
        self._connecting: dict[str, float] = {}  # seat chosen, not yet bridged: deadline
        self._requests: list[float] = []  # requested, not yet placed: request times
        # Outcomes enter the hit-rate estimate in placement order, not resolution order: live
        # answers resolve in ~12 s and no-answers only at the ring timeout, so counting them as
        # they resolve would overstate the hit rate right after a burst and understate it later.
        # The answer and failure delays likewise: a burst of dials brings its busy signals
        # back in 4 s and its ring-outs in 20, and at 250 seats a window of the last 300
        # failures by arrival held one kind or the other (see _resolved).
        self._outcomes: dict[str, int | tuple[float, float] | None] = {}
        self._ring_s: dict[str, float] = {}  # ring time of resolved calls not yet fed
        self._placed_at: dict[str, float] = {}  # placement time of calls with pending outcome
        self._records: list[AttemptRecord] = []
        self._ledger: list[LedgerEntry] = []
        self.last_decision = PacingDecision(calls=0)
        self.dialling_enabled = True
        self.dial_breaker = DialFailureBreaker(cfg.dial_breaker)
        self._reserved: dict[str, str] = {}  # preview mode: call -> the seat it was placed for
        self._inbound: dict[str, str] = {}  # inbound (callback) calls given a seat: call -> seat
        self.ivr = IvrTally()
        self._trimmed: dict[str, float] = {}  # calls hung up while ringing: when (recent only)
        self.trimmed = 0  # calls hung up while ringing (see trim_ringing)
        self.trim_races = 0  # of them, answered before the hang-up took: counted as abandons

    def policy_for(self, mode: str) -> Policy:
        """The pacing policy of a dial mode (``robot``: lines, see :mod:`dialer.engine.robot`)."""
        if mode == ROBOT_MODE:
            return RobotPolicy(self._robot_room)
        return make_policy(mode)

    # ================================================================== dial step
    def dial_demand(self, now: float) -> int:
        """How many more calls to place now (and count them as requested)."""
        self._lapse_requests(now)
        if not self.dialling_enabled:
            return 0
        breaker_room = self.dial_breaker.room(now)
        if breaker_room == 0:
            # (the threshold is kept: the next decision's risk in flight reads it)
            held = PacingDecision(calls=0, threshold=self.last_decision.threshold,
                                  policy="dial-failure breaker")  # fmt: skip
            self.last_decision = held
            return 0
        snapshot = self.snapshot(now)
        decision = self.policy.decide(snapshot, now)
        if breaker_room is not None and decision.calls > breaker_room:
            decision = replace(decision, calls=breaker_room)
        self.last_decision = decision
        if self.thin.active:
            self.thin.spend(decision, snapshot.idle_seats, snapshot.lines_in_flight)
        if decision.calls > 0:
            self._requests.extend([now] * decision.calls)
        return decision.calls

    #: How long a hung-up ringing call is remembered, in case its answer crossed the hang-up.
    TRIM_MEMORY_S = 60.0

    def trim_ringing(self, now: float) -> list[Command]:
        """Hang up calls that have rung ``trim_ringing_s`` or more while no seat is free for a
        late answer (predictive only; see :mod:`pacing.trim`). Run it before ``dial_demand``:
        the lines it frees are paced again at once. Each is recorded as a ``no_answer``
        attempt with its ring time; for the hit rate it counts as its odds of a live answer."""
        trim_from = self.config.trim_ringing_s
        ringing = self._ringing
        if (
            trim_from is None
            or not ringing
            or not self.dialling_enabled
            or not isinstance(self.policy, PredictivePolicy)
            or now - next(iter(ringing.values())) < trim_from  # (the oldest call, placed first)
        ):
            return []
        free = self.seats.ready_count - len(self._waiting)
        if free > 0:
            return []
        cut, late, ages = now - trim_from, [], []
        calls = self.calls
        for cid, placed in ringing.items():  # oldest first (placement order)
            if placed > cut:
                break
            # (rung from the moment the far end alerted when the PBX says so: call set-up
            # before it does not count towards the legal minimum)
            rang_from = calls[cid].ringing_at
            late.append(cid)
            ages.append(now - (placed if rang_from is None else rang_from))
        mask = calls_to_trim(np.array(ages), free, trim_from)
        if not mask.any():
            return []
        trimmed = self._trimmed
        while trimmed and next(iter(trimmed.values())) < now - self.TRIM_MEMORY_S:
            del trimmed[next(iter(trimmed))]
        model = self.estimators.last_model
        if model is None:
            seats = self.seats
            model = self.estimators.model(now, seats.talk_elapsed(now), seats.wrapup_elapsed(now))
        out: list[Command] = []
        for cid in [cid for cid, hang_up in zip(late, mask.tolist(), strict=True) if hang_up]:
            call = calls[cid]
            del ringing[cid]
            call.move(CallState.NO_ANSWER, now)
            age = now - call.placed_at
            self._resolved(cid, model.outcome_odds(age), age)
            self._finish(call, CallOutcome.NO_ANSWER)
            trimmed[cid] = now
            self.trimmed += 1
            out.append(Hangup(cid, "ring-trim"))
        return out

    def _trim_race(self, cid: str, now: float) -> list[Command]:
        """A call hung up while ringing was answered before the hang-up took (the daemon's
        race; the simulator has none): a person heard the line go dead, so it counts as a live
        answer and an abandon, and the hang-up is sent again."""
        if self._trimmed.pop(cid, None) is None:
            return []
        self.trim_races += 1
        self._ledger_add(LedgerEntry(now, LedgerKind.LIVE_ANSWER, cid))
        self._ledger_add(LedgerEntry(now, LedgerKind.ABANDON, cid))
        return [Hangup(cid, "ring-trim")]

    def call_placed(
        self, call_id: str, lead_id: int | None, number: str, caller_id: str, now: float
    ) -> Originate:
        """A lead was obtained for a requested call: record the attempt, return its Originate."""
        if call_id in self.calls:
            raise ValueError(f"call id {call_id!r} is already in use: attempt ids are never reused")
        if self._requests:
            self._requests.pop(0)
        self.calls[call_id] = Call(call_id, lead_id, number, caller_id, placed_at=now)
        self._ringing[call_id] = now
        self._outcomes[call_id] = None
        self._placed_at[call_id] = now
        self.dial_breaker.placed(call_id, now)
        self.guard.dial_placed(now)
        return Originate(
            call_id=call_id,
            campaign=self.config.campaign,
            lead_id=lead_id,
            number=number,
            caller_id=caller_id,
            timeout_s=self.config.ring_timeout_s,
        )

    def drop_call(self, call_id: str, now: float) -> CallOutcome | None:
        """Forget a call the PBX will never report on (hung up at shutdown): out of the calls,
        the ringing, the waiting and the connecting, a seat reserved for it ready again.

        Returns how it ended as far as the runner saw it — None if it never knew the call (or
        only that it rang): the IVR's, a seat's or a machine's call keeps its outcome; a person
        waiting for a seat is an abandon, ledgered (their live answer was, when they answered).
        """
        call = self.calls.pop(call_id, None)
        self._ringing.pop(call_id, None)
        self._waiting.pop(call_id, None)
        self._connecting.pop(call_id, None)
        if call is None:
            return None
        if call.state is CallState.CONNECTING and call.seat_id is not None:
            seat = self.seats.get(call.seat_id)
            if seat.state is SeatState.RESERVED:
                self.seats.move(seat.seat_id, SeatState.READY, now)
        if call.state is CallState.IN_IVR:
            return CallOutcome.ROBOT  # heard the IVR, asked for nobody: not an abandon
        if call.state is CallState.CONNECTED or call.machine:
            return CallOutcome.MACHINE if call.machine else CallOutcome.HUMAN
        if call.state in (CallState.LIVE, CallState.CONNECTING):
            self._ledger_add(LedgerEntry(now, LedgerKind.ABANDON, call_id))
            return CallOutcome.ABANDONED
        return None

    def release_demand(self, count: int) -> None:
        """Give back ``count`` requested calls that will not be placed (no lead, paused...)."""
        del self._requests[: max(0, count)]

    def _lapse_requests(self, now: float) -> None:
        ttl = self.config.request_ttl_s
        while self._requests and self._requests[0] <= now - ttl:
            self._requests.pop(0)

    def snapshot(self, now: float) -> PacingSnapshot:
        """What the policy sees now (also used by metrics and plots)."""
        # The estimators see every running call (censored talk times); the forecast only the
        # seats that will take another call (see seat_leaves_after_call).
        talk_all = self.seats.talk_elapsed(now)
        wrap_all = self.seats.wrapup_elapsed(now)
        if self.seats.leaving_count:
            talk = self.seats.talk_elapsed(now, leaving=False)
            wrap = self.seats.wrapup_elapsed(now, leaving=False)
        else:
            talk, wrap = talk_all, wrap_all
        ring = np.fromiter(self._ringing.values(), np.float64, len(self._ringing))
        ages = now - ring
        if self._requests:
            ages = np.concatenate([ages, np.zeros(len(self._requests))])
        unanswered = len(self._ringing) + len(self._requests)
        lines = unanswered + len(self._waiting) + len(talk_all)  # talk: reserved seats too
        room = 10_000 if self.config.max_lines is None else self.config.max_lines - lines
        idle = self.seats.ready_count
        if not isinstance(self.policy, PredictivePolicy):
            # (a fixed ratio is what the operator chose: no forecast, no threshold to steer; the
            # adaptive baseline reads the ledger itself)
            answers, abandons = self.controller.ledger.counts(now)
            return PacingSnapshot(
                idle_seats=idle,
                talk_elapsed=talk,
                wrapup_elapsed=wrap,
                ring_ages=ages,
                waiting_answers=len(self._waiting),
                connect_window=self.config.connect_window_s,
                max_new_calls=max(0, room),
                live_answers=answers,
                abandons=abandons,
                abandon_cap=self.controller.config.cap,
            )
        allowed = self.controller.allowed_abandons(now)
        # With budget to spare, calls still ringing at the trim age are forecast to be hung up
        # rather than answered (the ring trim does so whenever no seat is free for them); while
        # the budget is thin their late answers count in full (see PacingEstimators.model).
        est = self.estimators
        model = est.model(now, talk_all, wrap_all, late_trimmed=allowed > 1)
        trim_from = est.trim_from if allowed > 1 and model is est.last_trimmed_model else None
        at_risk = unanswered * self.last_decision.threshold
        threshold = self.controller.threshold(now, model.hit, at_risk)
        if threshold > 0.0:
            cfg = self.config
            threshold = min(max(threshold, cfg.risk_threshold_min), cfg.risk_threshold_max)
        thin = self.thin
        thin.active = False
        spare, spare_threshold = 0, 1.0
        if allowed <= 1 and self.controller.last_reason != "breaker":
            # (a breach is one or two abandons away: the thin-budget mode's risk account paces,
            # not the controller's threshold and the budget guard)
            threshold = 0.0
            sized = thin.threshold(now, model, self.controller.config.cap)
            if sized is not None:
                threshold, model = sized
                thin.active = True
                spare = max(0, allowed)
                spare_threshold = self.controller.steady_threshold(now, model.hit)
        seat_free = live_by = moments = None
        if threshold > 0:
            if talk.size + wrap.size + ages.size <= EXACT_MAX_TRIALS:
                seat_free = seat_free_forecast(model, talk, wrap)
                if thin.active:
                    seat_free = thin.frees(seat_free)
                live_by = (
                    model.live_answer_by(ages) if ages.size else np.zeros((model.fractions.size, 0))
                )
                moments = ForecastMoments.of(seat_free, live_by)
            else:
                # (the policy's normal approximation and the guard read only the sums)
                moments = model.moments(talk, wrap, ages)
                if thin.active:
                    moments = thin.moments(moments)
            guard = self.guard
            guard.track_frees(now, model, moments)
            if not thin.active:
                guard_room = guard.room(
                    now,
                    model,
                    moments,
                    ages,
                    talk=talk,
                    wrap=wrap,
                    idle=idle,
                    waiting=len(self._waiting),
                    allowed=allowed,
                    oldest_ringing=next(iter(self._ringing.values()), now),
                    hit_jump=self.config.hit_jump,
                    ring_timeout_s=self.config.ring_timeout_s,
                )
                room = min(room, guard_room)
        else:
            self.guard.forget_frees()
        return PacingSnapshot(
            idle_seats=idle,
            talk_elapsed=talk,
            wrapup_elapsed=wrap,
            ring_ages=ages,
            waiting_answers=len(self._waiting),
            model=model,
            threshold=threshold,
            connect_window=self.config.connect_window_s,
            max_new_calls=max(0, room),
            seat_free=seat_free,
            live_by=live_by,
            moments=moments,
            spare_abandons=spare,
            spare_threshold=spare_threshold,
            trim_from=trim_from,
        )

    # ================================================================== seats
    def seat_login(self, seat_id: str, now: float, *, phone_up: bool = True) -> list[Command]:
        self.seats.add(seat_id)
        self.seats.move(seat_id, SeatState.READY if phone_up else SeatState.PHONE_DOWN, now)
        return self._serve_waiting(now)

    def seat_ready(self, seat_id: str, now: float) -> list[Command]:
        """The agent is ready (wrap-up done, pause over, phone back)."""
        seat = self.seats.get(seat_id)
        if seat.state is SeatState.WRAPUP:
            self.estimators.observe_wrapup(now - seat.since, now)
            if not self.seats.is_leaving(seat_id):
                self.guard.seat_freed(now)
        if seat.state is not SeatState.READY:
            self.seats.move(seat_id, SeatState.READY, now)
        return self._serve_waiting(now)

    def seat_pause(self, seat_id: str, reason: str, now: float) -> None:
        seat = self.seats.get(seat_id)
        if seat.state is SeatState.WRAPUP:
            self.estimators.observe_wrapup(now - seat.since, now)
        self.seats.move(seat_id, SeatState.PAUSED, now, reason)

    def seat_logout(self, seat_id: str, now: float) -> None:
        self.seats.move(seat_id, SeatState.LOGGED_OUT, now)

    def seat_leaves_after_call(self, seat_id: str, leaving: bool, now: float) -> list[Command]:
        """The agent asked to pause or log out after this call (``leaving``), or withdrew it.

        The seat keeps its call and wrap-up, but the pacing forecast stops counting it among
        the seats coming free: calls dialled for it would be answered by people no seat takes
        (a team shrinking with calls in flight for the seats that left broke the cap in the
        random scenarios of the cap hunt); back at ready before its driver pauses it, it takes
        no call. Ignored for a seat that is not busy (or marked). Withdrawn from a ready seat,
        the seat serves the live answers waiting: the commands to carry out.
        """
        board = self.seats
        withdrawn = board.set_leaving(seat_id, leaving, now) and not leaving
        if withdrawn and board.get(seat_id).state is SeatState.READY:
            return self._serve_waiting(now)
        return []

    def may_leave(self, seat_id: str, now: float) -> bool:
        """The agent at this ready seat asked to pause or log out: may the seat go now?

        Not while the calls dialled before the agent asked (still ringing, or answered and
        waiting for a seat) outnumber the other ready seats: the dialler placed them counting on
        this seat, and a person who answers one would find nobody (the cap hunt: 3 seats down to
        1 with 3 calls ringing, two abandons at 54 live answers, over a 2 % cap). A ready seat
        is then held (:meth:`SeatBoard.hold`): out of the forecast, it takes a live answer of
        those calls when no other seat is ready, and leaves after that call. Asked again (the
        driver's next sync, the simulator's next tick), it goes once those calls are resolved
        or the other ready seats cover them: at most a ring timeout later. (A busy seat is
        marked leaving instead, :meth:`seat_leaves_after_call`, and goes after its wrap-up.)
        """
        board = self.seats
        since = board.leaving_since(seat_id)
        others = board.ready_count
        if since is None:
            since = now
            if board.get(seat_id).state is SeatState.READY:
                others -= 1  # (not marked yet: counted among the ready)
        if self._dialled_by(since) <= others:
            return True
        board.hold(seat_id, since)
        return False

    def _dialled_by(self, since: float) -> int:
        """Calls placed or asked for at or before ``since`` that may yet need a seat."""
        n = 0
        for placed in self._ringing.values():  # (placement order)
            if placed > since:
                break
            n += 1
        n += sum(1 for t in self._requests if t <= since)
        calls = self.calls
        return n + sum(1 for cid in self._waiting if calls[cid].placed_at <= since)

    # ================================================================== inbound (callbacks)
    def inbound_to_seat(self, call_id: str, seat_id: str, now: float) -> ConnectToSeat | None:
        """An inbound call (a callback routed by the daemon) takes this seat if it is ready:
        the seat is reserved for it and the returned command bridges it; None if not ready."""
        seat = self.seats.seats.get(seat_id)
        if seat is None or seat.state is not SeatState.READY or call_id in self._inbound:
            return None
        if self.seats.is_leaving(seat_id):
            return None  # (its agent asked to go: back at ready only until paused)
        self.seats.move(seat_id, SeatState.RESERVED, now)
        seat.call_id = call_id
        self._inbound[call_id] = seat_id
        return ConnectToSeat(call_id, seat_id)

    def inbound_release(self, call_id: str, now: float) -> list[Command]:
        """The inbound call will not reach its reserved seat (redirect refused, too slow):
        the seat is ready again."""
        seat_id = self._inbound.pop(call_id, None)
        if seat_id is None:
            return []
        if self.seats.get(seat_id).state is SeatState.RESERVED:
            self.seats.move(seat_id, SeatState.READY, now)
            return self._serve_waiting(now)
        return []

    def _inbound_event(self, event: object, now: float) -> list[Command]:
        cid = getattr(event, "call_id", "")
        seat_id = self._inbound[cid]
        seat = self.seats.get(seat_id)
        if isinstance(event, CallConnected):
            if seat.state is SeatState.RESERVED:
                self.seats.move(seat_id, SeatState.TALKING, now)
            return []
        if isinstance(event, CustomerLeftSeat | CallHungUp):
            del self._inbound[cid]
            if seat.state is SeatState.TALKING:
                self.seats.move(seat_id, SeatState.WRAPUP, now)
                seat.call_id = cid
            elif seat.state is SeatState.RESERVED:
                self.seats.move(seat_id, SeatState.READY, now)
                return self._serve_waiting(now)
        return []

    def inbound_seat(self, call_id: str) -> str | None:
        """The seat an inbound call was given, while it is being connected or talking."""
        return self._inbound.get(call_id)

    # ================================================================== robot mode
    def _robot_room(self, now: float) -> int:
        """New calls a robot campaign may place now (see :func:`dialer.engine.robot.robot_room`)."""
        self._lapse_requests(now)
        in_ivr = sum(1 for c in self.calls.values() if c.state is CallState.IN_IVR)
        return robot_room(
            max_lines=self.config.max_lines,
            lines=len(self.calls) + len(self._requests),
            unanswered=len(self._ringing) + len(self._requests),
            in_ivr=in_ivr,
            waiting=len(self._waiting),
            seats=self.seats,
            press_rate=self.ivr.press_rate_upper(),
            hit_rate=self.estimators.rates.human_quantile(0.95),
            allowed_abandons=self.controller.allowed_abandons(now),
        )

    # ================================================================== preview mode
    def call_placed_for_seat(
        self,
        call_id: str,
        lead_id: int | None,
        number: str,
        caller_id: str,
        seat_id: str,
        now: float,
    ) -> Originate:
        """Preview mode: the agent of ``seat_id`` accepted a lead; place its call for that seat.

        The seat must be ready; it is reserved for the call from now on (no other call takes it,
        and it is busy while the call rings). A live answer is connected to it at once, so no
        abandon is possible while the seat stays up; any other end makes the seat ready again.
        The call does not count against the pacing's requested calls."""
        seat = self.seats.get(seat_id)
        if seat.state is not SeatState.READY:
            raise ValueError(f"seat {seat_id}: {seat.state.value}, not ready: cannot reserve it")
        requests, self._requests = self._requests, []
        try:
            originate = self.call_placed(call_id, lead_id, number, caller_id, now)
        finally:
            self._requests = requests
        # (the agent dials it, not the pacing: the breaker, which only holds back dial_demand,
        # does not judge the network by it)
        self.dial_breaker.forget(call_id)
        self.seats.move(seat_id, SeatState.RESERVED, now)
        seat.call_id = call_id
        self.calls[call_id].seat_id = seat_id
        self._reserved[call_id] = seat_id
        return originate

    def reserved_seat(self, call_id: str) -> str | None:
        """Preview mode: the seat a call was placed for, until the call ends."""
        return self._reserved.get(call_id)

    def _connect_reserved(self, call: Call, now: float) -> list[Command] | None:
        """A live answer on a preview call goes to its own seat; None if it has none (any more:
        its phone went down while it rang), then it is an ordinary live answer."""
        seat_id = self._reserved.get(call.call_id)
        if seat_id is None:
            return None
        seat = self.seats.seats.get(seat_id)
        if seat is None or seat.state is not SeatState.RESERVED or seat.call_id != call.call_id:
            del self._reserved[call.call_id]
            call.seat_id = None
            return None
        call.deadline = now + self.config.connect_window_s
        call.move(CallState.CONNECTING, now)
        self._connecting[call.call_id] = call.deadline
        return [ConnectToSeat(call.call_id, seat_id)]

    def _release_reserved(self, call: Call) -> None:
        """A preview call ended without reaching its seat: the seat is ready again."""
        seat_id = self._reserved.pop(call.call_id, None)
        seat = self.seats.seats.get(seat_id) if seat_id is not None else None
        if seat is None or seat.state is not SeatState.RESERVED or seat.call_id != call.call_id:
            return
        at = call.ended_at if call.ended_at is not None else call.placed_at
        self.seats.move(seat.seat_id, SeatState.READY, at)

    # ================================================================== events
    def on_event(self, event: CallEvent | SeatRequested, now: float) -> list[Command]:
        """Apply one normalised event; return the commands it calls for."""
        if self._inbound and getattr(event, "call_id", None) in self._inbound:
            return self._inbound_event(event, now)
        if isinstance(event, SeatRequested):
            return self._handover(event.call_id, now)
        match event:
            # (the most frequent first: a busy campaign ends most calls unanswered)
            case OriginateFailed(call_id=cid, reason=reason, cause=cause, detail=detail):
                call = self._active(cid)
                if call is None:
                    return []
                state, outcome = _FAIL_OUTCOME[reason]
                if call.state not in (CallState.PLACED, CallState.RINGING):
                    return []
                self._ringing.pop(cid, None)
                call.cause = cause
                call.move(state, now)
                # (a call lost track of, or never sent for the AMI link: says nothing of the
                # trunk, and the AMI's own alerts cover the link)
                unknown = detail == LOST_TRACK or detail.startswith(NOT_SENT)
                self._unanswered(call, now, is_network_failure(reason, cause), judged=not unknown)
                self._finish(call, outcome)
                return []
            case CallAnswered(call_id=cid):
                call = self._active(cid)
                if call is None and self._trimmed:
                    return self._trim_race(cid, now)
                if call is None or call.state not in (CallState.PLACED, CallState.RINGING):
                    return []
                self.dial_breaker.observe(cid, now, network_failure=False)
                if self.config.amd:
                    call.move(CallState.ANSWERED, now)
                    return []
                return self._live_answer(call, now)
            case AmdResult(call_id=cid, status=status):
                return self._amd(cid, status, now)
            case CustomerLeftSeat(call_id=cid):
                return self._customer_gone(cid, now, 16)
            case CallConnected(call_id=cid, seat_id=seat_id):
                call = self._active(cid)
                if call is None or call.state is not CallState.CONNECTING:
                    return []
                self._connecting.pop(cid, None)
                call.move(CallState.CONNECTED, now)
                self.seats.move(seat_id, SeatState.TALKING, now)
                return []
            case CallHungUp(call_id=cid, cause=cause):
                return self._customer_gone(cid, now, cause)
            case CallRinging(call_id=cid):
                call = self.calls.get(cid)
                if call is not None and call.state is CallState.PLACED:
                    call.move(CallState.RINGING, now)
                return []
            case SeatPhoneUp(seat_id=seat_id):
                seat = self.seats.get(seat_id)
                if seat.state is SeatState.PHONE_DOWN:
                    self.seats.move(seat_id, SeatState.READY, now)
                    return self._serve_waiting(now)
                return []
            case SeatPhoneDown(seat_id=seat_id):
                seat = self.seats.get(seat_id)
                if seat.state not in (SeatState.LOGGED_OUT, SeatState.PHONE_DOWN):
                    self.seats.move(seat_id, SeatState.PHONE_DOWN, now)
                return []
        raise TypeError(f"not a call event: {event!r}")

    def tick(self, now: float) -> list[Command]:
        """Abandon live answers whose connect window is over; lapse stale dial requests."""
        self._lapse_requests(now)
        out: list[Command] = []
        for table in (self._waiting, self._connecting):
            while table:
                cid, deadline = next(iter(table.items()))
                if deadline > now:
                    break
                del table[cid]
                out.append(self._abandon(self.calls[cid], now))
        return out

    def next_deadline(self) -> float | None:
        """The earliest connect-window end; ``tick`` must run then."""
        # (asked after every event: no list built; each table is ordered by deadline)
        waiting, connecting = self._waiting, self._connecting
        if waiting:
            first = next(iter(waiting.values()))
            return min(first, next(iter(connecting.values()))) if connecting else first
        return next(iter(connecting.values())) if connecting else None

    # ================================================================== outputs
    def drain_records(self) -> list[AttemptRecord]:
        out, self._records = self._records, []
        return out

    def drain_ledger(self) -> list[LedgerEntry]:
        out, self._ledger = self._ledger, []
        return out

    @property
    def lines_in_use(self) -> int:
        return len(self.calls)

    @property
    def ringing_count(self) -> int:
        return len(self._ringing)

    # ================================================================== internals
    def _active(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def _amd(self, cid: str, status: AmdStatus, now: float) -> list[Command]:
        call = self._active(cid)
        if call is None:
            return self._trim_race(cid, now) if self._trimmed else []
        if call.state in (CallState.PLACED, CallState.RINGING):
            call.move(CallState.ANSWERED, now)
        if call.state is not CallState.ANSWERED:
            return []
        if status is AmdStatus.HUMAN or (
            status is AmdStatus.NOTSURE and self.config.on_notsure == "seat"
        ):
            return self._live_answer(call, now)
        if status is AmdStatus.HANGUP:
            return self._customer_gone(cid, now, 16)
        self._ringing.pop(cid, None)
        self._resolved(cid, OutcomeRates.MACHINE, now - call.placed_at)
        action = self.config.on_machine
        if status is AmdStatus.NOTSURE:
            action = "hangup"  # on_notsure: hangup (treated as a machine)
        elif action is None:
            action = "hangup" if self.config.hang_up_machines else "leave"
        if action in ("ivr", "seat"):
            call.machine = True
            return self._live_answer(call, now, counted=False)
        call.move(CallState.MACHINE_HANDLED, now)
        self._finish(call, CallOutcome.MACHINE)
        return [Hangup(cid, status.value)] if action == "hangup" else []

    def _live_answer(self, call: Call, now: float, *, counted: bool = True) -> list[Command]:
        """A person (or, not ``counted``, a machine handled like one) is on the line."""
        if counted:
            self._ringing.pop(call.call_id, None)
            self._resolved(call.call_id, OutcomeRates.HUMAN, now - call.placed_at)
        if self.config.ivr_context is not None:
            # Robot mode: the IVR takes the call; only a hand-over request needs a seat, and only
            # then is it a live answer for the abandon rate (see dialer.engine.robot).
            call.move(CallState.IN_IVR, now)
            self.ivr.entered += 1
            return [SendToIvr(call.call_id, self.config.ivr_context, self.config.ivr_extension)]
        if counted:
            self._ledger_add(LedgerEntry(now, LedgerKind.LIVE_ANSWER, call.call_id))
        call.move(CallState.LIVE, now)
        return self._seat_wanted(call, now)

    def _handover(self, cid: str, now: float) -> list[Command]:
        """Robot mode: the caller asked the IVR for a person; a seat within the connect window."""
        call = self._active(cid)
        if call is None or call.state is not CallState.IN_IVR:
            return []
        self.ivr.pressed += 1
        if not call.machine:
            self._ledger_add(LedgerEntry(now, LedgerKind.LIVE_ANSWER, cid))
        call.machine = False  # a key press proves a person
        call.move(CallState.LIVE, now)
        return self._seat_wanted(call, now)

    def _seat_wanted(self, call: Call, now: float) -> list[Command]:
        if self._reserved:
            reserved = self._connect_reserved(call, now)
            if reserved is not None:
                return reserved
        call.deadline = now + self.config.connect_window_s
        if self._waiting:  # earlier live answers take seats first
            self._waiting[call.call_id] = call.deadline
            # (unless the only seat ready is held for calls dialled before them: see may_leave)
            return self._serve_waiting(now) if self.seats.leaving_count else []
        seat = self.seats.longest_idle(call.placed_at)
        if seat is None:
            self._waiting[call.call_id] = call.deadline
            return []
        return [self._connect(call, seat.seat_id, now)]

    def _connect(self, call: Call, seat_id: str, now: float) -> ConnectToSeat:
        call.move(CallState.CONNECTING, now)
        call.seat_id = seat_id
        self.seats.move(seat_id, SeatState.RESERVED, now)
        self.seats.get(seat_id).call_id = call.call_id
        self._connecting[call.call_id] = call.deadline if call.deadline is not None else now
        return ConnectToSeat(call.call_id, seat_id)

    def _serve_waiting(self, now: float) -> list[Command]:
        out: list[Command] = []
        calls, seats = self.calls, self.seats
        while self._waiting:
            cid, deadline = next(iter(self._waiting.items()))
            seat = seats.longest_idle(calls[cid].placed_at)
            if seat is None and seats.leaving_count:
                # a seat held for the calls dialled before its agent asked to go serves the
                # first of those waiting, whatever waits ahead of it
                for other, other_deadline in self._waiting.items():
                    seat = seats.longest_idle(calls[other].placed_at)
                    if seat is not None:
                        cid, deadline = other, other_deadline
                        break
            if seat is None:
                break
            del self._waiting[cid]
            if deadline - now < self.config.connect_margin_s:
                out.append(self._abandon(self.calls[cid], now))  # too late to bridge in time
                continue
            out.append(self._connect(self.calls[cid], seat.seat_id, now))
        return out

    def _abandon(self, call: Call, now: float) -> PlaySafeHarbour:
        if call.seat_id is not None and call.state is CallState.CONNECTING:
            seat = self.seats.get(call.seat_id)
            if seat.state is SeatState.RESERVED:
                self.seats.move(call.seat_id, SeatState.READY, now)
            call.seat_id = None
        call.move(CallState.ABANDONED, now)
        if call.machine:  # a machine left without a seat is no abandon (nor a 72-hour case)
            self._finish(call, CallOutcome.MACHINE)
            return PlaySafeHarbour(call.call_id)
        self._ledger_add(LedgerEntry(now, LedgerKind.ABANDON, call.call_id))
        self._finish(call, CallOutcome.ABANDONED)
        return PlaySafeHarbour(call.call_id)

    def _customer_gone(self, cid: str, now: float, cause: int) -> list[Command]:
        call = self._active(cid)
        if call is None:
            return []
        call.cause = cause
        if call.state is CallState.CONNECTED:
            seat_id = call.seat_id
            call.move(CallState.ENDED, now)
            if call.connected_at is not None:
                self.estimators.observe_talk(now - call.connected_at, now)
            if seat_id is not None and self.seats.get(seat_id).state is SeatState.TALKING:
                self.seats.move(seat_id, SeatState.WRAPUP, now)
            self._finish(call, CallOutcome.MACHINE if call.machine else CallOutcome.HUMAN)
            return []
        if call.state is CallState.IN_IVR:
            call.move(CallState.ENDED, now)
            self.ivr.finished += 1
            self._finish(call, CallOutcome.MACHINE if call.machine else CallOutcome.ROBOT)
            return []
        if call.state in (CallState.LIVE, CallState.CONNECTING):
            # Hung up before a seat took the call: counted as an abandon (the safe side).
            self._waiting.pop(cid, None)
            self._connecting.pop(cid, None)
            if call.seat_id is not None:
                if self.seats.get(call.seat_id).state is SeatState.RESERVED:
                    self.seats.move(call.seat_id, SeatState.READY, now)
                call.seat_id = None
            call.move(CallState.ENDED, now)
            if not call.machine:
                self._ledger_add(LedgerEntry(now, LedgerKind.ABANDON, cid))
            self._finish(call, CallOutcome.MACHINE if call.machine else CallOutcome.CUSTOMER_HANGUP)
            return self._serve_waiting(now)
        if call.state is CallState.ANSWERED:
            call.move(CallState.ENDED, now)
            self._finish(call, CallOutcome.CUSTOMER_HANGUP)
            return []
        if call.state in (CallState.PLACED, CallState.RINGING):
            self._ringing.pop(cid, None)
            call.move(CallState.FAILED, now)
            self._unanswered(call, now, is_network_failure(FailReason.FAILED, cause),
                             judged=cause != 0)  # fmt: skip
            self._finish(call, CallOutcome.FAILED)
        return []

    def _unanswered(
        self, call: Call, now: float, network_failure: bool, *, judged: bool = True
    ) -> None:
        """An unanswered call's end, for the breaker and the estimates. A call the network
        failed is not a dial of the list: counted as one it would pull the hit rate down (and
        its instant end the failure delays), and a trunk outage would read as a list nobody
        answers, which predictive pacing meets with up to 40 lines per seat. ``judged``: False
        for a call whose end is not known (the adapter lost track of it): neither."""
        if judged:
            self.dial_breaker.observe(call.call_id, now, network_failure)
        if network_failure or not judged:
            self._resolved(call.call_id, _NOT_A_DIAL)
        else:
            self._resolved(call.call_id, OutcomeRates.OTHER, now - call.placed_at)

    def _resolved(
        self,
        call_id: str,
        outcome: int | tuple[float, float],
        ring_s: float | None = None,
    ) -> None:
        """Note a dial's outcome (and its ring time); feed the estimates every outcome whose
        elders are known, in placement order."""
        outcomes = self._outcomes
        if call_id not in outcomes:
            return
        outcomes[call_id] = outcome
        if ring_s is not None:
            self._ring_s[call_id] = ring_s
        # A call the adapter lost track of (dropped without an event) must not stall the
        # estimate: outcomes still unknown long after the ring timeout count as no contact.
        stale = self._placed_at[call_id] - 3.0 * self.config.ring_timeout_s - 60.0
        while outcomes:
            first = next(iter(outcomes))
            known = outcomes[first]
            if known is None:
                if self._placed_at[first] > stale:
                    break
                known = OutcomeRates.OTHER
            del outcomes[first]
            placed = self._placed_at.pop(first)
            rang = self._ring_s.pop(first, None)
            if known != _NOT_A_DIAL:
                self.estimators.observe_dial(known, rang, placed)

    def _ledger_add(self, entry: LedgerEntry) -> None:
        self.controller.record(entry)
        self._ledger.append(entry)

    def _finish(self, call: Call, outcome: CallOutcome) -> None:
        self.dial_breaker.forget(call.call_id)
        if self._reserved:
            self._release_reserved(call)
        if call.call_id in self._outcomes and self._outcomes[call.call_id] is None:
            self._resolved(call.call_id, OutcomeRates.OTHER)
        self.calls.pop(call.call_id, None)
        self._records.append(
            AttemptRecord(
                call_id=call.call_id,
                lead_id=call.lead_id,
                number=call.number,
                caller_id=call.caller_id,
                outcome=outcome,
                placed_at=call.placed_at,
                ended_at=call.ended_at if call.ended_at is not None else math.nan,
                answered_at=call.answered_at,
                connected_at=call.connected_at,
                seat_id=call.seat_id,
                cause=call.cause,
                ivr_at=call.ivr_at,
                handover_at=call.handover_at,
                machine=call.machine,
            )
        )
