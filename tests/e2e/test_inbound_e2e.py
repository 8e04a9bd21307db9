"""Callbacks end to end: people call back the number they were shown, through the real sandboxed
Asterisk's ``[dialer-inbound]`` context, while a real dialerd runs a campaign (SQLite).

The daemon finds the callback binding, and routes the call to the seat that talked to the person
(same seat), else to a ready seat of the campaign's inbound seat group, else to the closed
message; each call gets its ``inbound_calls`` row. The simulated caller is an Originate of
``Local/<pool number>@dialer-inbound`` into ``sim-caller`` (docs/asterisk-sandbox.md).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from dialer.store import make_engine
from dialer.store.schema import inbound_calls
from dialer.telephony.ami import AmiServerConfig, AmiTelephony
from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

SEATS = ["c1", "c2"]


def inbound_config(creds: AmiCredentials) -> str:
    data: dict[str, Any] = yaml.safe_load(
        h.config_yaml(creds, {"sales": {"mode": "progressive", "seats": SEATS}})
    )
    data["seat_groups"] = {"callbacks": SEATS}
    data["campaigns"]["sales"]["inbound_seat_group"] = "callbacks"
    return yaml.safe_dump(data, sort_keys=False)


async def _call_back(creds: AmiCredentials, caller: str, dialled: str, stay_s: float) -> None:
    """A person at ``caller`` calls our ``dialled`` number, stays ``stay_s``, hangs up."""
    telephony = AmiTelephony(
        AmiServerConfig("caller", creds.host, creds.port, creds.username, creds.secret)
    )
    await telephony.start()
    try:
        leg = f"caller-{uuid.uuid4().hex[:12]}"
        digits = dialled.lstrip("+")
        await telephony.originate(
            leg, dialled, caller, 30, dial_string=f"Local/{digits}@dialer-inbound",
            context="sim-caller",
        )  # fmt: skip
        await asyncio.sleep(stay_s)
        await telephony.hangup(leg)
        await asyncio.sleep(0.5)
    finally:
        await telephony.close()


def call_back(creds: AmiCredentials, caller: str, dialled: str, stay_s: float = 4.0) -> None:
    asyncio.run(_call_back(creds, caller, dialled, stay_s))


def inbound_rows(db_url: str) -> list[dict[str, Any]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(inbound_calls).order_by(inbound_calls.c.arrived_at))
            return [dict(r) for r in rows.mappings()]
    finally:
        engine.dispose()


def wait_for_rows(db_url: str, count: int, daemon: h.Daemon) -> list[dict[str, Any]]:
    done = h.wait_until(
        lambda: sum(1 for r in inbound_rows(db_url) if r["outcome"]) >= count, 40, daemon, 0.3
    )
    assert done, f"inbound calls: {inbound_rows(db_url)}\n{daemon.log_tail()}"
    return inbound_rows(db_url)


def test_callbacks_reach_the_same_seat_else_the_group_else_closed(
    tmp_path: Path, e2e_credentials: AmiCredentials
) -> None:
    started = time.monotonic()
    creds = e2e_credentials
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    config.write_text(inbound_config(creds))
    specs = h.lead_mix({B.HUMAN: 2, B.BUSY: 1}, seed=3)
    h.prepare_database(db_url, config, {"sales": specs})
    daemon = h.start_daemon(config, db_url, creds, tmp_path / "dialerd.log", free_port())
    try:
        assert h.wait_until(lambda: h.progress(db_url)[:2] == (0, 0), 90, daemon), daemon.log_tail()
        assert h.wait_until(
            lambda: all(h.seat_state(db_url, s) == "ready" for s in SEATS), 20, daemon, 0.3
        )
        talked = [a for a in h.snapshot(db_url).attempts if a["connected_at"] is not None]
        assert len(talked) == 2, [a["outcome"] for a in h.snapshot(db_url).attempts]
        first, second = sorted(talked, key=lambda a: a["placed_at"])

        # 1. The person of the first call calls back: the seat that talked to them answers.
        call_back(creds, first["phone_e164"], first["caller_id"])
        (row,) = wait_for_rows(db_url, 1, daemon)
        assert (row["route"], row["seat_id"], row["outcome"]) == (
            "same_seat", first["seat_id"], "connected",
        ), row  # fmt: skip
        assert row["campaign"] == "sales" and row["binding_attempt_id"] == first["id"]
        assert row["lead_id"] == first["lead_id"]
        assert row["wait_s"] is not None and row["wait_s"] < 2.0
        assert row["talk_s"] is not None and row["talk_s"] > 2.0

        # 2. The second person's seat has logged out: a seat of the inbound group answers.
        h.request_seat(db_url, second["seat_id"], "logged_out")
        assert h.wait_until(
            lambda: h.seat_state(db_url, second["seat_id"]) == "logged_out", 20, daemon, 0.3
        )
        call_back(creds, second["phone_e164"], second["caller_id"])
        rows = wait_for_rows(db_url, 2, daemon)
        row = rows[1]
        others = [s for s in SEATS if s != second["seat_id"]]
        assert (row["route"], row["seat_id"], row["outcome"]) == (
            "inbound_group", others[0], "connected",
        ), row  # fmt: skip

        # 3. A stranger calls a number that is in no pool: the closed message.
        call_back(creds, "+19175550123", "+15550100999", stay_s=6.0)
        rows = wait_for_rows(db_url, 3, daemon)
        row = rows[2]
        assert (row["route"], row["seat_id"], row["outcome"]) == ("closed", None, "closed"), row
        assert row["campaign"] is None and row["binding_attempt_id"] is None
        # The seats' wrap-ups after the callbacks were recorded.
        assert h.wait_until(
            lambda: all(r["wrapup_s"] is not None for r in inbound_rows(db_url)[:2]), 10, daemon
        ), inbound_rows(db_url)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    print(f"\n[inbound] 3 callbacks routed in {time.monotonic() - started:.0f} s")
