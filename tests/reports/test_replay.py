"""A campaign's records replayed as a pacing-sim scenario (`dialerctl report scenario`)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from dialer.cli.report import report_app
from dialer.config.models import CampaignConfig
from dialer.reports.records import AttemptRecord, Period
from dialer.reports.replay import ReplayError, replay_scenario
from dialer.store import make_engine, upgrade
from dialer.store.schema import Attempt, Campaign
from simulations.scenario import load_scenario, parse_scenario
from simulations.simulator import simulate

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PERIOD = Period(START, START + timedelta(hours=3))
CONFIG = CampaignConfig.model_validate(
    {
        "name": "sales",
        "caller_id": {"pool": "p"},
        "no_answer_timeout_s": 22,
        "abandon": {"cap": "2%", "window_s": "24h"},
        "pacing": {"connect_window_s": 2.5, "hit_jump_allowance": 3},
    }
)
FILES = {"talk": "t.txt", "wrapup": "w.txt", "answer_delay": "a.txt"}


def history(hits: tuple[float, float] = (0.3, 0.3), seed: int = 1) -> list[AttemptRecord]:
    """Two hours of a 12-seat campaign drawn from known laws: live answers at ``hits`` (first
    hour, second), 5 % machines, 20 % busy at ~3 s, the rest ringing out at 22 s (one in ten
    hung up at 16 s by the trim); talks lognormal (mean 120 s), wrap-ups 5-10 s."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(4000):
        placed = START + timedelta(seconds=i * 1.8)
        hit = hits[0] if i * 1.8 < 3600 else hits[1]
        u = rng.random()
        base = {"id": f"a{i}", "campaign": "sales", "placed_at": placed}
        if u < hit:
            ring = float(rng.lognormal(2.3, 0.4))
            answered = placed + timedelta(seconds=ring)
            if rng.random() < 0.03:
                rows.append(AttemptRecord(**base, outcome="abandoned", answered_at=answered,
                                          ring_s=ring))  # fmt: skip
                continue
            talk = float(rng.lognormal(4.6, 0.6))
            rows.append(AttemptRecord(
                **base, outcome="human", seat_id=f"s{i % 12}", answered_at=answered,
                connected_at=answered + timedelta(seconds=0.5), ring_s=ring, talk_s=talk,
                wrapup_s=float(rng.uniform(5, 10)),
            ))  # fmt: skip
        elif u < hit + 0.05:
            ring = float(rng.uniform(4, 15))
            rows.append(AttemptRecord(**base, outcome="machine", amd_result="MACHINE",
                                      answered_at=placed, ring_s=ring))  # fmt: skip
        elif u < hit + 0.25:
            rows.append(AttemptRecord(**base, outcome="busy", ring_s=float(rng.uniform(2, 4))))
        else:
            ring = 16.0 if rng.random() < 0.1 else 22.0
            rows.append(AttemptRecord(**base, outcome="no_answer", ring_s=ring))
    rows.append(AttemptRecord(id="c1", campaign="sales", placed_at=START, outcome="cancelled"))
    rows.append(AttemptRecord(id="o1", campaign="other", placed_at=START, outcome="human",
                              seat_id="x", connected_at=START, talk_s=9999.0,
                              ring_s=1.0))  # fmt: skip
    return rows


def test_the_replay_keeps_what_the_records_measure(tmp_path: Path) -> None:
    rows = history()
    replay = replay_scenario(rows, CONFIG, PERIOD, files=FILES)
    sc = replay.scenario
    sales = [r for r in rows if r.campaign == "sales" and r.outcome != "cancelled"]
    assert sc["outcomes"]["human"] == pytest.approx(0.3, abs=0.02)
    assert sc["outcomes"]["machine"] == pytest.approx(0.05, abs=0.01)
    assert sc["outcomes"]["busy"] == pytest.approx(0.2, abs=0.02)
    assert sc["busy_delay"] == pytest.approx(3.0, abs=0.2)
    assert sc["seats"] == 12 and sc["duration"] == round((len(sales) - 1) * 1.8)
    assert (sc["no_answer_timeout"], sc["connect_window"]) == (22, 2.5)
    assert sc["campaign"] == {"mode": "predictive", "abandon_cap": 0.02, "window": 86400,
                              "hit_jump_allowance": 3.0, "trim_ringing": 15.0}  # fmt: skip
    talks = [r.talk_s for r in sales if r.outcome == "human"]
    assert sorted(replay.samples["talk"]) == sorted(talks)  # the other campaign's 9999 s: not
    assert len(replay.samples["answer_delay"]) == sum(r.answered for r in sales)
    assert statistics.fmean(replay.samples["wrapup"]) == pytest.approx(7.5, abs=0.3)
    assert any("ring timeout" in n for n in replay.notes)  # the trimmed calls are said
    assert any("12 seats seen" in n for n in replay.notes)
    # Written as the CLI does, it is a scenario pacing-sim runs.
    for kind, name in FILES.items():
        (tmp_path / name).write_text("".join(f"{x}\n" for x in replay.samples[kind]))
    loaded = parse_scenario(sc, "replay.yaml", tmp_path)
    assert loaded.regime.talk.mean == pytest.approx(statistics.fmean(talks))
    result = simulate(loaded.with_overrides(duration="30m"), 1, record_series=False)
    assert result.live_answers > 100 and result.max_abandon_rate <= 0.02


