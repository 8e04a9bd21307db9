"""The campaign's pacing bounds reach the runner: risk-threshold bounds, forecast horizon and the
budget guard's allowance for a jump of the hit rate."""

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
             hit_jump_allowance: 6}
  plain:
    seats: [s1]
    caller_id: {pool: pool}
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


def test_a_hit_jump_allowance_below_one_is_refused_with_its_place() -> None:
    bad = CONFIG.replace("hit_jump_allowance: 6", "hit_jump_allowance: 0.5")
    with pytest.raises(ConfigError) as caught:
        load_config_text(bad, "campaigns.yaml")
    (problem,) = caught.value.problems
    assert "hit_jump_allowance" in str(problem) and "campaigns.yaml:13" in str(problem)
