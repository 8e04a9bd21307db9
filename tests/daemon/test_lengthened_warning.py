"""The daemon's warning when the pacing finds seat durations that lengthened at once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from structlog.testing import capture_logs

from dialer.daemon.campaign_worker import CampaignWorker
from pacing.model import PacingEstimators


def test_each_new_regime_of_talks_is_logged_once() -> None:
    est = PacingEstimators()
    worker = SimpleNamespace(runner=SimpleNamespace(estimators=est),
                             _lengthenings={"talk": 0, "wrapup": 0})  # fmt: skip
    warn = CampaignWorker._warn_lengthened
    now = 1000.0
    for i in range(200):  # a team of 27-s talks...
        est.talk.observe(26.9, 600.0 + i * 2.0)
    running = np.linspace(0.0, 26.0, 60)
    est.talk.survival_table(running, now)
    with capture_logs() as logs:
        warn(worker, now)  # type: ignore[arg-type]
        # ... whose calls begun in the last 35 s have all outlived 27 s
        assert est.talk.lengthened(now + 30.0, np.linspace(10.0, 35.0, 60))
        warn(worker, now + 30.0)  # type: ignore[arg-type]
        warn(worker, now + 31.0)  # type: ignore[arg-type]
    lengthened = [e for e in logs if e["event"] == "seat_durations_lengthened"]
    assert len(lengthened) == 1
    assert lengthened[0]["durations"] == "talk"
    assert 25.0 <= lengthened[0]["regime_began_s_ago"] <= 35.0
