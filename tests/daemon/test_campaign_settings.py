"""From campaign configuration to runner settings and call variables; settling crashed calls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialer.config import DialerConfig, load_config_text
from dialer.daemon.campaign_settings import (
    UnsupportedCampaign,
    amd_arguments,
    call_variables,
    campaign_server,
    runner_config,
)
from dialer.daemon.reconcile import settle, stale_seat_channels
from dialer.engine.dial_breaker import BreakerConfig
from dialer.states import AttemptOutcome
from dialer.telephony.base import LiveChannel

CONFIG = """
asterisk:
  - {name: a, username: u, secret: s}
  - {name: b, username: u, secret: s}
seats:
  s1: {endpoint: Local/s1@sim-seats}
caller_id_pools:
  pool: {numbers: ["+12125550100"]}
campaigns:
  pred:
    seats: [s1]
    caller_id: {pool: pool}
    pacing: {max_lines: 7, connect_window_s: 1.5}
    abandon: {cap: 2%, window_s: 24h}
    no_answer_timeout_s: 22
    amd: {enabled: true, greeting_s: 1200ms, on_machine: seat}
  prog:
    dial_mode: progressive
    seats: [s1]
    servers: [b]
    caller_id: {pool: pool}
    pacing: {progressive_ratio: 1.5}
    dial_breaker: {min_failures: 25, failure_share: 0.8, cooldown_s: 1m, probes: 3}
    amd: {enabled: false}
  look:
    dial_mode: preview
    seats: [s1]
    caller_id: {pool: pool}
"""


@pytest.fixture(scope="module")
def config() -> DialerConfig:
    return load_config_text(CONFIG, "campaigns.yaml")


def test_runner_config_carries_the_campaign_settings(config: DialerConfig) -> None:
    pred = runner_config(config.campaigns["pred"])
    assert pred.mode == "predictive"
    assert pred.max_lines == 7
    assert pred.connect_window_s == 1.5
    assert pred.ring_timeout_s == 22
    assert pred.amd is True
    assert pred.hang_up_machines is False  # on_machine: seat
    assert pred.on_machine == "seat"
    assert pred.budget.cap == pytest.approx(0.02)
    assert pred.budget.window_s == 86400
    assert runner_config(config.campaigns["prog"]).mode == "ratio:1.5"
    # the configuration's defaults are the engine's (two copies of them: the engine is pure)
    assert runner_config(config.campaigns["pred"]).dial_breaker == BreakerConfig()
    breaker = runner_config(config.campaigns["prog"]).dial_breaker
    assert (breaker.enabled, breaker.min_failures, breaker.failure_share) == (True, 25, 0.8)
    assert (breaker.window_s, breaker.cooldown_s, breaker.max_cooldown_s, breaker.probes) == (
        30.0,
        60.0,
        300.0,
        3,
    )


def test_preview_runs_and_an_unknown_dial_mode_is_named(config: DialerConfig) -> None:
    look = config.campaigns["look"]
    assert runner_config(look).mode == "progressive"  # never asked for calls (see preview.py)
    odd = look.model_copy(update={"dial_mode": "carrier-pigeon"})
    with pytest.raises(UnsupportedCampaign, match="carrier-pigeon"):
        runner_config(odd)


def test_call_variables_follow_amd(config: DialerConfig) -> None:
    pred = call_variables(config.campaigns["pred"])
    assert pred["DIALER_AMD"] == "1"
    assert pred["DIALER_AMD_ARGS"].split(",")[1] == "1200"
    assert pred["DIALER_AMD_ARGS"] == amd_arguments(config.campaigns["pred"].amd)
    prog = call_variables(config.campaigns["prog"])
    assert prog["DIALER_AMD"] == "0" and "DIALER_AMD_ARGS" not in prog


def test_campaign_server_is_the_first_connected_one(config: DialerConfig) -> None:
    assert campaign_server(config, "pred", {"a": False, "b": True}) == "b"
    assert campaign_server(config, "pred", {"a": True, "b": True}) == "a"
    assert campaign_server(config, "prog", {"a": True, "b": False}) is None


def _channel(uid: str, **kw: object) -> LiveChannel:
    values: dict[str, object] = {
        "server": "a", "channel": f"Local/x@y-{uid}", "uniqueid": uid,
        "linkedid": uid.split(";")[0], "state": 6, "state_desc": "Up",
        "context": "dialer-answered", "exten": "s",
        "application": "Wait", "duration_s": 3, "bridge_id": "",
    }  # fmt: skip
    values.update(kw)
    return LiveChannel(**values)  # type: ignore[arg-type]


def test_settle_picks_the_outcome_the_evidence_supports() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {"id": "ringing", "answered_at": None, "connected_at": None, "amd_result": None},
        {"id": "talking", "answered_at": t, "connected_at": t, "amd_result": "human"},
        {"id": "waiting", "answered_at": t, "connected_at": None, "amd_result": "human"},
        {"id": "machine", "answered_at": t, "connected_at": None, "amd_result": "machine"},
    ]
    live = [_channel("talking"), _channel("talking;2"), _channel("ringing", state=5)]
    got = {s.attempt_id: s for s in settle(rows, live)}
    assert got["ringing"].outcome is AttemptOutcome.FAILED and not got["ringing"].live_answer
    assert got["talking"].outcome is AttemptOutcome.HUMAN
    assert {c.uniqueid for c in got["talking"].channels} == {"talking", "talking;2"}
    assert got["waiting"].outcome is AttemptOutcome.ABANDONED and got["waiting"].live_answer
    assert got["waiting"].channels == ()
    assert got["machine"].outcome is AttemptOutcome.MACHINE and not got["machine"].live_answer


def test_stale_seat_phones_are_found_by_seat_id() -> None:
    live = [
        _channel("seat-s1-x", context="dialer-seat", exten="s1", application="ConfBridge"),
        _channel("seat-s9-x", context="dialer-seat", exten="s9", application="ConfBridge"),
        _channel("call"),
    ]
    assert [c.exten for c in stale_seat_channels(live, ["s1", "s2"])] == ["s1"]
