"""dialerctl top: one frame as a table or JSON, the live loop, bad usage and missing schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.states import SeatRequest, SeatState
from dialer.store import make_engine
from dialer.store import queries as q
from tests.cli.conftest import Run, as_json

NOW = datetime(2026, 11, 25, 14, 0, 0, tzinfo=UTC)


@pytest.fixture
def floor(ready_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Campaign alpha with s1 ready for 1h02m03s and s2 paused for lunch for 45s; top's clock
    is fixed at NOW so times in state are exact."""
    engine = make_engine(ready_db)
    with engine.begin() as conn:
        assert q.set_seat_state(conn, "s1", SeatState.READY, NOW - timedelta(seconds=3723))
        assert q.request_seat_state(
            conn, "s2", SeatRequest.PAUSED, NOW - timedelta(seconds=50), pause_reason="lunch"
        )
        assert q.set_seat_state(conn, "s2", SeatState.PAUSED, NOW - timedelta(seconds=45))
    engine.dispose()
    monkeypatch.setattr("dialer.cli.top.utcnow", lambda: NOW)
    return ready_db


def _seat_lines(stdout: str) -> dict[str, str]:
    return {
        line.split()[0]: line for line in stdout.splitlines() if line.strip()[:2] in {"s1", "s2"}
    }


def test_once_shows_campaigns_and_seats_with_their_states(run: Run, floor: str) -> None:
    result = run("top", "--once", db=floor)
    assert result.exit_code == 0, result.output
    assert "Campaigns" in result.stdout and "Seats" in result.stdout
    campaign_line = next(line for line in result.stdout.splitlines() if "alpha" in line)
    assert "progressive" in campaign_line and "stopped/stopped" in campaign_line
    assert "paused 1, ready 1" in campaign_line
    seats = _seat_lines(result.stdout)
    assert "Ann" in seats["s1"] and "ready" in seats["s1"] and "1h02m03s" in seats["s1"]
    assert "paused" in seats["s2"] and "lunch" in seats["s2"] and "45s" in seats["s2"]


def test_json_frame(run: Run, floor: str) -> None:
    frame = as_json(run("top", "--json", db=floor))
    assert frame["at"] == NOW.isoformat()
    [alpha] = frame["campaigns"]
    assert (alpha["name"], alpha["desired_state"], alpha["seats"]) == (
        "alpha",
        "stopped",
        {"ready": 1, "paused": 1},
    )
    assert alpha["abandon"]["cap"] == 0.03
    seats = {s["id"]: s for s in frame["seats"]}
    assert set(seats) == {"s1", "s2"}
    assert (seats["s1"]["state"], seats["s1"]["name"], seats["s1"]["seconds_in_state"]) == (
        "ready",
        "Ann",
        3723.0,
    )
    assert (seats["s2"]["state"], seats["s2"]["pause_reason"], seats["s2"]["campaign"]) == (
        "paused",
        "lunch",
        "alpha",
    )
    assert seats["s2"]["state_since"] == (NOW - timedelta(seconds=45)).isoformat()


def test_campaign_filter(run: Run, floor: str) -> None:
    assert run("seats", "add", "s9", "--endpoint", "PJSIP/1009", db=floor).exit_code == 0
    everything = as_json(run("top", "--json", db=floor))
    assert {s["id"] for s in everything["seats"]} == {"s1", "s2", "s9"}
    alpha = as_json(run("top", "--json", "--campaign", "alpha", db=floor))
    assert {s["id"] for s in alpha["seats"]} == {"s1", "s2"}
    missing = run("top", "--once", "--campaign", "nope", db=floor)
    assert missing.exit_code == 2 and "no campaign named 'nope'" in missing.stderr


def test_live_view_redraws_until_ctrl_c(
    run: Run, floor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each pause is followed by a fresh read; Ctrl-C during a pause ends with exit 0."""
    waits: list[float] = []

    def pause(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:  # between frames 1 and 2 a seat goes on a call
            engine = make_engine(floor)
            with engine.begin() as conn:
                q.set_seat_state(conn, "s1", SeatState.TALKING, NOW)
            engine.dispose()
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr("dialer.cli.top.pause", pause)
    result = run("top", "--interval", "0.5", db=floor)
    assert result.exit_code == 0, result.output
    assert waits == [0.5, 0.5]
    assert "every 0.5s, Ctrl-C to quit" in result.stdout
    assert "talking" in _seat_lines(result.stdout)["s1"]  # the last frame drawn is the fresh one


@pytest.mark.parametrize("interval", ["0", "-1", "nan"])
def test_bad_interval_is_bad_usage(run: Run, interval: str, sqlite_url: str) -> None:
    result = run("top", "--once", "--interval", interval, db=sqlite_url)
    assert result.exit_code == 2
    assert "--interval" in result.stderr


def test_missing_schema_is_a_runtime_failure(run: Run, db_url: str) -> None:
    result = run("top", "--once", db=db_url)
    assert result.exit_code == 1
    assert "dialerctl db upgrade" in result.stderr
