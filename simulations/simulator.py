"""Discrete-event simulation of a campaign: a simulated PBX and a virtual clock driving the SAME
:class:`~dialer.engine.runner.CampaignRunner` the daemon runs.

The simulated world draws each dial's fate when it is placed (live answer, machine, busy, no
answer, with their delays), talk and wrap-up durations when a seat takes a call, and applies the
scenario's regime changes on time. Everything random comes from generators spawned from one
``SeedSequence``: the same scenario and seed give the same result, bit for bit.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    Command,
    ConnectToSeat,
    CustomerLeftSeat,
    FailReason,
    Hangup,
    OriginateFailed,
    PlaySafeHarbour,
)
from dialer.engine.runner import CampaignRunner, RunnerConfig
from dialer.engine.seats import SeatState
from pacing.budget import BudgetConfig, LedgerKind
from simulations.scenario import Dist, Regime, Scenario

VERSION = "0.1.0"

_CHANGE, _ANSWER, _FAIL, _TALK_END, _WRAP_END, _DEADLINE, _DECIDE = range(7)


class _Stream:
    """Draws from a distribution in blocks (one numpy call per 4096 draws)."""

    __slots__ = ("_buf", "_i", "dist", "rng")

    def __init__(self, rng: np.random.Generator, dist: Dist | None) -> None:
        self.rng = rng
        self.dist = dist
        self._buf: np.ndarray = np.zeros(0)
        self._i = 0

    def set(self, dist: Dist) -> None:
        if dist != self.dist:
            self.dist = dist
            self._buf = np.zeros(0)
            self._i = 0

    def next(self) -> float:
        if self._i >= self._buf.size:
            if self.dist is None:
                self._buf = self.rng.random(4096)
            else:
                self._buf = self.dist.sample(self.rng, 4096)
            self._i = 0
        v = self._buf[self._i]
        self._i += 1
        return float(v)


@dataclass
class SimResult:
    """One replication's figures (plus its time series for plots)."""

    scenario: str
    scenario_hash: str
    version: str
    seed: int
    mode: str
    duration_s: float
    seats: int
    talk_occupancy: float
    utilization: float
    abandon_rate: float
    max_abandon_rate: float  # highest cumulative window rate seen at any moment
    abandoned: int
    live_answers: int
    dials: int
    connects: int
    machines: int
    max_lines: int
    wall_s: float
    series: dict[str, list[float]] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("series")
        return d


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    mode: str | None = None,
    *,
    series_step: float = 60.0,
    record_series: bool = True,
) -> SimResult:
    """Run one replication of ``scenario`` with ``seed`` (default: the scenario's own)."""
    return _Sim(scenario, scenario.seed if seed is None else seed, mode, series_step,
                record_series).run()  # fmt: skip


