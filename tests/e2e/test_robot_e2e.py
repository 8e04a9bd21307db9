"""Robot mode end to end: a real dialerd, the real sandboxed Asterisk, SQLite.

Answered calls go to the IVR (``dialer-robot``: a message, then "press 1"); callers who press 1
are handed over to one of two hand-over seats within the connect window; machines are hung up on
(``amd.on_machine: hangup``). Figures are printed (``pytest -s``).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.reports import Period, build_campaign_report
from dialer.reports.load import load_attempts
from dialer.store import make_engine
from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from dialer.telephony.sim_numbers import sim_number
from tests.e2e import harness as h
from tests.e2e.test_campaign_e2e import check_no_overlap

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

HANDOVER = ["r1", "r2"]

#: What each behaviour may end as in a robot campaign, and what the IVR saw.
ROBOT_OUTCOMES: dict[B, tuple[frozenset[str], str | None]] = {
    B.ROBOT_PRESSES_1: (frozenset({"human", "abandoned", "customer_hangup"}), "pressed"),
    B.HUMAN: (frozenset({"robot"}), "not_pressed"),
    B.MACHINE: (frozenset({"machine"}), None),
    B.BUSY: (frozenset({"busy"}), None),
    B.NO_ANSWER: (frozenset({"no_answer"}), None),
}


def robot_config(creds: AmiCredentials, *, max_lines: int = 6) -> str:
    """campaigns.yaml: the harness's sandbox settings, one robot campaign ``bot``."""
    data: dict[str, Any] = yaml.safe_load(
        h.config_yaml(creds, {"bot": {"mode": "robot", "seats": HANDOVER, "max_lines": max_lines}})
    )
    data["seat_groups"] = {"handover": HANDOVER}
    bot = data["campaigns"]["bot"]
    del bot["seats"]
    bot["robot"] = {
        "ivr_context": "dialer-robot",
        "handover_seat_group": "handover",
        "message": "beep",
        "wait_s": 5,
    }
    bot["amd"]["on_machine"] = "hangup"
    return yaml.safe_dump(data, sort_keys=False)


def robot_leads(seed: int = 7) -> list[h.LeadSpec]:
    """~20 leads: presses 1 (4-5 s after its hello: during the prompt), listens and does not
    press, machines, busy, no answer."""
    prefixes = iter(f"+1{area}{ex}" for area in ("212", "646", "917") for ex in "23456789")
    specs: list[h.LeadSpec] = []
    plan = [
        (B.ROBOT_PRESSES_1, 6, (1, 2), (4, 5)),
        (B.HUMAN, 6, (1, 2), (9, 12)),
        (B.MACHINE, 3, (1, 2), (2, 3)),
        (B.BUSY, 3, (1, 1), (0, 0)),
        (B.NO_ANSWER, 2, (0, 0), (0, 0)),
    ]
    rng = random.Random(seed)
    for behaviour, count, ring, stay in plan:
        for _ in range(count):
            number = sim_number(
                behaviour, rng.randint(*ring), rng.randint(*stay), prefix=next(prefixes)
            )
            specs.append(h.LeadSpec(number, behaviour))
    rng.shuffle(specs)
    return specs


def test_robot_campaign_end_to_end(tmp_path: Path, e2e_credentials: AmiCredentials) -> None:
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    config.write_text(robot_config(e2e_credentials))
    specs = robot_leads()
    # Earlier shifts' hand-over requests in the ledger (1 % abandoned): a budget to dial ahead.
    h.prepare_database(db_url, config, {"bot": specs}, history=(300, 3))
    daemon = h.start_daemon(config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port())
    try:
        finished = h.wait_until(lambda: h.progress(db_url)[:2] == (0, 0), 300, daemon)
        assert finished, f"pending: {h.progress(db_url)}\n{daemon.log_tail()}"
        usage = daemon.usage()
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    by_lead = snap.attempts_by_lead()
    pressed: list[dict[str, Any]] = []
    for lead in snap.leads:
        calls = by_lead.get(lead["id"], [])
        number = lead["phone_e164"]
        where = f"lead {lead['id']} ({number})"
        assert len(calls) == 1, f"{where}: {len(calls)} attempts"
        (call,) = calls
        behaviour = h.behaviour_of(number)
        assert behaviour is not None
        allowed, ivr = ROBOT_OUTCOMES[behaviour]
        assert call["state"] == "ended", where
        assert call["outcome"] in allowed, f"{where}: {behaviour.name} ended {call['outcome']}"
        assert call["ivr_result"] == ivr, f"{where}: {behaviour.name} IVR {call['ivr_result']}"
        if call["ivr_result"] == "pressed":
            pressed.append(call)
            assert call["handover_at"] is not None, where
        if call["outcome"] == "robot":
            assert call["connected_at"] is None and call["wait_s"] is None, where
            assert lead["status"] == "done", where  # heard the message: contact made
    check_no_overlap(snap)
    handed = [c for c in pressed if c["connected_at"] is not None]
    assert 2 * len(handed) >= len(pressed), (
        f"only {len(handed)} of {len(pressed)} hand-overs reached a seat: {dict(snap.outcomes())}"
    )
    waits = []
    for call in handed:
        assert call["seat_id"] in HANDOVER and call["transferred"], call["id"]
        wait = (call["connected_at"] - call["handover_at"]).total_seconds()
        assert 0 <= wait < 2.0, f"attempt {call['id']}: seat reached {wait:.2f} s after the press"
        assert call["wait_s"] == pytest.approx(wait, abs=0.05)
        assert call["talk_s"] and call["talk_s"] > 5  # the presser stays 12 s
        # DIALER_AUTO_WRAPUP_S=1 (the last ones may be cut short by the shutdown's logout)
        assert call["wrapup_s"] is not None and 0 <= call["wrapup_s"] < 5, call["id"]
        waits.append(wait)
    # The ledger counts hand-over requests as live answers (docs/robot-and-callbacks.md).
    run = [r for r in snap.ledger if r["attempt_id"] is not None]
    answers = {r["attempt_id"] for r in run if r["kind"] == "live_answer"}
    abandons = {r["attempt_id"] for r in run if r["kind"] == "abandon"}
    assert answers == {c["id"] for c in pressed}
    assert abandons == {c["id"] for c in pressed if c["connected_at"] is None}
    total_answers = 300 + len(answers)
    assert (3 + len(abandons)) / total_answers <= 0.03
    # The campaign report agrees: hand-overs are its transfers, its abandon rate is over them.
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            now = datetime.now(UTC)
            period = Period(now - timedelta(hours=1), now + timedelta(minutes=1))
            (figures,) = build_campaign_report(load_attempts(conn, period, "bot"), period).campaigns
    finally:
        engine.dispose()
    assert figures.transfers == len(handed) and figures.connected == len(handed)
    assert figures.abandoned == sum(1 for c in pressed if c["outcome"] == "abandoned")
    assert figures.abandon_rate == pytest.approx(figures.abandoned / len(pressed))
    print(
        f"\n[robot] {len(snap.attempts)} attempts in {time.monotonic() - started:.0f} s; "
        f"outcomes {dict(snap.outcomes())}; {len(handed)}/{len(pressed)} hand-overs connected, "
        f"press → seat max {max(waits) * 1000:.0f} ms; dialerd cpu {usage['cpu_s']:.1f} s"
    )
