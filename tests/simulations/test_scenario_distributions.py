"""Scenario distributions beyond the parametric four: mixtures and recorded durations."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from simulations.scenario import Dist, ScenarioError, load_scenario, parse_scenario
from simulations.simulator import simulate

BIMODAL = {
    "dist": "mixture",
    "parts": [
        {"weight": 3, "dist": "lognormal", "mean": 20, "sd": 10},
        {"weight": 1, "dist": "gamma", "mean": 300, "sd": 200},
    ],
}


def _scenario(**kw) -> dict:
    raw = {
        "name": "shapes",
        "seed": 2,
        "duration": "40m",
        "seats": 12,
        "talk": copy.deepcopy(BIMODAL),
        "wrapup": {"dist": "constant", "value": 4},
        "outcomes": {"human": 0.3, "busy": 0.2},
        "answer_delay": {"dist": "lognormal", "mean": 10, "sd": 5},
        "campaign": {"mode": "predictive", "abandon_cap": 0.03},
    }
    raw.update(kw)
    return raw


def test_a_mixture_has_its_parts_moments_and_draws_them() -> None:
    d = Dist.parse(BIMODAL, "talk")
    assert [w for w, _ in d.parts] == [0.75, 0.25]  # weights are shares of their sum
    mean = 0.75 * 20 + 0.25 * 300
    second = 0.75 * (10**2 + 20**2) + 0.25 * (200**2 + 300**2)
    assert d.mean == pytest.approx(mean)
    assert d.sd == pytest.approx((second - mean**2) ** 0.5)
    x = d.sample(np.random.default_rng(5), 200_000)
    assert x.mean() == pytest.approx(mean, rel=0.02)
    assert x.std() == pytest.approx(d.sd, rel=0.03)
    # Two populations: a quarter of the draws are the long conversations.
    assert (x > 100).mean() == pytest.approx(0.25 * 0.93, abs=0.02)


def test_recorded_durations_are_drawn_as_recorded() -> None:
    d = Dist.parse({"dist": "empirical", "values": [12, "30s", 45.5]}, "talk")
    assert d.values == (12.0, 30.0, 45.5)
    assert d.mean == pytest.approx(29.1666, rel=1e-4)
    x = d.sample(np.random.default_rng(1), 30_000)
    assert set(np.unique(x)) == {12.0, 30.0, 45.5}
    assert x.mean() == pytest.approx(d.mean, rel=0.02)


def test_a_history_file_is_read_beside_the_scenario(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "talk.csv").write_text(
        "talk_s,seat\n15,s1\n\n240,s2\n# note\n61.5,s1\n"
    )
    raw = _scenario(talk={"dist": "empirical", "file": "history/talk.csv"})
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(raw))
    sc = load_scenario(path)
    assert sc.regime.talk.values == (15.0, 240.0, 61.5)
    # The file's content is part of the scenario's identity, not only its name.
    before = sc.digest()
    (tmp_path / "history" / "talk.csv").write_text("talk_s\n15\n240\n62\n")
    assert load_scenario(path).digest() != before
    # Overrides keep reading files from the scenario's folder.
    assert sc.with_overrides(seats=3).regime.talk.values == (15.0, 240.0, 62.0)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("talk_s\n15\nforty\n", "talk.csv:3: expected a duration in seconds, got 'forty'"),
        ("15\n-4\n", "talk.csv:2: a duration must be >= 0"),
        ("talk_s\n\n", "holds no durations"),
    ],
)
def test_a_bad_history_file_names_the_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "talk.csv").write_text(content)
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_scenario(_scenario(talk={"dist": "empirical", "file": "talk.csv"}), "x", tmp_path)


@pytest.mark.parametrize(
    ("talk", "message"),
    [
        ({"dist": "mixture"}, "talk.parts: expected a list"),
        ({"dist": "mixture", "parts": [{"dist": "constant", "value": 3}]}, "talk.parts[0]: "),
        (
            {"dist": "mixture", "parts": [{"weight": 0, "dist": "constant", "value": 3}]},
            "talk.parts[0].weight: expected a number > 0",
        ),
        (
            {"dist": "mixture", "parts": [{"weight": 1, "dist": "lognormal", "mean": 3}]},
            "talk.parts[0]: lognormal needs mean > 0 and sd > 0",
        ),
        ({"dist": "mixture", "parts": [{"weight": 1, **BIMODAL}]}, "cannot be mixtures"),
        ({"dist": "mixture", "mean": 3, "parts": []}, "unknown keys ['mean']"),
        ({"dist": "empirical"}, "either 'values'"),
        ({"dist": "empirical", "values": [1], "file": "a.csv"}, "either 'values'"),
        ({"dist": "empirical", "values": []}, "talk.values: expected a non-empty list"),
        ({"dist": "empirical", "values": [3, "soon"]}, "talk.values[1]: expected a duration"),
        ({"dist": "empirical", "file": "nowhere.csv"}, "talk.file: cannot read"),
    ],
)
def test_bad_distributions_name_the_field(talk: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_scenario(talk=talk), "bad.yaml")
    assert message in str(err.value) and "bad.yaml" in str(err.value)


def test_a_sweep_cannot_set_the_mean_of_a_mixture() -> None:
    sc = parse_scenario(_scenario(), "shapes.yaml")
    with pytest.raises(ScenarioError, match="talk is mixture"):
        sc.with_overrides(talk_mean=60)


def test_a_campaign_of_two_populations_is_paced_within_the_cap() -> None:
    """Quick refusals and long conversations, answer delays replayed from a record, a list
    that answers half as well after 20 minutes: deterministic, and within the cap."""
    delays = [float(x) for x in np.random.default_rng(9).gamma(4.0, 3.0, 400).round(1)]
    raw = _scenario(
        answer_delay={"dist": "empirical", "values": delays},
        changes=[{"at": "20m", "outcomes": {"human": 0.15}}],
    )
    sc = parse_scenario(raw, "shapes.yaml")
    a = simulate(sc, 4, record_series=False)
    b = simulate(sc, 4, record_series=False)
    assert a.summary() | {"wall_s": 0} == b.summary() | {"wall_s": 0}
    assert a.live_answers > 200
    assert a.max_abandon_rate <= 0.03
    assert a.talk_occupancy > 0.6


def _hidden_answers(**kw) -> dict:
    """26 seats on a list whose people (70 %) and machines (9 %) all answer 15.5 s after the
    dial, rung for 15 s: no answer ever comes within the ring timeout."""
    return _scenario(
        seats=26,
        talk={"dist": "exponential", "mean": 67},
        outcomes={"human": 0.7, "machine": 0.09, "busy": 0.05},
        answer_delay=15.5,
        no_answer_timeout=15,
        busy_delay=2.2,
        **kw,
    )


def test_a_list_whose_answers_all_come_past_the_ring_timeout_is_not_flooded() -> None:
    """Every person takes 15.5 s to answer a call rung for 15 s: the campaign sees no answer
    at all, which is not a hit rate of zero (the answers may be hidden, and come the moment
    the delays shorten). Until its first answer it keeps one line per idle seat; it used to
    ramp to 40 lines per seat (1,040 for 26 seats)."""
    raw = _hidden_answers(duration="10m")
    r = simulate(parse_scenario(raw, "hidden.yaml"), 1, record_series=False)
    assert r.live_answers == 0
    assert r.max_lines <= 26


def test_answers_that_stop_hiding_find_the_rate_learnt_again() -> None:
    """The same list, whose delays fall to 9.3 s after 10 minutes: from nothing to a 70 % hit
    rate at once. The no-answers before the first answer are dropped from the hit rate (they
    may have been hidden answers), so it is learnt again from the calls that come after;
    learnt from them, it read ~1 % and 66 of the first 334 live answers were abandoned."""
    raw = _hidden_answers(
        duration="25m",
        changes=[{"at": "10m", "answer_delay": 9.3}],
        campaign={"mode": "predictive", "abandon_cap": 0.03, "window": "30d"},
    )
    r = simulate(parse_scenario(raw, "hidden.yaml"), 479106, record_series=False)
    assert r.live_answers > 100
    assert r.max_abandon_rate <= 0.03
