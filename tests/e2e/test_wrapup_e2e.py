"""Wrap-up until disposition, end to end: a seat stays in wrap-up after its call until the CRM
(here ``dialerctl attempts dispose``) posts a disposition; only then does it take the next call,
and the attempt records the wrap-up time. Real dialerd, real sandboxed Asterisk, SQLite."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.reports import Period
from dialer.reports.figures import build_seat_report
from dialer.reports.load import load_attempts
from dialer.store import make_engine
from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]


def test_a_seat_waits_for_the_disposition_before_its_next_call(
    tmp_path: Path, e2e_credentials: AmiCredentials
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    data: dict[str, Any] = yaml.safe_load(
        h.config_yaml(e2e_credentials, {"sales": {"mode": "progressive", "seats": ["w1"]}})
    )
    data["campaigns"]["sales"]["wrapup"] = {"mode": "disposition", "timed_s": 1, "max_s": 120}
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    h.prepare_database(db_url, config, {"sales": h.lead_mix({B.HUMAN: 2}, seed=5)})
    # No DIALER_AUTO_WRAPUP_S: the campaign's own wrap-up rule applies.
    daemon = h.start_daemon(
        config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port(),
        extra_env={"DIALER_AUTO_WRAPUP_S": ""},
    )  # fmt: skip
    try:
        assert h.wait_until(lambda: h.progress(db_url)[2] >= 1, 60, daemon, 0.3), daemon.log_tail()
        assert h.wait_until(lambda: h.seat_state(db_url, "w1") == "wrapup", 10, daemon, 0.2)
        time.sleep(4.0)  # far beyond timed_s: still waiting for the disposition
        snap = h.snapshot(db_url)
        assert h.seat_state(db_url, "w1") == "wrapup"
        assert len(snap.attempts) == 1, "the next lead was dialled before the disposition"
        (first,) = snap.attempts
        done = subprocess.run(
            [sys.executable, "-m", "dialer.cli.main", "attempts", "dispose", first["id"], "sale",
             "--db", db_url],
            capture_output=True, text=True, timeout=30, cwd=h.ROOT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert h.wait_until(lambda: h.progress(db_url)[:2] == (0, 0), 60, daemon, 0.3)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    first_row = next(a for a in snap.attempts if a["id"] == first["id"])
    second = next(a for a in snap.attempts if a["id"] != first["id"])
    assert (first_row["disposition"], first_row["disposed_at"] is not None) == ("sale", True)
    # The wrap-up lasted from the call's end until the disposition (+ the daemon's 1 s poll).
    assert first_row["wrapup_s"] is not None
    held = (first_row["disposed_at"] - first_row["ended_at"]).total_seconds()
    assert held - 0.5 <= first_row["wrapup_s"] <= held + 2.0, (first_row["wrapup_s"], held)
    assert second["placed_at"] >= first_row["disposed_at"]
    # The seat report's wrap-up time is what the attempts say.
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            now = datetime.now(UTC)
            period = Period(now - timedelta(hours=1), now + timedelta(minutes=1))
            report = build_seat_report(load_attempts(conn, period, "sales"), period)
    finally:
        engine.dispose()
    (seat,) = report.seats
    wrapped = sum(a["wrapup_s"] or 0.0 for a in snap.attempts if a["seat_id"] == "w1")
    assert seat.seat_id == "w1" and seat.wrapup_s == pytest.approx(wrapped)
    assert seat.wrapup_s >= first_row["wrapup_s"] > 3.0
    bad = subprocess.run(
        [sys.executable, "-m", "dialer.cli.main", "attempts", "dispose", "no-such", "x",
         "--db", db_url],
        capture_output=True, text=True, timeout=30, cwd=h.ROOT,
    )  # fmt: skip
    assert bad.returncode == 2 and "no attempt 'no-such'" in bad.stderr
