"""The forecast-oracle analysis tool: it reads the simulator's truth, and leaves nothing patched."""

from __future__ import annotations

import dataclasses

import pytest

import dialer.engine.runner as runner_module
import pacing.policies as policies_module
from pacing.model import PacingModel
from simulations import simulator as S
from simulations.benchmarks import forecast_oracle as fo
from simulations.scenario import load_scenario


def _scenario(minutes: float = 20.0) -> S.Scenario:
    sc = load_scenario("simulations/scenarios/base-25.yaml")
    return dataclasses.replace(sc, duration=minutes * 60.0)


def test_the_truth_it_reads_from_the_simulator() -> None:
    sim = S._Sim(_scenario(), 1, "predictive", 60.0, False)
    sim.heap = [
        (105.0, 1, S._TALK_END, ("c1", "s1")),  # talk ends in 5 s, then the 5-s wrap-up
        (103.0, 2, S._WRAP_END, ("s2", 99.0)),  # wrap-up ends in 3 s
        (110.0, 3, S._ANSWER, ("c3", True)),  # a person answers in 10 s
        (111.0, 4, S._ANSWER, ("c4", False)),  # a machine: not a live answer
        (112.0, 5, S._ANSWER, ("c5", True)),  # hung up while ringing: its answer never comes
    ]
    sim.hung_up = {"c5"}
    assert fo._ready_in(sim, 100.0).tolist() == [10.0, 3.0]
    assert fo._live_in(sim, 100.0).tolist() == [10.0]


def test_without_an_oracle_it_is_the_product_and_afterwards_nothing_stays_patched() -> None:
    originals = (runner_module.seat_free_forecast, policies_module.seat_free_forecast,
                 PacingModel.moments, PacingModel.live_answer_by)  # fmt: skip
    sc = _scenario()
    plain = S.simulate(sc, 3, "predictive", record_series=False)
    assert fo.run(sc, 3, "none").dials == plain.dials
    told = fo.run(sc, 3, "talk+inflight")
    assert told.dials != plain.dials  # (the forecasts it reads did change)
    assert told.max_abandon_rate <= 0.03
    after = (runner_module.seat_free_forecast, policies_module.seat_free_forecast,
             PacingModel.moments, PacingModel.live_answer_by)  # fmt: skip
    assert after == originals
    assert S.simulate(sc, 3, "predictive", record_series=False).dials == plain.dials


def test_an_unknown_oracle_is_refused() -> None:
    sim = S._Sim(_scenario(1.0), 1, "predictive", 60.0, False)
    with (
        pytest.raises(ValueError, match="oracle must be one of"),
        fo.oracle_forecasts(sim, "everything"),
    ):
        pass
