"""Robot campaigns' settings for the runner and Asterisk; the wrap-up keeper on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from dialer.config import DialerConfig, load_config_text
from dialer.daemon.campaign_settings import call_variables, runner_config, wrapup_rule
from dialer.daemon.wrapup import WrapupKeeper, timed_override
from dialer.engine.seats import SeatBoard, SeatState
from dialer.engine.wrapup import WrapupRule
from dialer.states import DialMode
from dialer.store import make_engine, upgrade
from dialer.store import queries as q
from dialer.store.campaigns import apply_campaign
from dialer.store.dispositions import dispose_attempt
from tests.store.conftest import NOW, add_leads

CONFIG = """\
asterisk:
  - {name: a, username: u, secret_env: S}
seats:
  h1: {endpoint: Local/h1@sim-seats}
  h2: {endpoint: Local/h2@sim-seats}
seat_groups:
  handover: [h1, h2]
caller_id_pools:
  pool: {numbers: ["+12125550100"]}
campaigns:
  bot:
    dial_mode: robot
    caller_id: {pool: pool}
    pacing: {max_lines: 12}
    robot: {ivr_context: dialer-robot, handover_seat_group: handover, message: beep, wait_s: 4}
    amd: {on_machine: ivr, on_notsure: hangup}
    wrapup: {mode: disposition, timed_s: 3, max_s: 90}
"""


@pytest.fixture(scope="module")
def config() -> DialerConfig:
    return load_config_text(CONFIG, "campaigns.yaml")


def test_a_robot_campaign_runs_with_its_ivr_and_amd_choices(config: DialerConfig) -> None:
    bot = config.campaigns["bot"]
    settings = runner_config(bot)
    assert (settings.mode, settings.ivr_context, settings.max_lines) == (
        "robot",
        "dialer-robot",
        12,
    )
    assert (settings.on_machine, settings.on_notsure) == ("ivr", "hangup")
    variables = call_variables(bot)
    assert variables["DIALER_ROBOT_MESSAGE"] == "beep"
    assert variables["DIALER_ROBOT_WAIT_S"] == "4"
    assert "DIALER_ROBOT_PROMPT" not in variables  # the dialplan's default
    assert [s.id for s in config.campaign_seats("bot")] == ["h1", "h2"]


def test_wrapup_rule_takes_the_environment_override_for_the_timed_part(
    config: DialerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = config.campaigns["bot"]
    assert wrapup_rule(bot) == WrapupRule("disposition", timed_s=3.0, max_s=90.0)
    monkeypatch.setenv("DIALER_AUTO_WRAPUP_S", "1.5")
    assert wrapup_rule(bot, timed_override()) == WrapupRule("disposition", 1.5, 90.0)
    monkeypatch.setenv("DIALER_AUTO_WRAPUP_S", "soon")
    assert timed_override() is None
    monkeypatch.setenv("DIALER_AUTO_WRAPUP_S", "")
    assert timed_override() is None


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade(db_url)
    eng = make_engine(db_url)
    with eng.begin() as conn:
        apply_campaign(conn, "demo", DialMode.PREDICTIVE, {"name": "demo"}, NOW)
    yield eng
    eng.dispose()


def _attempt(engine: Engine) -> str:
    add_leads(engine, 1)
    with engine.begin() as conn:
        (lead,) = q.claim_leads(conn, "demo", 1, NOW, "d")
        attempt_id = q.new_attempt_id()
        q.create_attempt(
            conn, q.NewAttempt(attempt_id, lead.id, lead.claim_token, "demo", lead.phone_e164,
                               "+13125550000", NOW),
        )  # fmt: skip
    return attempt_id


def test_a_seat_waits_in_wrap_up_until_its_call_is_dispositioned(engine: Engine) -> None:
    attempt_id = _attempt(engine)

    async def db(_operation: str, fn: Any, *args: Any) -> Any:
        with engine.begin() as conn:
            return fn(conn, *args)

    board = SeatBoard()
    for seat_id, call_id in (("s1", attempt_id), ("s2", "1732.77")):  # s2: an inbound call
        board.add(seat_id)
        board.move(seat_id, SeatState.READY, 0.0)
        board.move(seat_id, SeatState.RESERVED, 1.0).call_id = call_id
        board.move(seat_id, SeatState.TALKING, 2.0)
        board.move(seat_id, SeatState.WRAPUP, 10.0)
    keeper = WrapupKeeper(WrapupRule("disposition", timed_s=3.0, max_s=60.0))
    assert not keeper.over(board.get("s1"), 20.0)  # not looked up yet: held
    asyncio.run(keeper.refresh(board, db))
    assert not keeper.over(board.get("s1"), 20.0)
    assert keeper.over(board.get("s2"), 13.0)  # nothing to dispose: timed
    assert keeper.ended(board) == []
    with engine.begin() as conn:
        dispose_attempt(conn, attempt_id, "sale", NOW)
    asyncio.run(keeper.refresh(board, db))
    assert keeper.over(board.get("s1"), 20.5)
    board.move("s1", SeatState.READY, 20.5)
    board.move("s2", SeatState.PAUSED, 13.0)
    assert dict(keeper.ended(board)) == {"1732.77": 3.0, attempt_id: 10.5}
    assert keeper.ended(board) == []


def test_timed_wrap_up_ignores_dispositions() -> None:
    board = SeatBoard()
    board.add("s1")
    board.move("s1", SeatState.READY, 0.0)
    board.move("s1", SeatState.RESERVED, 0.0).call_id = "a1"
    board.move("s1", SeatState.TALKING, 0.0)
    board.move("s1", SeatState.WRAPUP, 5.0)
    keeper = WrapupKeeper(WrapupRule("timed", timed_s=2.0))
    assert not keeper.over(board.get("s1"), 6.9)
    assert keeper.over(board.get("s1"), 7.0)


def test_a_crash_leaves_robot_calls_in_the_ivr_as_robot_not_abandoned() -> None:
    from datetime import UTC, datetime

    from dialer.daemon.reconcile import settle
    from dialer.states import AttemptOutcome

    t = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"id": "ivr", "answered_at": t, "connected_at": None, "amd_result": "human"},
        {"id": "asked", "answered_at": t, "connected_at": None, "amd_result": "human",
         "handover_at": t},
        {"id": "talk", "answered_at": t, "connected_at": t, "amd_result": None, "handover_at": t},
    ]  # fmt: skip
    got = {s.attempt_id: s for s in settle(rows, [], robot=True)}
    assert got["ivr"].outcome is AttemptOutcome.ROBOT and not got["ivr"].live_answer
    assert got["asked"].outcome is AttemptOutcome.ABANDONED and got["asked"].live_answer
    assert got["talk"].outcome is AttemptOutcome.HUMAN
    # Outside robot mode the same evidence stays the compliance-safe abandon.
    assert {s.outcome for s in settle(rows[:1], [])} == {AttemptOutcome.ABANDONED}
