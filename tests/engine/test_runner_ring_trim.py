"""Hanging up calls that ring on with no seat free for them (the runner's ring trim)."""

from __future__ import annotations

import numpy as np
import pytest

from dialer.engine.calls import CallOutcome, CallState
from dialer.engine.events import (
    AmdResult,
    AmdStatus,
    CallAnswered,
    CallConnected,
    FailReason,
    Hangup,
    OriginateFailed,
)
from dialer.engine.runner import CampaignRunner, RunnerConfig
from pacing.budget import LedgerKind
from pacing.trim import MIN_RING_S, calls_to_trim


def _runner(mode: str = "predictive", **kw) -> CampaignRunner:
    return CampaignRunner(RunnerConfig(campaign="c1", mode=mode, **kw))


def _place(r: CampaignRunner, cid: str, now: float) -> None:
    r.call_placed(cid, 1, "+15550001", "+15550002", now)


def _all_seats_busy(r: CampaignRunner, now: float) -> None:
    """One seat, talking: no seat is free for a late answer."""
    r.seat_login("s1", 0.0)
    _place(r, "talk", 0.0)
    r.on_event(CallAnswered("talk"), 1.0)
    r.on_event(CallConnected("talk", "s1"), 1.1)


def test_the_rule_trims_only_calls_past_the_minimum_ring_and_only_with_no_seat_free() -> None:
    ages = np.array([20.0, 15.0, 14.99, 3.0])
    assert calls_to_trim(ages, 0, 15.0).tolist() == [True, True, False, False]
    assert calls_to_trim(ages, -2, 18.0).tolist() == [True, False, False, False]
    assert not calls_to_trim(ages, 1, 15.0).any()
    with pytest.raises(ValueError, match="at least 15"):
        calls_to_trim(ages, 0, 14.0)


def test_a_late_ringing_call_with_no_seat_free_is_hung_up_as_no_answer() -> None:
    r = _runner()
    _all_seats_busy(r, 1.1)
    r.drain_ledger()
    _place(r, "old", 10.0)
    _place(r, "young", 20.0)
    assert r.trim_ringing(24.9) == []  # "old" has rung 14.9 s: not yet
    assert r.trim_ringing(25.0) == [Hangup("old", "ring-trim")]
    (rec,) = r.drain_records()
    assert rec.call_id == "old" and rec.outcome is CallOutcome.NO_ANSWER
    assert rec.ring_s == pytest.approx(15.0) and rec.ring_s >= MIN_RING_S
    assert r.trimmed == 1 and r.ringing_count == 1
    # its late events change nothing
    assert r.on_event(OriginateFailed("old", FailReason.NO_ANSWER), 30.0) == []
    assert r.drain_records() == [] and r.drain_ledger() == []


def test_nothing_is_trimmed_while_a_seat_is_free() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    _place(r, "old", 0.0)
    assert r.trim_ringing(19.0) == []


def test_a_waiting_live_answer_takes_the_free_seat_first() -> None:
    r = _runner()
    r.seat_login("s1", 0.0)
    r.seat_login("s2", 0.0)
    for cid in ("talk", "wait", "old"):
        _place(r, cid, 0.0)
    r.on_event(CallAnswered("talk"), 1.0)
    r.on_event(CallConnected("talk", "s1"), 1.1)
    r.seats.move("s2", r.seats.get("s2").state.PAUSED, 2.0)  # s2 away: "wait" must wait
    r.on_event(CallAnswered("wait"), 16.0)
    assert r.trim_ringing(16.0) == [Hangup("old", "ring-trim")]


def test_progressive_and_fixed_ratios_never_trim() -> None:
    for mode in ("progressive", "ratio:3"):
        r = _runner(mode)
        _all_seats_busy(r, 1.1)
        _place(r, "old", 2.0)
        assert r.trim_ringing(19.0) == []


def test_trimming_can_be_switched_off_and_never_starts_before_15_s() -> None:
    r = _runner(trim_ringing_s=None)
    _all_seats_busy(r, 1.1)
    _place(r, "old", 2.0)
    assert r.trim_ringing(21.0) == []
    with pytest.raises(ValueError, match="by law"):
        RunnerConfig(trim_ringing_s=10.0)
    late = _runner(trim_ringing_s=18.0)
    _all_seats_busy(late, 1.1)
    _place(late, "old", 2.0)
    assert late.trim_ringing(19.0) == []
    assert late.trim_ringing(20.0) == [Hangup("old", "ring-trim")]


