"""The VICIdial-style adaptive baseline: its line count, how its level adapts, its drop rules.

The benchmark compares predictive pacing against this policy, so it has to behave as VICIdial's
ADAPT_HARD_LIMIT / ADAPT_AVERAGE do (AST_VDauto_dial / AST_VDadapt with their defaults), not as
a strawman: these tests pin that behaviour.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pacing.policies import AdaptivePolicy, PacingSnapshot, make_policy
from simulations.benchmarks.pacing_family import family_scenario
from simulations.simulator import simulate


def _snap(idle: int, talking: int, ringing: int = 0, waiting: int = 0, wrapup: int = 0,
          answers: int = 0, abandons: int = 0) -> PacingSnapshot:  # fmt: skip
    return PacingSnapshot(
        idle_seats=idle,
        talk_elapsed=np.full(talking, 60.0),
        wrapup_elapsed=np.full(wrapup, 1.0),
        ring_ages=np.full(ringing, 3.0),
        waiting_answers=waiting,
        live_answers=answers,
        abandons=abandons,
        abandon_cap=0.03,
    )


def _run(p: AdaptivePolicy, snap: PacingSnapshot, start: float, seconds: int) -> float:
    for t in range(seconds):
        p.decide(snap, start + t)
    return p.level


def test_lines_are_the_level_times_ready_and_talking_seats_less_the_lines_in_use() -> None:
    p = AdaptivePolicy()
    assert p.decide(_snap(idle=4, talking=6, ringing=1), 0).calls == 3  # level 1: progressive
    p.level = 2.0
    # round(2 x (4 + 6)) = 20 lines, 6 talking and 3 ringing: 11 more
    assert p.decide(_snap(idle=4, talking=6, ringing=3), 0).calls == 11
    # seats in wrap-up do not count (VICIdial's agents whose call is gone)
    assert p.decide(_snap(idle=4, talking=6, ringing=3, wrapup=5), 0).calls == 11
    assert p.decide(_snap(idle=0, talking=6, ringing=6, waiting=1), 0).calls == 0


def test_the_level_rises_while_seats_wait_and_falls_while_answers_wait() -> None:
    p = AdaptivePolicy()
    up = _run(p, _snap(idle=5, talking=20), 0, 31)
    # two updates (15 s, 30 s), each x (1 + 5/25)
    assert up == pytest.approx(1.44, abs=1e-3)
    down = _run(p, _snap(idle=0, talking=25, waiting=5), 31, 15)
    # one update at 45 s over the last 15 s (one sample of it still from before): ~ x (1 - 5/25)
    assert 1.44 * 0.78 < down < 1.44 * 0.85
    assert _run(p, _snap(idle=25, talking=0), 46, 600) == 3.0  # the maximum level
    assert _run(p, _snap(idle=0, talking=20, waiting=20), 646, 600) == 1.0  # and the floor


def test_hard_limit_drops_to_one_over_the_cap_and_average_halves() -> None:
    for mode, expected in (("adaptive", 1.0), ("adaptive:average", 1.1)):
        p = make_policy(mode)
        assert isinstance(p, AdaptivePolicy)
        p.level = 2.2
        # as many seats waiting as answers (the level would stay), 25 lines asked each second
        # (more than 50 dials), and 4 % abandons: over the cap
        _run(p, _snap(idle=1, talking=20, waiting=1, answers=100, abandons=4), 0, 16)
        assert p.level == pytest.approx(expected)
    q = AdaptivePolicy()
    q.level = 2.2
    _run(q, _snap(idle=1, talking=20, waiting=1, answers=100, abandons=2), 0, 16)
    assert q.level == pytest.approx(2.2)  # under the cap: unchanged


def test_a_minute_of_mostly_abandoned_dials_halves_the_level() -> None:
    p = AdaptivePolicy()
    p.level = 3.0
    p.decide(_snap(idle=10, talking=0, answers=1000, abandons=0), 0)  # 30 dials
    p.decide(_snap(idle=0, talking=10, waiting=0, answers=1020, abandons=20), 15.0)
    assert p.level == pytest.approx(1.5)


def test_unknown_adaptive_method_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="adaptive or adaptive:average"):
        make_policy("adaptive:tapered")


def test_in_the_simulator_it_sits_between_progressive_and_predictive() -> None:
    sc = dataclasses.replace(family_scenario(25, 0.25, 150, False, 3600.0), name="adaptive-25")
    occ = {m: simulate(sc, 1, m, record_series=False) for m in ("progressive", "adaptive",
                                                                 "predictive")}  # fmt: skip
    assert occ["adaptive"].talk_occupancy > occ["progressive"].talk_occupancy + 0.01
    assert occ["predictive"].talk_occupancy > occ["adaptive"].talk_occupancy + 0.05
    assert occ["adaptive"].abandoned > 0  # it over-dials, then reacts
    again = simulate(sc, 1, "adaptive", record_series=False)
    assert again.talk_occupancy == occ["adaptive"].talk_occupancy  # deterministic
