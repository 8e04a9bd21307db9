"""The dial-failure breaker end to end: a trunk that fails every call stops the dialling.

A real dialerd, a real Asterisk and SQLite. Every lead of the campaign is a number the sandbox
answers with congestion (Q.850 cause 34), as a trunk that is down or full does. Without the
breaker a 2-seat progressive campaign would place a call per idle seat per dial step, each
failing at once, and spend an attempt of every lead within seconds. The breaker must stop it
after the failures that trip it and keep the rest of the list untouched, and say so in the
metrics and the log.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dialer.engine.dial_breaker import BreakerConfig
from dialer.telephony.sandbox import AmiCredentials, free_port
from dialer.telephony.sim_numbers import SimBehaviour as B
from dialer.telephony.sim_numbers import sim_number
from tests.daemon.httpget import fetch_sync
from tests.e2e import harness as h

pytestmark = [pytest.mark.asterisk, pytest.mark.integration, pytest.mark.slow]

LEADS = 60


def test_a_trunk_that_fails_every_call_stops_the_dialling_not_the_list(
    tmp_path: Path, e2e_credentials: AmiCredentials
) -> None:
    db_url = f"sqlite:///{tmp_path / 'dialer.db'}"
    config = tmp_path / "campaigns.yaml"
    config.write_text(
        h.config_yaml(e2e_credentials, {"down": {"mode": "progressive", "seats": ["db1", "db2"]}})
    )
    leads = [h.LeadSpec(sim_number(B.CONGESTION, 0, i, prefix="+12127"), B.CONGESTION)
             for i in range(LEADS)]  # fmt: skip
    h.prepare_database(db_url, config, {"down": leads})
    trip = BreakerConfig().min_failures
    daemon = h.start_daemon(config, db_url, e2e_credentials, tmp_path / "dialerd.log", free_port())
    try:
        assert h.wait_until(lambda: h.progress(db_url)[2] >= trip, 60, daemon, 0.2), (
            daemon.log_tail()
        )
        time.sleep(8.0)  # well inside the 30-s cool-down: nothing more may be dialled
        ended_at_trip = h.progress(db_url)[2]
        time.sleep(5.0)
        body = fetch_sync(f"{daemon.base}/metrics").body
        text = body.decode() if isinstance(body, bytes) else str(body)
        ended = h.progress(db_url)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log_tail()
    snap = h.snapshot(db_url)
    outcomes = snap.outcomes()
    assert set(outcomes) == {"congestion"}, outcomes
    dialled = len(snap.attempts)
    # The failures that trip it, plus what two seats' dial steps had in flight meanwhile.
    assert trip <= dialled <= trip + 4, (dialled, daemon.log_tail())
    assert ended[2] == ended_at_trip, "dialled on while the breaker was open"
    assert ended[0] >= LEADS - trip - 4, "the rest of the list must stay untouched"
    assert 'dialer_dial_breaker_open{campaign="down"} 1.0' in text
    assert 'dialer_dial_breaker_trips_total{campaign="down"} 1.0' in text
    assert "dial_breaker_open" in (tmp_path / "dialerd.log").read_text()
    print(f"\n[dial breaker] {dialled} dials failed with congestion, then dialling stopped; "
          f"{ended[0]} of {LEADS} leads untouched")  # fmt: skip
