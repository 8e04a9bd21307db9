"""The trial report's figures from sample rows: rates, interval, projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dialer.reports.trial import build_trial_report, wilson

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@given(st.integers(0, 500), st.integers(1, 500))
@example(0, 417)  # rounding put the lower end just above 0 here
@example(500, 1)
def test_wilson_interval_holds_the_proportion(successes: int, extra: int) -> None:
    trials = successes + extra
    interval = wilson(successes, trials)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= successes / trials <= high <= 1.0


def test_wilson_known_value_and_empty() -> None:
    low, high = wilson(5, 10)  # type: ignore[misc]
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(0, 0) is None


def _row(lead: int, stratum: str, outcome: str | None, talk: float | None = None) -> dict:
    ended = outcome is not None
    return {
        "lead_id": lead, "stratum": stratum, "attempt_id": f"a{lead}" if ended else None,
        "campaign": "c", "placed_at": T0, "outcome": outcome, "state": "ended" if ended else None,
        "seat_id": "s1" if talk is not None else None,
        "answered_at": T0 if outcome in ("human", "machine", "abandoned") else None,
        "amd_result": None, "connected_at": T0 if talk is not None else None,
        "ended_at": T0 + timedelta(seconds=30) if ended else None, "ring_s": 3.0,
        "wait_s": None, "talk_s": talk, "hold_s": None, "wrapup_s": None, "transferred": False,
    }  # fmt: skip


def test_report_figures_and_projection() -> None:
    trial = {
        "id": 3, "campaign": "c", "state": "complete", "seed": 9, "sample_fraction": 0.1,
        "stratify_by": ["zone"], "population": 100, "sample_size": 6, "started_at": T0,
        "finished_at": T0 + timedelta(hours=1), "seat_seconds": 7200.0,
    }  # fmt: skip
    rows = [
        _row(1, "zone=a", "human", 60.0), _row(2, "zone=a", "machine"),
        _row(3, "zone=a", "busy"), _row(4, "zone=b", "human", 120.0),
        _row(5, "zone=b", "abandoned"), _row(6, "zone=b", None),
    ]  # fmt: skip
    report = build_trial_report(trial, rows)
    a, b = report.strata
    assert (a.sampled, a.dials, a.live_answers, a.machines, a.busy, a.contacts) == (
        3,
        3,
        1,
        1,
        1,
        1,
    )
    assert (b.sampled, b.dials, b.live_answers, b.abandoned, b.contacts) == (3, 2, 2, 1, 1)
    assert b.abandon_rate == 0.5
    total = report.total
    assert (total.dials, total.live_answers, total.contacts) == (5, 3, 2)
    assert total.hit_rate == pytest.approx(0.6) and total.mean_talk_s == pytest.approx(90.0)
    assert report.seat_hours == 2.0 and report.contacts_per_seat_hour == 1.0
    assert report.projected_contacts == pytest.approx(40.0)  # 100 leads x 2 contacts / 5 dials
    assert report.projected_seat_hours == pytest.approx(40.0)
    assert report.projected_contacts_low < 40.0 < report.projected_contacts_high  # type: ignore[operator]
