"""The thin-budget mode: careful over-dialling while the abandon budget allows no abandon."""

from __future__ import annotations

import dataclasses

from dialer.engine.runner import CampaignRunner, RunnerConfig
from pacing.model import Priors
from simulations.benchmarks.pacing_family import family_scenario
from simulations.simulator import _Sim


def _runner(hit: float, seats: int = 10) -> CampaignRunner:
    # a hit rate the campaign is sure of (as after thousands of dials), and no budget yet
    priors = Priors(hit=hit, machine=0.0, strength=5000.0)
    r = CampaignRunner(RunnerConfig(mode="predictive", priors=priors))
    for i in range(seats):
        r.seat_login(f"s{i}", 0.0)
    return r


def test_a_low_hit_rate_campaign_dials_ahead_of_its_idle_seats_without_budget() -> None:
    r = _runner(0.05)
    calls = r.dial_demand(0.0)
    assert r.controller.allowed_abandons(0.0) == 0
    assert calls > 10  # more lines than idle seats: few of them will answer
    assert 0.0 < r.thin_risk_spent <= CampaignRunner.THIN_RISK_TOTAL
    assert r.last_decision.risk_last <= r.last_decision.threshold


def test_a_high_hit_rate_campaign_stays_close_to_one_line_per_seat() -> None:
    low, high = _runner(0.05), _runner(0.9)
    assert high.dial_demand(0.0) < low.dial_demand(0.0)
    assert high.dial_demand(0.0) == 0  # (the first decision's lines are in flight)


def test_once_the_risk_allowance_is_spent_it_is_plain_progressive() -> None:
    r = _runner(0.05)
    r.thin_risk_spent = CampaignRunner.THIN_RISK_TOTAL
    assert r.dial_demand(0.0) == 10


def test_over_a_run_the_allowance_is_never_overspent() -> None:
    sc = family_scenario(5, 0.05, 300, False, 3600.0)
    sim = _Sim(dataclasses.replace(sc, name="thin"), 3, None, 60.0, False)
    result = sim.run()
    assert 0.0 < sim.runner.thin_risk_spent <= CampaignRunner.THIN_RISK_TOTAL + 1e-12
    assert result.max_abandon_rate <= 0.03
