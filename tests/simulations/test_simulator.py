"""The simulator: determinism, figures that add up, and the abandon cap on small scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacing.policies import PacingSnapshot
from simulations.scenario import ScenarioError, load_scenario, parse_duration, parse_scenario
from simulations.simulator import _Sim, simulate

SCENARIOS = Path(__file__).resolve().parents[2] / "simulations" / "scenarios"


def _small(**kw) -> dict:
    raw = {
        "name": "small",
        "seed": 3,
        "duration": "20m",
        "seats": 5,
        "talk": {"dist": "lognormal", "mean": 60, "sd": 50},
        "wrapup": {"dist": "constant", "value": 3},
        "outcomes": {"human": 0.3, "machine": 0.05, "busy": 0.2},
        "answer_delay": {"dist": "lognormal", "mean": 10, "sd": 5},
        "campaign": {"mode": "predictive", "abandon_cap": 0.03},
    }
    raw.update(kw)
    return raw


def test_same_seed_same_result_other_seed_other_result() -> None:
    sc = parse_scenario(_small(), "small")
    a, b, c = simulate(sc, 1), simulate(sc, 1), simulate(sc, 2)
    strip = lambda r: {k: v for k, v in r.summary().items() if k != "wall_s"}  # noqa: E731
    assert strip(a) == strip(b)
    assert a.series == b.series
    assert strip(a) != strip(c)


def test_figures_add_up() -> None:
    sc = parse_scenario(_small(), "small")
    r = simulate(sc, 5, "progressive")
    assert r.abandoned == 0  # progressive never abandons
    assert r.connects == r.live_answers
    assert 0 < r.talk_occupancy <= r.utilization <= 1
    assert r.max_lines <= 5
    assert r.dials >= r.live_answers + r.machines


# Derandomized: while at most one abandon is allowed (a campaign's first ~2/cap live answers) the
# thin-budget mode buys a lifetime breach chance of at most pacing.thin.ThinBudget.RISK_TOTAL
# (0.5 %), so fresh random draws would fail now and then by design: 2 of 4,000 such draws broke
# the cap (the second abandon before 67 live answers after 5-6 of 5-6 lines in flight all
# answered, which the model put at ~1e-4 per call). Fixed examples keep CI repeatable and still
# fail on a change that makes breaches likely; simulations/benchmarks/cap_hunt.py measures the
# rate.
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seats=st.integers(1, 12),
    hit=st.floats(0.05, 0.7),
    talk=st.floats(20, 240),
    collapse=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_abandon_rate_never_exceeds_the_cap(seats, hit, talk, collapse, seed) -> None:
    raw = _small(
        seats=seats,
        duration="25m",
        talk={"dist": "lognormal", "mean": talk, "sd": talk * 0.8},
        outcomes={"human": hit, "machine": 0.0, "busy": 0.2},
    )
    if collapse:
        raw["changes"] = [{"at": "12m", "outcomes": {"human": min(0.8, hit * 2)}}]
    r = simulate(parse_scenario(raw, "prop"), seed)
    assert r.max_abandon_rate <= 0.03
    assert r.abandon_rate <= 0.03


def test_shipped_scenarios_load() -> None:
    base = load_scenario(SCENARIOS / "base-25.yaml")
    assert base.seats == 25 and base.duration == 8 * 3600
    assert base.changes[0].at == 4 * 3600 and base.changes[0].regime.outcomes.human == 0.10
    assert base.changes[0].regime.outcomes.busy == 0.225  # unchanged keys carry over
    assert base.campaign.hit_jump == 2.0
    paths = sorted(SCENARIOS.glob("**/*.yaml"))
    assert len(paths) >= 14  # the named scenarios and the stress set
    for path in paths:
        load_scenario(path)


def test_the_scenario_hit_jump_allowance_reaches_the_runner() -> None:
    surge = load_scenario(SCENARIOS / "stress" / "surge-25.yaml")
    assert surge.campaign.hit_jump == 6.0
    assert _Sim(surge, 1, None, 60.0, False).runner.config.hit_jump == 6.0


def test_ringing_calls_are_trimmed_only_after_15_s_and_only_when_asked() -> None:
    """Every no-answer attempt rang at least 15 s (the ring trim's hang-ups included), and the
    scenario's ``campaign.trim_ringing`` reaches the runner (false: calls ring out)."""
    raw = _small(seats=25, duration="30m", outcomes={"human": 0.25, "busy": 0.2})
    results = {}
    for trim in (True, 17, False):
        sc = parse_scenario({**raw, "campaign": {"trim_ringing": trim}}, "trim")
        sim = _Sim(sc, 2, None, 60.0, False)
        results[trim] = sim.run()
        records = sim.runner.drain_records()
        rings = [r.ring_s for r in records if r.outcome.value == "no_answer"]
        floor = 17 if trim == 17 else 15
        assert rings and min(rings) >= floor - 1e-9
        assert (sim.runner.trimmed > 0) is (trim is not False)
        assert sim.runner.config.trim_ringing_s == (None if trim is False else float(floor))
    assert results[True].dials != results[False].dials


def test_the_seat_forecast_matches_the_seats_that_came_free() -> None:
    """At each decision, the seats forecast free within the median answer horizon against those
    that were ready by then. At 200 seats with 30-s talks 23-40 % more seats came free than
    forecast: the window of completions (400 talks in ~70 s) held the long calls of the time
    before it as if counted from their start. Short is the safe side, but it left most of the
    cap unspent; over would be the unsafe side, more seats counted on than come free."""
    raw = _small(seats=200, duration="10m", talk={"dist": "lognormal", "mean": 30, "sd": 24},
                 wrapup={"dist": "constant", "value": 5}, outcomes={"human": 0.6, "busy": 0.2},
                 answer_delay={"dist": "lognormal", "mean": 12, "sd": 6})  # fmt: skip
    sim = _Sim(parse_scenario(raw, "forecast"), 1, None, 60.0, False)
    runner = sim.runner
    ready: dict[str, list[float]] = {}
    forecasts: list[tuple[float, float, float, list[str]]] = []
    seat_ready, snapshot = runner.seat_ready, runner.snapshot

    def note_ready(seat_id: str, now: float) -> list:
        ready.setdefault(seat_id, []).append(now)
        return seat_ready(seat_id, now)

    def note_forecast(now: float) -> PacingSnapshot:
        snap = snapshot(now)
        if now > 180 and snap.moments is not None:
            assert snap.model is not None
            mid = snap.model.within.size // 2
            busy = [*runner.seats._talking, *runner.seats._wrapup]
            within = float(snap.model.within[mid])
            forecasts.append((now, within, float(snap.moments.q_sum[mid]), busy))
        return snap

    runner.seat_ready = note_ready  # (instrumented: the forecasts and the seats that came free)
    runner.snapshot = note_forecast
    sim.run()
    forecast = came = 0.0
    for now, within, expected, busy in forecasts:
        forecast += expected
        came += sum(any(now < t <= now + within for t in ready.get(s, ())) for s in busy)
    assert len(forecasts) > 100
    assert 0.9 < came / forecast < 1.2


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"seats": -1}, "seats: expected a whole number"),
        ({"talk": {"dist": "weibull", "mean": 3}}, "talk.dist: 'weibull' is not one of"),
        ({"outcomes": {"human": 0.8, "busy": 0.5}}, "must not exceed 1"),
        ({"no_answer_timeout": 10}, "must be >= 15 s"),
        ({"duration": "eight hours"}, "expected a duration"),
        ({"campaign": {"abandon_cap": 3}}, "campaign.abandon_cap"),
        ({"campaign": {"hit_jump_allowance": 0.5}}, "campaign.hit_jump_allowance"),
        ({"campaign": {"trim_ringing": 12}}, "campaign.trim_ringing: expected true, false"),
        ({"colour": "red"}, "unknown keys ['colour']"),
        ({"changes": [{"at": "1h", "outcomes": {"human": 2}}]}, "changes[0].outcomes.human"),
    ],
)
def test_bad_scenarios_name_the_field(patch: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(_small(**patch), "bad.yaml")
    assert message in str(err.value) and "bad.yaml" in str(err.value)


def test_durations() -> None:
    assert parse_duration("8h", "x") == 28800
    assert parse_duration("90", "x") == 90
    assert parse_duration(1.5, "x") == 1.5


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_shrinking_team_tells_the_runner_which_busy_seats_leave_after_their_call() -> None:
    from dialer.engine.seats import SeatState

    sc = load_scenario(SCENARIOS / "base-25.yaml")
    sim = _Sim(sc, 1, None, 60.0, False)
    sim._set_seats(25, 0.0)
    board = sim.runner.seats
    for i, seat_id in enumerate(sim.seat_names[:20]):  # 20 busy, 5 ready
        board.move(seat_id, SeatState.RESERVED, 10.0 + i)
        board.move(seat_id, SeatState.TALKING, 10.0 + i)
    sim._set_seats(10, 100.0)  # the last 5 (ready) go now, 10 busy ones after their calls
    assert board.leaving_count == 10 and board.count(SeatState.LOGGED_OUT) == 5
    assert sim.runner.snapshot(100.0).talk_elapsed.size == 10
    sim._set_seats(15, 120.0)  # five of them stay after all
    assert board.leaving_count == 5


def test_a_shrinking_team_holds_the_ready_seats_the_calls_out_were_dialled_for() -> None:
    """Three ready seats with three calls ringing for them, the team cut to one: two ready
    seats are held (logged in, out of the forecast) until those calls are resolved, then log
    out at the next tick."""
    from dialer.engine.events import FailReason, OriginateFailed
    from dialer.engine.seats import SeatState

    sc = load_scenario(SCENARIOS / "base-25.yaml")
    sim = _Sim(sc, 1, None, 60.0, False)
    sim._set_seats(3, 0.0)
    runner, board = sim.runner, sim.runner.seats
    for cid in ("x1", "x2", "x3"):
        runner.call_placed(cid, None, "", "", 1.0)
    sim._set_seats(1, 2.0)
    assert sim.leaving == {"s2", "s3"} and board.count(SeatState.LOGGED_OUT) == 0
    assert sim.logged_in == 3 and runner.snapshot(2.0).idle_seats == 1
    sim._release_held(3.0)
    assert sim.leaving == {"s2", "s3"}  # the calls are still ringing
    for cid in ("x1", "x2"):
        runner.on_event(OriginateFailed(cid, FailReason.BUSY), 4.0)
    sim._release_held(5.0)  # one call left, one seat not leaving: both may go
    assert not sim.leaving and board.count(SeatState.LOGGED_OUT) == 2 and sim.logged_in == 1
