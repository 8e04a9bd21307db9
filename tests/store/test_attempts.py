"""Attempts: created before the call, finished once with the lead's new status in one go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from dialer.states import AttemptOutcome, LeadStatus
from dialer.store import queries as q
from dialer.store.schema import attempts, caller_ids, leads, outbox
from tests.store.conftest import NOW, add_leads


def _dial(engine: Engine, caller_id: str | None = "+13125550000") -> tuple[int, str]:
    with engine.begin() as conn:
        q.upsert_caller_id(conn, "+13125550000", "main", NOW, area_code="312")
        (lead,) = q.claim_leads(conn, "demo", 1, NOW, "daemon-a")
    attempt_id = q.new_attempt_id()
    with engine.begin() as conn:
        q.create_attempt(
            conn,
            q.NewAttempt(
                attempt_id, lead.id, lead.claim_token, "demo", lead.phone_e164, caller_id, NOW
            ),
        )
    return lead.id, attempt_id


def test_create_counts_the_attempt_on_lead_and_caller_id(engine: Engine) -> None:
    add_leads(engine, 1)
    lead_id, attempt_id = _dial(engine)
    with engine.connect() as conn:
        lead = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
        number = conn.execute(select(caller_ids)).one()
        live = q.in_flight_attempts(conn, "demo")
    assert (lead.attempts_total, lead.attempts_today, lead.active_attempt_id) == (1, 1, attempt_id)
    assert lead.last_attempt_at == NOW
    assert (number.calls_today, number.calls_total, number.last_used_at) == (1, 1, NOW)
    assert [a["id"] for a in live] == [attempt_id]


def test_finish_writes_outcome_lead_status_and_followups_once(engine: Engine) -> None:
    add_leads(engine, 1)
    lead_id, attempt_id = _dial(engine)
    answered = NOW + timedelta(seconds=12)
    with engine.begin() as conn:
        assert q.update_attempt(conn, attempt_id, ringing_at=NOW + timedelta(seconds=1))
        assert q.update_attempt(conn, attempt_id, answered_at=answered, amd_result="human")
    result = q.AttemptResult(
        outcome=AttemptOutcome.ABANDONED,
        ended_at=NOW + timedelta(seconds=20),
        hangup_cause=16,
        ring_s=11.0,
    )
    retry_at = NOW + timedelta(days=3)
    with engine.begin() as conn:
        assert q.finish_attempt(
            conn,
            attempt_id,
            result,
            q.LeadUpdate(LeadStatus.RETRY, retry_at),
            outbox_requests=[q.OutboxRequest("sms", {"template": "sorry"})],
        )
        assert not q.finish_attempt(conn, attempt_id, result, q.LeadUpdate(LeadStatus.DONE))
        assert not q.update_attempt(conn, attempt_id, talk_s=3.0)
    with engine.connect() as conn:
        attempt = conn.execute(select(attempts)).one()
        lead = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
        number = conn.execute(select(caller_ids)).one()
        messages = conn.execute(select(outbox)).all()
        assert q.in_flight_attempts(conn) == []
    assert (attempt.state, attempt.outcome, attempt.hangup_cause) == ("ended", "abandoned", 16)
    assert attempt.answered_at == answered and attempt.amd_result == "human"
    assert (lead.status, lead.next_call_at, lead.last_outcome) == ("retry", retry_at, "abandoned")
    assert lead.abandoned_at == answered
    assert lead.active_attempt_id is None and lead.claim_token is None
    assert number.answers_total == 1
    assert [(m.kind, m.lead_id, m.attempt_id, m.payload) for m in messages] == [
        ("sms", lead_id, attempt_id, {"template": "sorry"})
    ]


def test_disposition_is_copied_to_the_lead(engine: Engine) -> None:
    add_leads(engine, 1)
    lead_id, attempt_id = _dial(engine, caller_id=None)
    with engine.begin() as conn:
        q.finish_attempt(
            conn,
            attempt_id,
            q.AttemptResult(AttemptOutcome.HUMAN, NOW + timedelta(minutes=3), talk_s=170.0),
            q.LeadUpdate(LeadStatus.DONE),
        )
        assert q.dispose_attempt(conn, attempt_id, "sale", NOW + timedelta(minutes=4))
        assert not q.dispose_attempt(conn, "no-such-attempt", "sale", NOW)
        lead = conn.execute(select(leads).where(leads.c.id == lead_id)).one()
    assert (lead.status, lead.last_disposition, lead.abandoned_at) == ("done", "sale", None)