def _hit_after_late_calls(trim: bool) -> tuple[float, float]:
    """Hit rate before and after 200 calls that are still ringing at 15 s, hung up then (trim)
    or left to ring out unanswered."""
    r = _runner(trim_ringing_s=MIN_RING_S if trim else None)
    _all_seats_busy(r, 1.1)
    rates = r.estimators.rates
    for i in range(200):  # a history: one call in four answered live, at 8-20 s
        cid = f"h{i}"
        _place(r, cid, 2.0 + i)
        if i % 4 == 0:
            r.on_event(CallAnswered(cid), 10.0 + i + (i % 12))
            r.on_event(AmdResult(cid, AmdStatus.HUMAN), 10.0 + i + (i % 12))
        else:
            r.on_event(OriginateFailed(cid, FailReason.NO_ANSWER), 22.0 + i)
    r.estimators.model(300.0, np.zeros(1), np.zeros(0))
    before = rates.human
    for i in range(200):
        cid = f"t{i}"
        _place(r, cid, 400.0 + i)
        if trim:
            assert r.trim_ringing(415.0 + i) == [Hangup(cid, "ring-trim")]
        else:
            r.on_event(OriginateFailed(cid, FailReason.NO_ANSWER), 422.0 + i)
    return before, rates.human


def test_a_trimmed_call_counts_for_the_hit_rate_as_its_odds_of_an_answer() -> None:
    """Hanging up unanswered calls must not read as a falling hit rate (the policy would
    over-dial): each counts as the chance it still had of a live answer."""
    before, trimmed = _hit_after_late_calls(trim=True)
    _, rang_out = _hit_after_late_calls(trim=False)
    assert rang_out < trimmed < before
    # a call alive at 15 s had a real chance left (answers here run to 21 s)
    assert trimmed - rang_out > 0.01


def test_a_trimmed_call_is_censored_in_the_failure_delays_at_its_age() -> None:
    """Its delay is not known, only that it rang 15 s: left out, the failure delays seen were
    the busy signals alone, and calls in flight looked likelier to answer than they were."""
    r = _runner()
    _all_seats_busy(r, 1.1)
    _place(r, "old", 10.0)
    assert r.trim_ringing(25.0) == [Hangup("old", "ring-trim")]
    ((age, weight, _),) = r.estimators.fail_delay._cut
    assert age == pytest.approx(15.0) and 0.5 < weight < 1.0


def test_ring_delays_are_learnt_in_placement_order() -> None:
    """A burst of dials brings its busy signals back in 4 s and its ring-outs in 20: learnt as
    they came, a 250-seat campaign's last 300 failures were all of one kind or the other, and
    the failure-delay survival at 15 s swung between 0 and 1 from one moment to the next."""
    r = _runner(trim_ringing_s=None)
    r.seat_login("s1", 0.0)
    for i in range(4):
        _place(r, f"c{i}", 0.0)
    r.on_event(OriginateFailed("c1", FailReason.BUSY), 4.0)
    r.on_event(OriginateFailed("c3", FailReason.BUSY), 4.0)
    assert r.estimators.fail_delay.count == 0  # c0, placed first, is still ringing
    r.on_event(OriginateFailed("c0", FailReason.NO_ANSWER), 20.0)
    assert r.estimators.fail_delay.count == 2  # c0 and c1; c3 waits for c2
    r.on_event(CallAnswered("c2"), 12.0)
    r.on_event(AmdResult("c2", AmdStatus.HUMAN), 12.0)
    assert r.estimators.fail_delay.count == 3 and r.estimators.answer_delay.count == 1
    assert list(r.estimators.fail_delay._samples) == [20.0, 4.0, 4.0]


def test_an_answer_that_crossed_the_hang_up_counts_as_an_abandon() -> None:
    r = _runner()
    _all_seats_busy(r, 1.1)
    r.drain_ledger()
    _place(r, "old", 2.0)
    assert r.trim_ringing(17.0) == [Hangup("old", "ring-trim")]
    assert r.on_event(CallAnswered("old"), 17.05) == [Hangup("old", "ring-trim")]
    assert [e.kind for e in r.drain_ledger()] == [LedgerKind.LIVE_ANSWER, LedgerKind.ABANDON]
    assert r.trim_races == 1
    assert r.on_event(AmdResult("old", AmdStatus.HUMAN), 17.5) == []  # counted once
    assert r.drain_ledger() == []
    assert r.calls.get("old") is None or r.calls["old"].state is CallState.NO_ANSWER


def test_the_minimum_ring_counts_from_when_the_phone_began_ringing() -> None:
    """Set-up time before the far end alerts is not ringing: a call reported ringing 3 s after
    it was placed is kept until it has rung 15 s from then."""
    from dialer.engine.events import CallRinging

    r = _runner()
    _all_seats_busy(r, 1.1)
    _place(r, "slow", 10.0)
    r.on_event(CallRinging("slow"), 13.0)
    _place(r, "quick", 10.5)
    r.on_event(CallRinging("quick"), 10.6)
    assert r.trim_ringing(25.7) == [Hangup("quick", "ring-trim")]
    assert r.trim_ringing(27.9) == []
    assert r.trim_ringing(28.0) == [Hangup("slow", "ring-trim")]
