"""The campaign's pacing bounds reach the runner: risk-threshold bounds and forecast horizon."""

from __future__ import annotations

from dialer.config import load_config_text
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
    pacing: {risk_threshold_min: 0.001, risk_threshold_max: 0.02, answer_horizon_s: 20s}
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
