"""The cap hunt's scenario draw and breach report (simulations/benchmarks/cap_hunt.py)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from simulations.benchmarks import cap_hunt
from simulations.scenario import parse_scenario


def test_every_draw_is_a_valid_scenario_and_the_draw_repeats() -> None:
    rng = random.Random(7)
    draws = [cap_hunt.random_scenario(rng) for _ in range(300)]
    for raw, _seed in draws:
        sc = parse_scenario(raw, "hunt")  # raises on a bad draw
        assert 1 <= sc.seats <= 300
        assert raw["campaign"]["abandon_cap"] in (0.01, 0.02, 0.03, 0.05)
    again = random.Random(7)
    assert [cap_hunt.random_scenario(again) for _ in range(300)] == draws
    assert any("changes" in raw for raw, _ in draws)
    assert {raw["talk"]["dist"] for raw, _ in draws} == {
        "constant",
        "exponential",
        "gamma",
        "lognormal",
    }


def test_a_stretched_draw_keeps_its_changes_at_the_same_fractions_of_the_run() -> None:
    rng = random.Random(11)
    for raw, _seed in [cap_hunt.random_scenario(rng) for _ in range(100)]:
        long = cap_hunt.stretched(raw, 8 * 3600.0)
        sc = parse_scenario(long, "hunt")
        assert sc.duration == 8 * 3600
        for before, after in zip(raw.get("changes", []), long.get("changes", []), strict=True):
            assert after["at"] == pytest.approx(before["at"] / raw["duration"] * 8 * 3600, abs=1)
            assert {k: v for k, v in after.items() if k != "at"} == {
                k: v for k, v in before.items() if k != "at"
            }
        assert {k: v for k, v in long.items() if k not in ("duration", "changes")} == {
            k: v for k, v in raw.items() if k not in ("duration", "changes")
        }


def test_reshaped_draws_change_only_their_delays_or_talks() -> None:
    rng = random.Random(13)
    draws = [cap_hunt.random_scenario(rng) for _ in range(200)]
    shapes, mixes = random.Random("s"), random.Random("t")
    delay_kinds, talk_shares = set(), set()
    for raw, _seed in draws:
        for reshape, key in (
            (cap_hunt.reshaped, "answer_delay"),
            (cap_hunt.two_populations, "talk"),
        ):
            out = reshape(raw, shapes if key == "answer_delay" else mixes)
            sc = parse_scenario(out, "hunt")  # raises on a bad draw
            assert {k: v for k, v in out.items() if k not in (key, "changes")} == {
                k: v for k, v in raw.items() if k not in (key, "changes")
            }
            for before, after in zip(raw.get("changes", []), out.get("changes", []), strict=True):
                assert set(before) == set(after)
                assert {k: v for k, v in after.items() if k != key} == {
                    k: v for k, v in before.items() if k != key
                }
            if key == "answer_delay":
                delay_kinds.add(sc.regime.answer_delay.kind)
                assert sc.regime.answer_delay.mean == pytest.approx(raw[key]["mean"])
            else:
                _, (share, talk) = sc.regime.talk.parts
                talk_shares.add(share)
                assert talk == parse_scenario(raw, "hunt").regime.talk
    assert delay_kinds == set(cap_hunt.DELAY_SHAPES)
    assert min(talk_shares) >= 0.2 - 1e-9 and max(talk_shares) <= 0.7 + 1e-9


def test_big_team_draws_scale_the_team_changes_with_the_team() -> None:
    rng, teams = random.Random(17), random.Random("teams")
    for raw, _seed in [cap_hunt.random_scenario(rng) for _ in range(100)]:
        big = cap_hunt.big_team(raw, teams)
        sc = parse_scenario(big, "hunt")
        assert 300 <= sc.seats <= 600
        for before, after in zip(raw.get("changes", []), big.get("changes", []), strict=True):
            if "seats" in before:
                assert after["seats"] == max(1, round(before["seats"] * sc.seats / raw["seats"]))
            else:
                assert after == before
        assert {k: v for k, v in big.items() if k not in ("seats", "changes")} == {
            k: v for k, v in raw.items() if k not in ("seats", "changes")
        }


def test_more_changes_add_wrapup_and_outcome_changes_and_keep_the_rest() -> None:
    rng = random.Random(19)
    draws = [cap_hunt.random_scenario(rng) for _ in range(300)]
    extra, again = random.Random("changes"), random.Random("changes")
    kinds: set[str] = set()
    for raw, _seed in draws:
        out = cap_hunt.more_changes(raw, extra)
        assert out == cap_hunt.more_changes(raw, again)
        sc = parse_scenario(out, "hunt")  # raises on a bad draw (shares over 1 among them)
        assert {k: v for k, v in out.items() if k != "changes"} == {
            k: v for k, v in raw.items() if k != "changes"
        }
        added = [c for c in out["changes"] if c not in raw.get("changes", [])]
        assert 1 <= len(added) <= 2
        assert [c["at"] for c in out["changes"]] == sorted(c["at"] for c in out["changes"])
        for c in added:
            (kind,) = set(c) - {"at"}
            kinds.add(kind)
            assert kind in ("wrapup", "outcomes")
            assert 0.1 * raw["duration"] - 1 <= c["at"] <= 0.9 * raw["duration"] + 1
            # the regime just before the change: what the change scales or keeps
            before = sc.regime
            for ch in sc.changes:
                if ch.at < c["at"]:
                    before = ch.regime
            if kind == "wrapup":
                old, new = before.wrapup.mean, c["wrapup"].get("value", c["wrapup"].get("mean"))
                assert old * 0.3 - 0.051 <= new <= old * 4.0 + 0.051
            else:
                assert c["outcomes"]["human"] == pytest.approx(before.outcomes.human)
                assert 0 <= c["outcomes"]["machine"] <= 0.5
                assert 0 <= c["outcomes"]["busy"] <= 0.4
    assert kinds == {"wrapup", "outcomes"}


def test_start_draws_are_valid_campaign_starts_and_repeat() -> None:
    draws = [cap_hunt.start_scenario(random.Random(3)) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = random.Random(5)
    for raw, _seed in [cap_hunt.start_scenario(rng) for _ in range(200)]:
        sc = parse_scenario(raw, "hunt")
        assert 30 <= sc.seats <= 300 and sc.duration == 300
        assert 0.3 <= raw["outcomes"]["human"] <= 0.95


# A breach the hunt found: 2 seats under a 1 % cap, one logs out at 931 s while a call dialled
# for it is ringing; it is answered with no seat left, before any abandon is allowed (see
# docs/benchmarks.md). Two things now keep that cap: the ring trim hangs the call up (it has rung
# 15 s with no seat free), and even with the trim off the seat is held until the call is resolved
# (CampaignRunner.may_leave).
_SHRINK = {
    "name": "hunt",
    "seed": 1,
    "duration": 1329,
    "seats": 2,
    "talk": {"dist": "exponential", "mean": 21.4},
    "wrapup": {"dist": "constant", "value": 12.1},
    "outcomes": {"human": 0.497, "machine": 0.0, "busy": 0.074},
    "answer_delay": {"dist": "lognormal", "mean": 19.3, "sd": 13.8},
    "busy_delay": 2.9,
    "no_answer_timeout": 40,
    "connect_window": 2,
    "campaign": {
        "mode": "predictive", "abandon_cap": 0.01, "window": "24h", "trim_ringing": False
    },
    "changes": [{"at": 931, "seats": 1}],
}  # fmt: skip


# A breach no pacing can avoid without holding lines back: the hit rate jumps twelvefold (5 % to
# 60 %) at 20 minutes, and the calls placed in the seconds before the first answers of the new
# list come back are answered more than seats and budget can take (docs/benchmarks.md, the
# hit_jump_allowance trade-off).
_JUMP = {
    "name": "hunt",
    "seed": 1,
    "duration": 1800,
    "seats": 10,
    "talk": {"dist": "lognormal", "mean": 45, "sd": 36},
    "wrapup": {"dist": "constant", "value": 5},
    "outcomes": {"human": 0.05, "machine": 0.0, "busy": 0.2},
    "answer_delay": {"dist": "lognormal", "mean": 12, "sd": 6},
    "busy_delay": 4,
    "no_answer_timeout": 20,
    "connect_window": 2,
    "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "24h"},
    "changes": [{"at": 1200, "outcomes": {"human": 0.6}}],
}


@pytest.mark.parametrize("trim", [True, False])
def test_the_cap_holds_in_the_team_shrink_the_hunt_found(trim: bool) -> None:
    scenario = {**_SHRINK, "campaign": {**_SHRINK["campaign"], "trim_ringing": trim}}
    assert not cap_hunt.run_one((scenario, 534008))["breach"]


# A breach the hunt found (--seed 45): 127 seats, constant 27-s talks that become 64 s at 417 s.
# Seats past the old talk time still looked about to free, and for a minute after, the seats
# 15-27 s into a 64-s talk looked ~40 % likely to free at 27 s: the window of completions still
# held the old talks' deaths. Over 25 seeds 8 went over the cap (up to 3.29 %; this seed 3.02 %),
# the frees check (pacing.guard.BudgetGuard.frees_shortfall) only bounding the damage. The check
# that the calls begun lately outlive the table (pacing.estimators.DurationEstimator.lengthened)
# sees it about a second after the first seats pass 27 s and rebuilds the table from the calls
# begun since: 0 of 25 seeds over (worst 2.69 %), this one 2.48 %.
_TALK_JUMP = {
    "name": "hunt",
    "seed": 1,
    "duration": 1992,
    "seats": 127,
    "talk": {"dist": "constant", "value": 26.9},
    "wrapup": {"dist": "constant", "value": 2.0},
    "outcomes": {"human": 0.728, "machine": 0.098, "busy": 0.153},
    "answer_delay": {"dist": "lognormal", "mean": 6.9, "sd": 2.2},
    "busy_delay": 3.0,
    "no_answer_timeout": 30,
    "connect_window": 3,
    "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "30d"},
    "changes": [{"at": 417, "talk": {"dist": "constant", "value": 63.9}}],
}


# A breach the hunt found (--seed 47): 28 seats whose answer delays lengthen to 35 s against a
# 20-s ring timeout at 583 s — the hit rate seen falls from ~0.2 to ~0.04, the answers seen crowd
# against the timeout — then shorten to 14 s at 766 s: the answers the campaign can see jump
# ~sixfold, and the calls placed in the seconds after brought 14 abandons at ~230 live answers
# (6.0 % at worst). The budget guard now sizes the answers for the share the ring timeout hides
# (pacing.estimators.HiddenAnswers, pacing.guard.BudgetGuard.unhidden_hit).
_DELAY_SHORTENS = {
    "name": "hunt",
    "seed": 1,
    "duration": 1690,
    "seats": 28,
    "talk": {"dist": "gamma", "mean": 42.1, "sd": 25.5},
    "wrapup": {"dist": "exponential", "mean": 17.3},
    "outcomes": {"human": 0.333, "machine": 0.0, "busy": 0.043},
    "answer_delay": {"dist": "lognormal", "mean": 22.2, "sd": 13.8},
    "busy_delay": 5.3,
    "no_answer_timeout": 20,
    "connect_window": 2,
    "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "30d"},
    "changes": [
        {"at": 583, "answer_delay": {"dist": "lognormal", "mean": 35.1, "sd": 11.1}},
        {"at": 766, "answer_delay": {"dist": "lognormal", "mean": 14.4, "sd": 11.1}},
        {"at": 1491, "talk": {"dist": "gamma", "mean": 75.4, "sd": 25.5}},
    ],
}


# A breach the hunt found (--seed 55): 177 seats under a 2 % cap, a list answering at 0.76 after
# ~19 s against a prior of 0.2 after 12 s. The first 20 s bring 100 live answers — two abandons
# allowed, the thin-budget mode over — while the first call placed still rings, so no outcome has
# been learnt (they are learnt in placement order): the guard forecast the prior's delays for 77
# calls ringing (1.4 live answers; ~54 came) and 68 more calls made 4 abandons at 183 live answers
# (35 s). Until outcomes are learnt the guard now counts every line in flight as a live answer
# (pacing.guard.BudgetGuard.MIN_OUTCOMES). The first 2 minutes hold the breach; the whole run
# is 3,503 s.
_COLD_START = {
    "name": "hunt",
    "seed": 1,
    "duration": 120,
    "seats": 177,
    "talk": {"dist": "gamma", "mean": 23.4, "sd": 14.2},
    "wrapup": {"dist": "constant", "value": 17.5},
    "outcomes": {"human": 0.761, "machine": 0.0, "busy": 0.196},
    "answer_delay": {"dist": "lognormal", "mean": 19.1, "sd": 6.9},
    "busy_delay": 3.2,
    "no_answer_timeout": 30,
    "connect_window": 1,
    "campaign": {"mode": "predictive", "abandon_cap": 0.02, "window": "24h"},
}


# A breach the start hunt found (before the guard counted late answers): 218 seats, a list
# answering at 0.93 after ~11 s, 45-s ring timeout. At 18 s the first outcomes are learnt and 22
# calls of the first wave still ring, past the trim age; the trimmed forecast counted none of their
# answers, though with 20 seats free the trim spared them and at this hit rate half of them are
# people answering late. The guard let 19 calls out for the 20 seats; 7 abandons with 6 allowed.
_LATE_RINGERS = {
    "name": "hunt",
    "seed": 1,
    "duration": 120,
    "seats": 218,
    "talk": {"dist": "gamma", "mean": 181.3, "sd": 96.7},
    "wrapup": {"dist": "constant", "value": 23.1},
    "outcomes": {"human": 0.929, "machine": 0.0, "busy": 0.015},
    "answer_delay": {"dist": "lognormal", "mean": 11.3, "sd": 3.9},
    "busy_delay": 3.0,
    "no_answer_timeout": 45,
    "connect_window": 3,
    "campaign": {"mode": "predictive", "abandon_cap": 0.03, "window": "24h"},
}


# 85 seats, a 1 % cap, a list answering at 72 % against the 20 % prior, wrap-up 21.6 s against the
# prior's 10 s: in the first minute the thin-budget mode saw seats 12-17 s into wrap-up as all but
# free (and the whole first-minute talk and answer-delay forecasts were exponentials, see
# test_pacing_estimators) and broke the cap at 87 live answers (2.1 % at worst).
_FIRST_MINUTE = {
    "name": "hunt",
    "seed": 1,
    "seats": 85,
    "duration": 900,
    "talk": {"dist": "exponential", "mean": 45.3},
    "wrapup": {"dist": "constant", "value": 21.6},
    "outcomes": {"human": 0.717, "machine": 0.0, "busy": 0.213},
    "answer_delay": {"dist": "lognormal", "mean": 8.8, "sd": 2.9},
    "busy_delay": 2.2,
    "no_answer_timeout": 40,
    "connect_window": 3,
    "campaign": {"mode": "predictive", "abandon_cap": 0.01, "window": "30d"},
    "changes": [{"at": 425, "outcomes": {"human": 0.637}}],
}


# 2 seats, a 1 % cap (no abandon allowed before 100 live answers), a fixed 27.8-s wrap-up: a seat
# 5.5 s from the end of its wrap-up counted as free by the first answer horizon (6 s with the
# window); the person answered in 1.8 s.
_FIXED_WRAPUP = {
    "name": "hunt",
    "seed": 1,
    "seats": 2,
    "duration": 3173,
    "talk": {"dist": "lognormal", "mean": 23.7, "sd": 9.3},
    "wrapup": {"dist": "constant", "value": 27.8},
    "outcomes": {"human": 0.799, "machine": 0.0, "busy": 0.054},
    "answer_delay": {"dist": "lognormal", "mean": 6.0, "sd": 3.3},
    "busy_delay": 6.4,
    "no_answer_timeout": 30,
    "connect_window": 3,
    "campaign": {"mode": "predictive", "abandon_cap": 0.01, "window": "30d"},
    "changes": [
        {"at": 2357, "talk": {"dist": "lognormal", "mean": 40.6, "sd": 9.3}},
        {"at": 2527, "answer_delay": {"dist": "lognormal", "mean": 3.8, "sd": 3.0}},
        {"at": 2572, "outcomes": {"human": 0.36}},
    ],
}


# 139 seats that begin together, a 1 % cap, constant 161-s talks and 22.9-s wrap-ups: the whole
# team frees at once every 184 s. The wrap-up table was truncated at its window's oldest
# completion, so the first wave's wrap-ups counted only from the ages they had when the first
# of them ended; at 5-13 s the prior's pseudo-deaths outweighed them and a third of the wrap-ups
# looked shorter than 20 s. Six calls placed 18 s before any seat was free, four abandons at 282
# live answers (1.42 %, found by --duration 8h --seed 202; its first 7 minutes hold it).
_SYNCHRONISED_WAVES = {
    "name": "hunt",
    "seed": 1,
    "duration": 450,
    "seats": 139,
    "talk": {"dist": "constant", "value": 161.0},
    "wrapup": {"dist": "constant", "value": 22.9},
    "outcomes": {"human": 0.798, "machine": 0.0, "busy": 0.14},
    "answer_delay": {"dist": "lognormal", "mean": 11.3, "sd": 3.0},
    "busy_delay": 3.2,
    "no_answer_timeout": 25,
    "connect_window": 1,
    "campaign": {"mode": "predictive", "abandon_cap": 0.01, "window": "30d"},
}


# The hunt's finds above, each with the seed that broke its cap.
_FOUND = {
    "85-seats-1pc-first-minute": (_FIRST_MINUTE, 359077),
    "2-seats-1pc-fixed-wrapup": (_FIXED_WRAPUP, 561787),
    "answer-delays-past-the-ring-timeout-shorten": (_DELAY_SHORTENS, 849524),
    "a-large-team-s-first-calls-still-ring": (_COLD_START, 247343),
    "calls-past-the-trim-age-ring-with-seats-free": (_LATE_RINGERS, 557254),
    "a-team-that-began-together-frees-in-waves": (_SYNCHRONISED_WAVES, 597886),
}


@pytest.mark.parametrize("seed", [430181, 7, 24])
def test_the_cap_holds_when_every_talk_lengthens_at_once(seed: int) -> None:
    # (seeds 7 and 24 broke it in the first wave alone: 3.29 % and 3.28 %)
    row = cap_hunt.run_one((_TALK_JUMP, seed))
    assert not row["breach"], row["max_rate"]


def _jump_variant(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(_TALK_JUMP)
    for key, value in changes.items():
        raw[key] = value
    return raw


# Variants of _TALK_JUMP that the lengthening check alone did not hold: the first wave — the
# calls placed, an answer delay ahead, for seats that all fail to free at once — outran the
# budget. The budget guard now counts only the seats that would come free were every duration
# twice as long (pacing.model.SLOW), where it counted half of those forecast. Each seed broke
# the cap before (1.18 %, 3.28 %, 4.00 %).
_FIRST_WAVES = {
    "a 1 % cap": (
        _jump_variant(campaign={**_TALK_JUMP["campaign"], "abandon_cap": 0.01}),
        1,
    ),
    "nearly constant lognormal talks": (
        _jump_variant(
            talk={"dist": "lognormal", "mean": 26.9, "sd": 2.7},
            changes=[{"at": 417, "talk": {"dist": "lognormal", "mean": 63.9, "sd": 6.4}}],
        ),
        2,
    ),
    "wrap-ups 10 -> 40 s at 60 seats": (
        _jump_variant(
            seats=60,
            talk={"dist": "constant", "value": 60.0},
            wrapup={"dist": "constant", "value": 10.0},
            changes=[{"at": 417, "wrapup": {"dist": "constant", "value": 40.0}}],
        ),
        3,
    ),
}


@pytest.mark.parametrize("name", sorted(_FIRST_WAVES))
def test_the_guard_holds_the_first_wave_of_durations_lengthening_at_once(name: str) -> None:
    row = cap_hunt.run_one(_FIRST_WAVES[name])
    assert not row["breach"], row["max_rate"]


@pytest.mark.parametrize("name", sorted(_FOUND))
def test_the_cap_holds_in_the_scenarios_the_hunt_found(name: str) -> None:
    row = cap_hunt.run_one(_FOUND[name])
    assert not row["breach"], row["max_rate"]


def test_a_run_over_its_cap_is_reported_with_what_replays_it() -> None:
    row = cap_hunt.run_one((_JUMP, 1))
    assert row["breach"] and row["max_rate"] > 0.03
    assert row["scenario"] == _JUMP and row["seed"] == 1
    calm = {**_JUMP, "changes": []}
    assert not cap_hunt.run_one((calm, 1))["breach"]


def test_the_command_exits_1_on_a_breach(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cap_hunt, "random_scenario", lambda rng, max_jump=2.0: (_JUMP, 1))
    assert cap_hunt.main(["--runs", "1", "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "BREACH" in out and "seed 1 " in out and "1 over the cap" in out


def _reported(job: tuple[dict[str, Any], int]) -> dict[str, Any]:
    """A run_one that simulates nothing and reports every scenario as a breach (so the command
    prints it as it would run it)."""
    raw, seed = job
    return {
        "seats": raw["seats"],
        "hit": raw["outcomes"]["human"],
        "cap": raw["campaign"]["abandon_cap"],
        "occupancy": 0.0,
        "max_rate": 1.0,
        "abandoned": 1,
        "live_answers": 1,
        "breach": True,
        "scenario": raw,
        "seed": seed,
    }


def test_the_cadence_and_unannounced_flags_reach_every_scenario(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cap_hunt, "run_one", _reported)
    assert cap_hunt.main(["--runs", "3", "--workers", "1", "--decision-interval", "0.15"]) == 1
    out = capsys.readouterr().out
    assert out.count('"decision_interval": 0.15') == 3
    assert cap_hunt.main(["--runs", "3", "--workers", "1", "--team-changes-unannounced"]) == 1
    out = capsys.readouterr().out
    assert out.count('"team_changes_unannounced": true') == 3 and "decision_interval" not in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs"),
        (["--max-jump", "0"], "--max-jump"),
        (["--duration", "8 hours"], "--duration"),
        (["--duration", "0"], "--duration"),
        (["--decision-interval", "0"], "--decision-interval"),
    ],
)
def test_bad_arguments_are_refused_by_name(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cap_hunt.main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
