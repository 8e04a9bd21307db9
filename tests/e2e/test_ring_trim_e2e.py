"""The ring trim end to end: a call still ringing at 15 s with no seat free is hung up.

A real dialerd, a real Asterisk and SQLite. The one lead is a person who would pick up after
24 s; the campaign's ring timeout is 30 s. Once the call rings, the only seat goes on a break:
had the call rung on, the answer would have found no seat and been abandoned. The daemon must
hang it up at the legal minimum ring instead — an attempt ended ``no_answer`` after 15 s and
before the answer, and no live answer nor abandon in the ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from dialer.telephony.sim_numbers import sim_number
from tests.daemon.httpget import fetch_sync
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

ANSWER_AT_S = 24


def test_a_late_call_with_no_seat_free_is_hung_up_at_the_minimum_ring(
    tmp_path: Path, e2e_credentials: AmiCredentials
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    spec = {"mode": "predictive", "seats": ["rt1"], "no_answer_timeout_s": 30}
    config.write_text(h.config_yaml(e2e_credentials, {"trim": spec}))
    number = sim_number(B.HUMAN, ANSWER_AT_S, 5, prefix="+12127")
    h.prepare_database(db_url, config, {"trim": [h.LeadSpec(number, B.HUMAN)]})
    daemon = h.start_daemon(config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port())
    try:
        assert h.wait_until(lambda: h.progress(db_url)[1] == 1, 60, daemon, 0.2), (
            daemon.log_tail()
        )
        h.request_seat(db_url, "rt1", "paused")  # the agent leaves while the call rings
        assert h.wait_until(lambda: h.progress(db_url)[2] >= 1, 45, daemon, 0.5), (
            daemon.log_tail()
        )
        metrics = fetch_sync(f"{daemon.base}/metrics").body
        text = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    (attempt,) = snap.attempts
    assert attempt["outcome"] == "no_answer", (attempt, daemon.log_tail())
    assert 15.0 <= attempt["ring_s"] < ANSWER_AT_S, attempt
    assert attempt["answered_at"] is None and attempt["seat_id"] is None
    assert snap.ledger == [], "a trimmed call must be neither a live answer nor an abandon"
    assert 'dialer_ring_trims_total{campaign="trim"} 1.0' in text
    print(f"\n[ring trim] hung up after {attempt['ring_s']:.2f} s of ringing")
