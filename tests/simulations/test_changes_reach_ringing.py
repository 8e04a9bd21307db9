"""Regime changes that reach the calls still ringing (``changes_reach_ringing``)."""

from __future__ import annotations

import math

import pytest

from simulations.scenario import ScenarioError, parse_scenario
from simulations.simulator import simulate


def _scenario(**kw) -> dict:
    raw = {
        "name": "reach",
        "seed": 1,
        "duration": 100,
        "seats": 10,
        "talk": {"dist": "constant", "value": 60},
        "wrapup": {"dist": "constant", "value": 2},
        "outcomes": {"human": 0.0, "busy": 0.3},
        "answer_delay": {"dist": "constant", "value": 10},
        "busy_delay": 4,
        "no_answer_timeout": 60,
        "changes": [
            {
                "at": 62,
                "outcomes": {"human": 0.5, "busy": 0.0},
                "answer_delay": {"dist": "constant", "value": 30},
            }
        ],
        "campaign": {"mode": "progressive"},
    }
    raw.update(kw)
    return raw


def _answers_by(raw: dict, t: float) -> float:
    r = simulate(parse_scenario(raw), 1, series_step=1)
    return sum(a for at, a in zip(r.series["t"], r.series["answers"], strict=True) if at <= t)


def test_by_default_a_change_reaches_only_the_calls_placed_after_it() -> None:
    # Nobody answers before 62 s; from then on every answer takes 30 s: none before 92 s.
    assert _answers_by(_scenario(), 91) == 0
    assert _answers_by(_scenario(), 100) > 0


def test_a_change_that_reaches_ringing_calls_gets_them_answered_sooner() -> None:
    # The calls ringing at 62 s for under 30 s are answered 30 s after they were placed,
    # before any call placed after the change could be; at 10 seats, at most ten of them.
    early = _answers_by(_scenario(changes_reach_ringing=True), 91)
    assert 0 < early <= 10


def test_redrawn_fates_keep_the_law_they_are_drawn_from() -> None:
    """A change every 7 s to the same regime redraws every ringing call two or three times;
    drawn given its ring age, each call's chance of a live answer within the ring timeout is
    still hit x P(delay <= timeout). (Drawn afresh without that condition, a call would get a
    new chance at every change, and the share would climb toward 0.6.)"""
    hit, mean, sd, timeout = 0.3, 12.0, 6.0, 20.0
    same = {"outcomes": {"human": hit, "busy": 0.2}}
    raw = _scenario(
        duration="40m",
        seats=40,
        talk={"dist": "constant", "value": 20},
        outcomes={"human": hit, "busy": 0.2},
        answer_delay={"dist": "lognormal", "mean": mean, "sd": sd},
        no_answer_timeout=timeout,
        changes=[{"at": 7 * i, **same} for i in range(1, 2400 // 7)],
        changes_reach_ringing=True,
    )
    r = simulate(parse_scenario(raw), 3, record_series=False)
    s2 = math.log(1.0 + (sd / mean) ** 2)
    z = (math.log(timeout) - (math.log(mean) - s2 / 2.0)) / math.sqrt(s2)
    expected = hit * 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    share = r.live_answers / r.dials
    assert r.dials > 3000
    assert abs(share - expected) < 4.0 * math.sqrt(expected * (1 - expected) / r.dials)


def test_the_key_must_be_true_or_false() -> None:
    with pytest.raises(ScenarioError, match="changes_reach_ringing: expected true or false"):
        parse_scenario(_scenario(changes_reach_ringing="yes"), "s.yaml")
