"""The dial-failure breaker: a network that fails every call stops the dialling, not the list.

The breaker alone (trip rule, cool-down, probes) and inside the campaign runner, driven by the
runner's own events: a trunk outage on a predictive and on a progressive campaign, a list that is
merely busy or unanswered, and the hit rate kept clean of network failures.
"""

from __future__ import annotations

import itertools

import pytest

from dialer.engine.dial_breaker import (
    BreakerConfig,
    BreakerState,
    DialFailureBreaker,
    is_network_failure,
)
from dialer.engine.events import (
    LOST_TRACK,
    NOT_SENT,
    CallAnswered,
    FailReason,
    OriginateFailed,
)
from dialer.engine.runner import CampaignRunner, RunnerConfig
from pacing.model import Priors

_ids = (f"c{i}" for i in itertools.count())


def _dial(b: DialFailureBreaker, now: float, failed: bool) -> str:
    cid = next(_ids)
    b.placed(cid, now)
    b.observe(cid, now, failed)
    return cid


def test_failures_classified_by_who_caused_them() -> None:
    assert is_network_failure(FailReason.CONGESTION, 34)
    assert is_network_failure(FailReason.FAILED, 0)  # refused, no line free, vanished
    assert is_network_failure(FailReason.FAILED, 38)  # network out of order
    assert not is_network_failure(FailReason.FAILED, 21)  # the called party rejected it
    for reason in (FailReason.BUSY, FailReason.NO_ANSWER, FailReason.INVALID_NUMBER):
        assert not is_network_failure(reason, 0)


def test_trips_on_enough_failures_that_are_most_of_the_dials() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=10, failure_share=0.5))
    for i in range(9):
        _dial(b, i * 0.1, True)
    assert b.state is BreakerState.CLOSED and b.room(1.0) is None  # 9 < 10
    _dial(b, 1.0, True)
    assert b.state is BreakerState.OPEN and b.trips == 1
    assert b.room(1.1) == 0 and b.holding(1.1)


def test_does_not_trip_while_most_dials_get_through() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=10, failure_share=0.5))
    for i in range(300):  # 40 % congestion: a sick trunk, not a dead one
        _dial(b, i * 0.1, i % 5 < 2)
    assert b.state is BreakerState.CLOSED and b.trips == 0


def test_old_failures_leave_the_window() -> None:
    b = DialFailureBreaker(BreakerConfig(window_s=30.0, min_failures=10))
    for i in range(9):
        _dial(b, i, True)
    _dial(b, 45.0, True)  # the nine are more than 30 s old by then
    assert b.state is BreakerState.CLOSED


def test_probes_after_the_cooldown_close_it_when_one_gets_through() -> None:
    cfg = BreakerConfig(min_failures=3, cooldown_s=30.0, probes=2)
    b = DialFailureBreaker(cfg)
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.room(29.9) == 0
    assert b.room(30.0) == 2 and b.state is BreakerState.PROBING
    first = next(_ids)
    b.placed(first, 30.0)
    assert b.room(30.0) == 1  # one probe left to place
    b.observe(first, 36.0, network_failure=False)  # it was answered
    assert b.state is BreakerState.CLOSED and b.room(31.0) is None


def test_failed_probes_reopen_it_for_twice_as_long_up_to_the_maximum() -> None:
    cfg = BreakerConfig(min_failures=3, cooldown_s=30.0, max_cooldown_s=100.0, probes=2)
    b = DialFailureBreaker(cfg)
    for _ in range(3):
        _dial(b, 0.0, True)
    now = 30.0
    for cooldown in (60.0, 100.0, 100.0):
        assert b.room(now) == 2
        _dial(b, now, True)
        _dial(b, now, True)  # both probes failed: open again
        assert b.state is BreakerState.OPEN
        assert b.room(now + cooldown - 0.1) == 0
        now += cooldown
    assert b.trips == 1  # re-openings after failed probes are not new trips


def test_outcomes_of_calls_placed_before_it_opened_do_not_close_it() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=3, cooldown_s=30.0, probes=1))
    early = next(_ids)
    b.placed(early, 0.0)
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.room(31.0) == 1  # probing
    b.observe(early, 31.0, network_failure=False)  # rang out only now: says nothing
    assert b.state is BreakerState.PROBING


