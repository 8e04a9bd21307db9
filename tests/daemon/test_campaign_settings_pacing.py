"""The campaign's pacing bounds reach the runner: risk-threshold bounds, forecast horizon and the
budget guard's allowance for a jump of the hit rate, the ring trim."""

from __future__ import annotations

import pytest

from dialer.config import ConfigError, load_config_text
from dialer.daemon.campaign_settings import runner_config

CONFIG = """
asterisk:
  - {name: a, username: u, secret: s}
seats:
  s1: {endpoint: Local/s1@sim-seats}
caller_id_pools:
  pool: {numbers: ["+12125550100"]}
campaigns:
  bounded:
    seats: [s1]
    caller_id: {pool: pool}
    pacing: {risk_threshold_min: 0.001, risk_threshold_max: 0.02, answer_horizon_s: 20s,
             hit_jump_allowance: 6, trim_ringing: false}
  plain:
    seats: [s1]
    caller_id: {pool: pool}
  long_ring:
    seats: [s1]
    caller_id: {pool: pool}
    min_ring_s: 20
    no_answer_timeout_s: 30
"""


def test_pacing_bounds_are_passed_to_the_runner() -> None:
    config = load_config_text(CONFIG, "campaigns.yaml")
    bounded = runner_config(config.campaigns["bounded"])
    assert (bounded.risk_threshold_min, bounded.risk_threshold_max) == (0.001, 0.02)
    assert bounded.answer_horizon_s == 20.0
    plain = runner_config(config.campaigns["plain"])
    assert (plain.risk_threshold_min, plain.risk_threshold_max) == (0.0, 0.25)  # the defaults
    assert plain.answer_horizon_s == 30.0
    assert (bounded.hit_jump, plain.hit_jump) == (6.0, 2.0)


@pytest.mark.parametrize(
    ("good", "bad", "field"),
    [
        ("hit_jump_allowance: 6", "hit_jump_allowance: 0.5", "hit_jump_allowance"),
        ("trim_ringing: false", "trim_ringing: soon", "trim_ringing"),
    ],
)
def test_a_bad_pacing_setting_is_refused_with_its_place(good: str, bad: str, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(CONFIG.replace(good, bad), "campaigns.yaml")
    (problem,) = caught.value.problems
    assert field in str(problem) and "campaigns.yaml:13" in str(problem)


def test_the_ring_trim_starts_at_the_campaign_minimum_ring_or_is_off() -> None:
    config = load_config_text(CONFIG, "campaigns.yaml")
    assert runner_config(config.campaigns["plain"]).trim_ringing_s == 15.0  # on by default
    assert runner_config(config.campaigns["long_ring"]).trim_ringing_s == 20.0
    assert runner_config(config.campaigns["bounded"]).trim_ringing_s is None
