"""Trials in the database: the draw is stored and reproducible, claims keep to the sample,
progress counts settled leads, reset and skip."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from dialer.states import AttemptOutcome, TrialState
from dialer.store.attempts import AttemptResult, NewAttempt, create_attempt, finish_attempt
from dialer.store.dnc import add_dnc
from dialer.store.leads import claim_leads
from dialer.store.schema import leads, trial_samples
from dialer.store.trials import (
    current_trial,
    dialable_population,
    draw_trial,
    link_trial_attempt,
    reset_trial,
    skip_trial,
    trial_progress,
    trial_sample_rows,
)
from tests.store.conftest import NOW, add_leads


def test_draw_claims_progress_and_report_rows(engine: Engine) -> None:
    ids = add_leads(engine, 30)
    with engine.begin() as conn:
        conn.execute(update(leads).where(leads.c.id.in_(ids[:10])).values(country="CA"))
        conn.execute(
            update(leads).where(leads.c.id == ids[-1]).values(custom_fields={"tier": "gold"})
        )
        add_dnc(conn, ["+12125550029"], NOW, source="t")  # the gold lead's number: not dialable
        population = dialable_population(conn, "demo", ["country", "tier"])
        assert len(population) == 29
        assert {s for _, s in population} == {"country=CA|tier=", "country=US|tier="}
        trial_id, sample, size = draw_trial(conn, "demo", 0.2, ["country", "tier"], 42, NOW)
        assert size == 29 and len(sample) == 6  # round(5.8)
        again = draw_trial(conn, "demo", 0.2, ["country", "tier"], 42, NOW)[1]
        assert again == sample  # same seed, same list: same sample
        assert current_trial(conn, "demo")["state"] == TrialState.RUNNING.value  # type: ignore[index]
    sampled = {s.lead_id for s in sample}
    with engine.begin() as conn:
        claimed = claim_leads(conn, "demo", 50, NOW, "d1", trial_id=trial_id)
    assert {c.id for c in claimed} == sampled
    first, *rest = claimed
    with engine.begin() as conn:
        create_attempt(conn, NewAttempt("a1", first.id, first.claim_token, "demo",
                                        first.phone_e164, None, NOW))  # fmt: skip
        link_trial_attempt(conn, trial_id, first.id, "a1")
        link_trial_attempt(conn, trial_id, first.id, "a2")  # only the first attempt counts
        assert trial_progress(conn, trial_id, "demo") == (6, 0)
        finish_attempt(conn, "a1", AttemptResult(AttemptOutcome.BUSY, NOW + timedelta(seconds=9)),
                       None)  # fmt: skip
        conn.execute(update(leads).where(leads.c.id == rest[0].id).values(status="cancelled"))
        assert trial_progress(conn, trial_id, "demo") == (6, 2)
        rows = trial_sample_rows(conn, trial_id)
        ts = trial_samples.c
        linked = conn.execute(
            select(ts.attempt_id).where(ts.lead_id == first.id, ts.trial_id == trial_id)
        ).scalar()
    assert linked == "a1"
    assert [r["outcome"] for r in rows if r["attempt_id"]] == ["busy"]
    assert len(rows) == 6


def test_reset_and_skip(engine: Engine) -> None:
    add_leads(engine, 5)
    with engine.begin() as conn:
        assert reset_trial(conn, "demo", NOW) is None
        assert "whole list" in skip_trial(conn, "demo", NOW)
        assert current_trial(conn, "demo")["state"] == "skipped"  # type: ignore[index]
        assert "already skipped" in skip_trial(conn, "demo", NOW)
        assert reset_trial(conn, "demo", NOW)["state"] == "skipped"  # type: ignore[index]
        assert current_trial(conn, "demo")["state"] == "cancelled"  # type: ignore[index]
        trial_id = draw_trial(conn, "demo", 0.5, [], 1, NOW)[0]
        assert skip_trial(conn, "demo", NOW) == f"trial {trial_id} skipped"