def test_slices_replay_the_lists_drift_over_the_day() -> None:
    replay = replay_scenario(
        history(hits=(0.4, 0.1)), CONFIG, PERIOD, files=FILES, every=timedelta(minutes=30)
    )
    sc = replay.scenario
    assert sc["outcomes"]["human"] == pytest.approx(0.25, abs=0.02)  # the whole period
    changes = sc["changes"]
    assert [c["at"] for c in changes] == [1800, 3600, 5400]
    first_hour, second_hour = changes[0]["outcomes"], changes[1]["outcomes"]
    assert first_hour["human"] == pytest.approx(0.4, abs=0.04)
    assert second_hour["human"] == pytest.approx(0.1, abs=0.03)
    assert all(c["seats"] == 12 for c in changes)
    fixed = replay_scenario(
        history(), CONFIG, PERIOD, files=FILES, seats=20, every=timedelta(hours=1)
    )
    assert fixed.scenario["seats"] == 20 and "seats" not in fixed.scenario["changes"][0]


def test_records_that_cannot_make_a_scenario_say_why() -> None:
    with pytest.raises(ReplayError, match=r"campaign sales, .*: no finished dial"):
        replay_scenario([], CONFIG, PERIOD, files=FILES)
    unanswered = [r for r in history() if r.outcome in ("busy", "no_answer")]
    with pytest.raises(ReplayError, match="no answer delay known"):
        replay_scenario(unanswered, CONFIG, PERIOD, files=FILES)
    machines = [r for r in history() if r.outcome == "machine"]
    with pytest.raises(ReplayError, match="no talk time known"):
        replay_scenario(machines, CONFIG, PERIOD, files=FILES)


def _stored(url: str) -> None:
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Campaign.__table__), {"name": "sales", "config_hash": "0" * 64,
                         "config_json": CONFIG.model_dump(mode="json")})  # fmt: skip
            conn.execute(
                insert(Attempt.__table__),
                [{**{k: getattr(r, k) for k in r.__slots__}, "phone_e164": "+15550100000",
                  "state": "ended"} for r in history() if r.campaign == "sales"],
            )  # fmt: skip
    finally:
        engine.dispose()


def test_the_command_writes_a_scenario_and_its_durations(sqlite_url: str, tmp_path: Path) -> None:
    _stored(sqlite_url)
    target = tmp_path / "replay" / "sales.yaml"
    result = CliRunner().invoke(report_app, [
        "scenario", "--campaign", "sales", "--from", "2026-11-25T09:00", "--to",
        "2026-11-25T12:00", "--out", str(target), "--every", "1h", "--db", sqlite_url,
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "note:" in result.output
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "sales-answer-delay.txt", "sales-talk.txt", "sales-wrapup.txt", "sales.yaml",
    ]  # fmt: skip
    sc = load_scenario(target)
    assert sc.seats == 12 and len(sc.changes) == 1
    humans = [r for r in history() if r.outcome == "human" and r.campaign == "sales"]
    assert len(sc.regime.talk.values) == len(humans)
    assert simulate(sc.with_overrides(duration="10m"), 1, record_series=False).dials > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campaign", "nobody"], "no campaign named 'nobody'"),
        (["--campaign", "sales", "--every", "soon"], "--every: not a duration"),
        (["--campaign", "sales", "--from", "2026-11-26"], "no finished dial"),
    ],
)
def test_the_command_names_the_problem(
    sqlite_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    _stored(sqlite_url)
    out = ["--out", str(tmp_path / "x.yaml"), "--db", sqlite_url]
    if "--from" not in args:
        out += ["--from", "2026-11-25"]
    result = CliRunner().invoke(report_app, ["scenario", *args, *out])
    assert result.exit_code != 0
    assert message in result.output
    assert not (tmp_path / "x.yaml").exists()
