"""A team that shrinks without telling the dialler beforehand (``team_changes_unannounced``)."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.engine.seats import SeatState
from simulations.scenario import ScenarioError, parse_scenario
from simulations.simulator import SimResult, _Sim


def _scenario(**kw: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "shrink",
        "seed": 1,
        "duration": 3600,
        "seats": 25,
        "talk": {"dist": "lognormal", "mean": 150, "sd": 120},
        "wrapup": {"dist": "constant", "value": 5},
        "outcomes": {"human": 0.25, "machine": 0.0, "busy": 0.2},
        "answer_delay": {"dist": "lognormal", "mean": 12, "sd": 6},
        "busy_delay": 4,
        "no_answer_timeout": 20,
        "connect_window": 2,
        "changes": [{"at": 1800, "seats": 5}],
        "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "24h"},
    }
    raw.update(kw)
    return raw


def _run(raw: dict[str, Any], seed: int = 1) -> tuple[_Sim, SimResult]:
    sim = _Sim(parse_scenario(raw, "shrink"), seed, None, 60.0, False)
    return sim, sim.run()


def _logged_in(sim: _Sim) -> int:
    return sum(
        1 for s in sim.seat_names if sim.runner.seats.get(s).state is not SeatState.LOGGED_OUT
    )


def _at_the_shrink(raw: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the simulator and the runner know just after the team changed at 1,800 s."""
    seen: dict[str, Any] = {}
    set_seats = _Sim._set_seats

    def spy(sim: _Sim, target: int, now: float) -> None:
        set_seats(sim, target, now)
        if now == 1800:
            seen["going"] = set(sim.leaving)
            seen["runner_told"] = sim.runner.seats.leaving_count
            seen["logged_in"] = _logged_in(sim)
            seen["going_ready"] = [
                s for s in sim.leaving if sim.runner.seats.get(s).state is SeatState.READY
            ]

    monkeypatch.setattr(_Sim, "_set_seats", spy)
    seen["after"], _ = _run(raw)
    return seen


def test_by_default_the_leaving_agents_tell_the_dialler_as_the_team_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _at_the_shrink(_scenario(), monkeypatch)
    # the busy seats are still on their calls, and the runner knows they go after them
    assert seen["runner_told"] >= len(seen["going"]) - len(seen["going_ready"]) > 0
    assert seen["logged_in"] == 5 + len(seen["going"])


def test_unannounced_the_dialler_learns_of_each_agent_only_as_they_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _at_the_shrink(_scenario(team_changes_unannounced=True), monkeypatch)
    # the busy ones are going, and the runner still counts on them coming back
    assert seen["going"] and seen["runner_told"] == 0
    assert seen["logged_in"] == 5 + len(seen["going"])
    # the ready ones went at once, calls out for them or not
    assert not seen["going_ready"]
    # each of the others went at the end of its wrap-up
    after = seen["after"]
    assert not after.leaving and _logged_in(after) == 5


@pytest.mark.parametrize("seed", [1, 2])
def test_the_cap_holds_when_two_thirds_of_a_team_leave_unannounced(seed: int) -> None:
    raw = _scenario(
        changes=[{"at": 1200, "seats": 8}, {"at": 2400, "seats": 25}],
        team_changes_unannounced=True,
    )
    _, result = _run(raw, seed)
    assert result.live_answers > 300
    assert result.max_abandon_rate <= 0.03


def test_a_bad_value_is_refused_by_name() -> None:
    with pytest.raises(ScenarioError, match="team_changes_unannounced"):
        parse_scenario(_scenario(team_changes_unannounced="yes"), "shrink")