class _Sim:
    def __init__(
        self, sc: Scenario, seed: int, mode: str | None, series_step: float, record: bool
    ) -> None:
        self.sc = sc
        self.seed = seed
        self.mode = mode or sc.campaign.mode
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]
        self.u = _Stream(rngs[0], None)
        self.answer = _Stream(rngs[1], sc.regime.answer_delay)
        self.talk = _Stream(rngs[2], sc.regime.talk)
        self.wrap = _Stream(rngs[3], sc.regime.wrapup)
        # (fates of ringing calls drawn again at a change: streams of their own, so that the
        # draws of a scenario without ``changes_reach_ringing`` stay what they were)
        self.redraw_u = _Stream(rngs[5], None)
        self.redraw_answer = _Stream(rngs[6], sc.regime.answer_delay)
        self.regime: Regime = sc.regime
        self.runner = CampaignRunner(
            RunnerConfig(
                campaign=sc.name,
                mode=self.mode,
                connect_window_s=sc.connect_window,
                ring_timeout_s=sc.no_answer_timeout,
                amd=True,  # answer delays run to the AMD verdict, for people and machines
                budget=BudgetConfig(cap=sc.campaign.abandon_cap, window_s=sc.campaign.window),
                priors=sc.campaign.priors,
                hit_jump=sc.campaign.hit_jump,
                trim_ringing_s=sc.campaign.trim_ringing,
            )
        )
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = 0
        self.calls = 0
        self.record = record
        self.series_step = series_step
        # figures
        self.talk_s = 0.0
        self.wrap_s = 0.0
        self.seat_s = 0.0
        self.logged_in = 0
        self.logged_since = 0.0
        self.dials = 0
        self.connects = 0
        self.machines = 0
        self.max_lines = 0
        self.answers = 0
        self.abandons = 0
        self.max_rate = 0.0
        self.talk_start: dict[str, float] = {}
        self.leaving: set[str] = set()
        self.seat_names: list[str] = []
        self.pushed_deadline = math.inf
        self.hung_up: set[str] = set()  # calls hung up while ringing: their pending event is void
        self.decided_at = -math.inf  # the last pacing decision
        self.series: dict[str, list[float]] = {
            k: [] for k in ("t", "occupancy", "lines", "threshold", "answers", "abandons")
        }
        self._bucket_talking = 0.0
        self._bucket_n = 0
        self._bucket_lines = 0.0
        self._bucket_thr = 0.0
        self._bucket_end = series_step
        self._bucket_ans = 0
        self._bucket_ab = 0

    # ------------------------------------------------------------------ scheduling
    def push(self, t: float, kind: int, payload: Any = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, payload))

    def run(self) -> SimResult:
        wall = time.perf_counter()
        sc = self.sc
        self._set_seats(sc.regime.seats, 0.0)
        for ch in sc.changes:
            if ch.at < sc.duration:
                self.push(ch.at, _CHANGE, ch.regime)
        self.push(0.0, _DECIDE)
        end = sc.duration
        runner = self.runner
        heap = self.heap
        while heap:
            now, _, kind, payload = heapq.heappop(heap)
            if kind == _DECIDE:
                if now >= end:
                    continue
                self._apply(runner.tick(now), now)
                if self.leaving:
                    self._release_held(now)
                if now - self.decided_at >= 0.5 * sc.decision_interval:
                    self._dial(now)  # (a seat that just became ready asked a moment ago)
                self._sample(now)
                self.push(now + sc.decision_interval, _DECIDE)
            elif kind == _ANSWER:
                cid, human = payload
                if cid in self.hung_up:
                    self.hung_up.discard(cid)
                    continue
                runner.on_event(CallAnswered(cid), now)
                if not human:
                    self.machines += 1
                verdict = AmdStatus.HUMAN if human else AmdStatus.MACHINE
                self._apply(runner.on_event(AmdResult(cid, verdict), now), now)
            elif kind == _FAIL:
                cid, reason = payload
                if cid in self.hung_up:
                    self.hung_up.discard(cid)
                    continue
                runner.on_event(OriginateFailed(cid, reason), now)
            elif kind == _TALK_END:
                cid, seat_id = payload
                start = self.talk_start.pop(cid)
                self.talk_s += max(0.0, min(now, end) - start)
                runner.on_event(CustomerLeftSeat(cid, seat_id), now)
                self.push(now + self.wrap.next(), _WRAP_END, (seat_id, now))
            elif kind == _WRAP_END:
                seat_id, since = payload
                self.wrap_s += max(0.0, min(now, end) - since)
                if seat_id in self.leaving:
                    self.leaving.discard(seat_id)
                    if runner.seats.get(seat_id).state is SeatState.WRAPUP:
                        runner.seat_logout(seat_id, now)
                    self._seat_count_changed(now, -1)
                else:
                    self._apply(runner.seat_ready(seat_id, now), now)
                    if now < end:
                        self._dial(now)
            elif kind == _DEADLINE:
                self.pushed_deadline = math.inf
                self._apply(runner.tick(now), now)
            elif kind == _CHANGE:
                self._change(payload, now)
            dl = runner.next_deadline()
            if dl is not None and dl < self.pushed_deadline:
                self.pushed_deadline = dl
                self.push(dl, _DEADLINE)
        self._seat_count_changed(end, 0)
        self._drain_ledger(end)
        seat_s = self.seat_s
        return SimResult(
            scenario=sc.name,
            scenario_hash=sc.digest(),
            version=VERSION,
            seed=self.seed,
            mode=self.mode,
            duration_s=end,
            seats=sc.regime.seats,
            talk_occupancy=self.talk_s / seat_s if seat_s else 0.0,
            utilization=(self.talk_s + self.wrap_s) / seat_s if seat_s else 0.0,
            abandon_rate=self.abandons / self.answers if self.answers else 0.0,
            max_abandon_rate=self.max_rate,
            abandoned=self.abandons,
            live_answers=self.answers,
            dials=self.dials,
            connects=self.connects,
            machines=self.machines,
            max_lines=self.max_lines,
            wall_s=time.perf_counter() - wall,
            series=self.series if self.record else {},
        )

    # ------------------------------------------------------------------ world
    def _dial(self, now: float) -> None:
        runner = self.runner
        self.decided_at = now
        for cmd in runner.trim_ringing(now):
            self.hung_up.add(cmd.call_id)
        n = runner.dial_demand(now)
        if n <= 0:
            return
        r = self.regime.outcomes
        timeout = self.sc.no_answer_timeout
        for _ in range(n):
            self.calls += 1
            cid = f"c{self.calls}"
            runner.call_placed(cid, None, "", "", now)
            self.dials += 1
            u = self.u.next()
            if u < r.human + r.machine:
                delay = self.answer.next()
                if delay <= timeout:
                    self.push(now + delay, _ANSWER, (cid, u < r.human))
                    continue
                self.push(now + timeout, _FAIL, (cid, FailReason.NO_ANSWER))
            elif u < r.human + r.machine + r.busy:
                self.push(now + self.sc.busy_delay, _FAIL, (cid, FailReason.BUSY))
            else:
                self.push(now + timeout, _FAIL, (cid, FailReason.NO_ANSWER))
        lines = runner.lines_in_use
        if lines > self.max_lines:
            self.max_lines = lines

    def _apply(self, commands: list[Command], now: float) -> None:
        for cmd in commands:
            if isinstance(cmd, ConnectToSeat):
                self.runner.on_event(CallConnected(cmd.call_id, cmd.seat_id), now)
                self.connects += 1
                self.talk_start[cmd.call_id] = now
                self.push(now + self.talk.next(), _TALK_END, (cmd.call_id, cmd.seat_id))
            elif isinstance(cmd, PlaySafeHarbour | Hangup):
                pass  # the line is released; the runner has already recorded the outcome

    def _change(self, regime: Regime, now: float) -> None:
        self.regime = regime
        self.answer.set(regime.answer_delay)
        self.talk.set(regime.talk)
        self.wrap.set(regime.wrapup)
        if self.sc.changes_reach_ringing:
            self._redraw_ringing(now)
        self._set_seats(regime.seats, now)

    #: Draws tried per ringing call before it is taken as unanswered (see _redraw_ringing).
    REDRAW_TRIES = 1000

    def _redraw_ringing(self, now: float) -> None:
        """Draw the fate of every call still ringing again, from the new regime's outcomes and
        answer delays, given that it has not ended by its ring age (by rejection: a draw that
        would have ended already is drawn again, which samples exactly that conditional law).
        A call no draw lets through in ``REDRAW_TRIES`` rings out at the timeout."""
        r = self.regime.outcomes
        answered, busy = r.human + r.machine, r.human + r.machine + r.busy
        timeout, busy_delay = self.sc.no_answer_timeout, self.sc.busy_delay
        self.redraw_answer.set(self.regime.answer_delay)
        calls = self.runner.calls
        heap = self.heap
        for i, (_, seq, kind, payload) in enumerate(heap):
            if kind != _ANSWER and kind != _FAIL:
                continue
            cid = payload[0]
            if cid in self.hung_up or cid not in calls:
                continue
            placed = calls[cid].placed_at
            age = now - placed
            fate: tuple[float, int, Any] = (placed + timeout, _FAIL, (cid, FailReason.NO_ANSWER))
            for _try in range(self.REDRAW_TRIES):
                u = self.redraw_u.next()
                if u < answered:
                    delay = self.redraw_answer.next()
                    if delay <= age:
                        continue
                    if delay <= timeout:
                        fate = (placed + delay, _ANSWER, (cid, u < r.human))
                elif u < busy:
                    if busy_delay <= age:
                        continue
                    fate = (placed + busy_delay, _FAIL, (cid, FailReason.BUSY))
                break
            heap[i] = (fate[0], seq, fate[1], fate[2])
        heapq.heapify(heap)

    def _set_seats(self, target: int, now: float) -> None:
        runner = self.runner
        active = [s for s in self.seat_names if s not in self.leaving
                  and runner.seats.get(s).state is not SeatState.LOGGED_OUT]  # fmt: skip
        unannounced = self.sc.team_changes_unannounced
        while len(active) < target:
            if self.leaving:
                seat_id = self.leaving.pop()  # cancel a pending logout
                if not unannounced:
                    self._apply(runner.seat_leaves_after_call(seat_id, False, now), now)
            else:
                seat_id = f"s{len(self.seat_names) + 1}"
                self.seat_names.append(seat_id)
                self._seat_count_changed(now, +1)
                self._apply(runner.seat_login(seat_id, now), now)
            active.append(seat_id)
        while len(active) > target:
            seat_id = active.pop()
            if unannounced:
                # (the runner learns of it when the agent goes: now if ready, else at the end
                # of the wrap-up, see _WRAP_END)
                if runner.seats.get(seat_id).state is SeatState.READY:
                    runner.seat_logout(seat_id, now)
                    self._seat_count_changed(now, -1)
                else:
                    self.leaving.add(seat_id)
                continue
            if runner.seats.get(seat_id).state is SeatState.READY:
                if runner.may_leave(seat_id, now):
                    runner.seat_logout(seat_id, now)
                    self._seat_count_changed(now, -1)
                else:
                    self.leaving.add(seat_id)  # held: goes when the calls out for it resolve
            else:
                self.leaving.add(seat_id)  # logs out when its wrap-up ends
                # (the agent says so when the team changes, as a desktop's "log out after
                # this call" would)
                self._apply(runner.seat_leaves_after_call(seat_id, True, now), now)

    def _release_held(self, now: float) -> None:
        """Log out the ready seats held for calls dialled before their agent asked to go, once
        the runner lets them go (see ``CampaignRunner.may_leave``)."""
        runner = self.runner
        for seat_id in sorted(self.leaving):
            if runner.seats.get(seat_id).state is SeatState.READY and runner.may_leave(
                seat_id, now
            ):
                self.leaving.discard(seat_id)
                runner.seat_logout(seat_id, now)
                self._seat_count_changed(now, -1)

    def _seat_count_changed(self, now: float, delta: int) -> None:
        t = min(now, self.sc.duration)
        self.seat_s += self.logged_in * max(0.0, t - self.logged_since)
        self.logged_since = t
        self.logged_in += delta

    # ------------------------------------------------------------------ figures
    def _drain_ledger(self, now: float) -> None:
        entries = self.runner.drain_ledger()
        if not entries:
            return
        exact = self.runner.controller.ledger.window_s >= self.sc.duration
        for e in entries:
            if e.kind is LedgerKind.ABANDON:
                self.abandons += 1
                self._bucket_ab += 1
                # The window spans the run: the rate right after each abandon is its peak.
                if exact and self.abandons / max(self.answers, 1) > self.max_rate:
                    self.max_rate = self.abandons / max(self.answers, 1)
            else:
                self.answers += 1
                self._bucket_ans += 1
        answers, abandons = self.runner.controller.ledger.counts(now)
        if answers and abandons / answers > self.max_rate:
            self.max_rate = abandons / answers

    def _sample(self, now: float) -> None:
        self._drain_ledger(now)
        if not self.record:
            return
        seats = self.runner.seats
        if self.logged_in:
            self._bucket_talking += len(seats._talking) / self.logged_in
        self._bucket_lines += self.runner.lines_in_use - len(seats._talking)
        self._bucket_thr += self.runner.last_decision.threshold
        self._bucket_n += 1
        if now + self.sc.decision_interval >= self._bucket_end:
            n = max(1, self._bucket_n)
            s = self.series
            s["t"].append(self._bucket_end)
            s["occupancy"].append(self._bucket_talking / n)
            s["lines"].append(self._bucket_lines / n)
            s["threshold"].append(self._bucket_thr / n)
            s["answers"].append(float(self._bucket_ans))
            s["abandons"].append(float(self._bucket_ab))
            self._bucket_talking = self._bucket_lines = self._bucket_thr = 0.0
            self._bucket_n = self._bucket_ans = self._bucket_ab = 0
            self._bucket_end += self.series_step