def test_a_probe_that_ends_without_a_sign_makes_room_for_another() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=3, cooldown_s=30.0, probes=1))
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.room(30.0) == 1
    probe = next(_ids)
    b.placed(probe, 30.0)
    assert b.room(30.0) == 0
    b.forget(probe)
    assert b.room(30.1) == 1


def test_a_call_is_judged_once() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=2))
    cid = next(_ids)
    b.placed(cid, 0.0)
    for _ in range(5):
        b.observe(cid, 0.1, network_failure=True)
    assert b.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    "field, value",
    [("window_s", 0.0), ("min_failures", 0), ("failure_share", 0.0), ("failure_share", 1.5),
     ("cooldown_s", 0.0), ("max_cooldown_s", 10.0), ("probes", 0)],
)  # fmt: skip
def test_bad_settings_are_refused_by_name(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        BreakerConfig(**{field: value})


# ------------------------------------------------------------------ inside the runner


def _runner(mode: str, seats: int = 5) -> CampaignRunner:
    priors = Priors(hit=0.2, machine=0.0, strength=200.0)
    r = CampaignRunner(RunnerConfig(mode=mode, priors=priors))
    for i in range(seats):
        r.seat_login(f"s{i}", 0.0)
    return r


def _outage(r: CampaignRunner, seconds: float, reason: FailReason, cause: int) -> int:
    """Every call fails 50 ms after it is placed; one decision a second. Returns the dials."""
    dials, now = 0, 0.0
    while now < seconds:
        for _ in range(r.dial_demand(now)):
            cid = f"o{dials}"
            dials += 1
            r.call_placed(cid, None, "+12125550100", "+12125550199", now)
            r.on_event(OriginateFailed(cid, reason, cause), now + 0.05)
        now += 1.0
    return dials


@pytest.mark.parametrize("mode", ["predictive", "progressive"])
def test_a_dead_trunk_costs_a_handful_of_dials_not_the_list(mode: str) -> None:
    r = _runner(mode)
    dials = _outage(r, 600.0, FailReason.CONGESTION, 34)
    # Ten minutes of a 5-seat campaign on a trunk that fails every call in 50 ms: without the
    # breaker one call per idle seat per second (3,000 dials), more in predictive mode. With it:
    # the failures that trip it (10, plus a decision's worth), then two probes per cool-down of
    # 30, 60, 120, 240 s.
    assert r.dial_breaker.trips == 1
    assert dials <= 10 + 5 + 2 * 5, dials
    assert r.dial_breaker.holding(600.0)
    assert r.last_decision.policy == "dial-failure breaker"


def test_the_trunk_back_dialling_resumes() -> None:
    r = _runner("progressive")
    _outage(r, 20.0, FailReason.FAILED, 0)
    assert r.dial_breaker.state is BreakerState.OPEN
    now = 60.0
    n = r.dial_demand(now)
    assert n == 2  # the probes
    r.call_placed("p1", None, "+12125550100", "+12125550199", now)
    r.on_event(CallAnswered("p1"), now + 6.0)  # the network carries calls again
    assert r.dial_breaker.state is BreakerState.CLOSED
    assert r.dial_demand(now + 6.0) >= 3  # the other idle seats get their lines


def test_a_busy_or_unanswered_list_never_trips_it() -> None:
    r = _runner("progressive")
    now = 0.0
    for k in range(200):
        for _ in range(r.dial_demand(now)):
            cid = f"b{k}-{now}"
            r.call_placed(cid, None, "+12125550100", "+12125550199", now)
            reason = FailReason.BUSY if k % 2 else FailReason.INVALID_NUMBER
            r.on_event(OriginateFailed(cid, reason, 17 if k % 2 else 1), now + 0.05)
        now += 1.0
    assert r.dial_breaker.trips == 0 and not r.dial_breaker.holding(1e9)


def test_network_failures_do_not_count_as_dials_in_the_hit_rate() -> None:
    r = _runner("predictive")
    rates = r.estimators.rates
    before = (rates.observations, rates.human)
    for i in range(8):  # under the trip level
        cid = f"f{i}"
        r.call_placed(cid, None, "+12125550100", "+12125550199", 0.0)
        r.on_event(OriginateFailed(cid, FailReason.CONGESTION, 34), 0.05)
    assert (rates.observations, rates.human) == before
    r.call_placed("n1", None, "+12125550100", "+12125550199", 1.0)
    r.on_event(OriginateFailed("n1", FailReason.NO_ANSWER, 19), 21.0)
    r.call_placed("a1", None, "+12125550100", "+12125550199", 1.0)
    r.on_event(CallAnswered("a1"), 9.0)
    assert rates.observations == before[0] + 2  # the no-answer and the answer, not the 8


@pytest.mark.parametrize("detail", [LOST_TRACK, f"{NOT_SENT} (server 'a')"])
def test_calls_lost_or_never_sent_for_the_ami_link_neither_trip_it_nor_count_as_dials(
    detail: str,
) -> None:
    # The AMI connection came back and these calls' channels were gone, or it was down when
    # they were to be sent: nothing is known of the trunk (the AMI alerts cover the link).
    r = _runner("progressive")
    rates = r.estimators.rates
    before = rates.observations
    for i in range(30):
        cid = f"v{i}"
        r.call_placed(cid, None, "+12125550100", "+12125550199", 0.0)
        r.on_event(OriginateFailed(cid, FailReason.FAILED, 0, detail), 1.0)
    assert r.dial_breaker.trips == 0
    assert rates.observations == before


def test_a_disabled_breaker_never_holds_the_dialling_back() -> None:
    priors = Priors(hit=0.2, machine=0.0, strength=200.0)
    off = BreakerConfig(enabled=False)
    r = CampaignRunner(RunnerConfig(mode="progressive", priors=priors, dial_breaker=off))
    for i in range(5):
        r.seat_login(f"s{i}", 0.0)
    assert _outage(r, 60.0, FailReason.CONGESTION, 34) == 300  # a call per idle seat per second
    assert r.dial_breaker.trips == 0 and not r.dial_breaker.holding(1e9)


def test_switched_off_by_a_reload_it_lets_the_dialling_go_at_once() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=3))
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.room(1.0) == 0
    b.reconfigure(BreakerConfig(enabled=False))
    assert b.room(1.0) is None and not b.holding(1.0)
    b.reconfigure(BreakerConfig(min_failures=3))  # and back on: it starts afresh
    for _ in range(2):
        _dial(b, 2.0, True)
    assert b.room(2.0) is None
    _dial(b, 2.0, True)
    assert b.room(2.0) == 0


