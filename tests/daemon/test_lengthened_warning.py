"""The daemon's warnings from the pacing estimators: seat durations that lengthened at once;
no answer at all after many dials."""

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


def test_a_campaign_without_a_single_answer_is_warned_about() -> None:
    from pacing.estimators import OutcomeRates

    est = PacingEstimators()
    worker = SimpleNamespace(
        runner=SimpleNamespace(estimators=est, config=SimpleNamespace(ring_timeout_s=15.0))
    )
    warn = CampaignWorker._warn_no_answers
    with capture_logs() as logs:
        for k in range(PacingEstimators.DROUGHT_DIALS + 20):
            est.observe_dial(OutcomeRates.OTHER, at=float(k))
            if k % 10 == 0:
                warn(worker)  # type: ignore[arg-type]
        quiet_until = len(logs)
        est.observe_dial(OutcomeRates.MACHINE, 7.0, at=500.0)
        warn(worker)  # type: ignore[arg-type]
    warned = [e for e in logs if e["event"] == "no_answers_yet"]
    # (from the 100th outcome on, at every pacing log: here every tenth outcome)
    assert [e["dials"] for e in warned] == [101, 111]
    assert warned[0]["ring_timeout_s"] == 15.0 and "answer supervision" in warned[0]["advice"]
    assert len(logs) == quiet_until  # an answer, if only a machine's, ends the warnings