def test_fewer_probes_after_a_reload_than_have_failed_reopens_it() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=3, cooldown_s=30.0, probes=2))
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.room(30.0) == 2
    _dial(b, 30.0, True)  # one probe failed, one to go
    b.reconfigure(BreakerConfig(min_failures=3, cooldown_s=30.0, probes=1))
    assert b.room(30.0) == 0 and b.state is BreakerState.OPEN  # not stuck probing
    assert b.room(90.0) == 1  # the doubled cool-down, then a probe


def test_an_open_breaker_nobody_asks_holds_nothing_back_after_its_cooldown() -> None:
    b = DialFailureBreaker(BreakerConfig(min_failures=3, cooldown_s=30.0))
    for _ in range(3):
        _dial(b, 0.0, True)
    assert b.holding(29.0) and not b.holding(31.0)  # (a paused campaign: no dial step asks)


def test_calls_an_agent_places_in_preview_mode_are_not_judged() -> None:
    r = _runner("progressive", seats=1)
    for i in range(20):
        r.call_placed_for_seat(f"pv{i}", None, "+12125550100", "+12125550199", "s0", 0.0)
        r.on_event(OriginateFailed(f"pv{i}", FailReason.CONGESTION, 34), 0.05)
    assert r.dial_breaker.trips == 0 and not r.dial_breaker.holding(1.0)


def test_a_congestion_hangup_while_ringing_counts_as_a_network_failure() -> None:
    assert is_network_failure(FailReason.FAILED, 34)
    assert not is_network_failure(FailReason.FAILED, 27)  # (some carriers: per number)
