"""Dispositions, wrap-up times, callback lookup and inbound-call records on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from dialer.states import AttemptOutcome, InboundOutcome, InboundRoute
from dialer.store import queries as q
from dialer.store.dispositions import (
    BadDisposition,
    dispose_attempt,
    disposed_attempts,
    record_wrapup,
)
from dialer.store.followups import bind_callback, find_callback, number_forms
from dialer.store.inbound import (
    InboundArrival,
    InboundEnd,
    finish_inbound_call,
    get_inbound_call,
    record_inbound_arrival,
    record_inbound_route,
)
from dialer.store.schema import attempts, inbound_calls, leads
from tests.store.conftest import NOW, add_leads

POOL = "+13125550000"


def _dial(engine: Engine) -> tuple[int, str, str]:
    """A lead dialled and its attempt: (lead id, attempt id, the lead's number)."""
    with engine.begin() as conn:
        q.upsert_caller_id(conn, POOL, "main", NOW, area_code="312")
        (lead,) = q.claim_leads(conn, "demo", 1, NOW, "daemon-a")
    attempt_id = q.new_attempt_id()
    with engine.begin() as conn:
        q.create_attempt(
            conn,
            q.NewAttempt(attempt_id, lead.id, lead.claim_token, "demo", lead.phone_e164, POOL, NOW),
        )
    return lead.id, attempt_id, lead.phone_e164


def test_a_disposition_is_recorded_with_its_time_and_copied_to_the_lead(engine: Engine) -> None:
    add_leads(engine, 1)
    lead_id, attempt_id, _ = _dial(engine)
    add_leads(engine, 1, phone_e164="+12125559999", phone_raw="2125559999")
    _, other, _ = _dial(engine)
    with engine.begin() as conn:
        assert disposed_attempts(conn, [attempt_id, other]) == set()
        assert dispose_attempt(conn, attempt_id, "  sale ", NOW + timedelta(seconds=30))
        assert not dispose_attempt(conn, "no-such-attempt", "sale", NOW)
        assert disposed_attempts(conn, [attempt_id, other, "nope"]) == {attempt_id}
        # A CRM writing the column directly (no disposed_at) counts too.
        conn.execute(attempts.update().where(attempts.c.id == other).values(disposition="nope"))
        assert disposed_attempts(conn, [attempt_id, other]) == {attempt_id, other}
    with engine.connect() as conn:
        row = conn.execute(select(attempts).where(attempts.c.id == attempt_id)).mappings().one()
        lead = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().one()
    assert (row["disposition"], row["disposed_at"]) == ("sale", NOW + timedelta(seconds=30))
    assert lead["last_disposition"] == "sale"


@pytest.mark.parametrize("code", ["", "   ", "x" * 65])
def test_a_bad_disposition_is_refused_with_the_reason(engine: Engine, code: str) -> None:
    add_leads(engine, 1)
    _, attempt_id, _ = _dial(engine)
    with pytest.raises(BadDisposition, match=r"empty|at most 64"), engine.begin() as conn:
        dispose_attempt(conn, attempt_id, code, NOW)


def test_wrap_up_time_goes_to_the_attempt_or_the_inbound_call(engine: Engine) -> None:
    add_leads(engine, 1)
    _, attempt_id, number = _dial(engine)
    arrival = InboundArrival("in-1", number, POOL, NOW, campaign="demo")
    with engine.begin() as conn:
        record_inbound_arrival(conn, arrival)
        assert record_wrapup(conn, attempt_id, 12.34567)
        assert record_wrapup(conn, "in-1", 3.0)
        assert not record_wrapup(conn, "unknown", 1.0)
        wrapped = conn.execute(select(attempts.c.wrapup_s)).scalar_one()
        inbound = get_inbound_call(conn, "in-1")
    assert wrapped == pytest.approx(12.346)
    assert inbound is not None and inbound["wrapup_s"] == 3.0


def test_a_callback_finds_its_binding_and_the_seat_that_took_the_call(engine: Engine) -> None:
    add_leads(engine, 1)
    lead_id, attempt_id, number = _dial(engine)
    with engine.begin() as conn:
        bind_callback(conn, POOL, number, "demo", NOW, NOW + timedelta(days=7),
                      lead_id=lead_id, attempt_id=attempt_id)  # fmt: skip
        assert q.update_attempt(conn, attempt_id, seat_id="s7", connected_at=NOW)
    later = NOW + timedelta(hours=2)
    with engine.connect() as conn:
        # Asterisk gives the dialled pool number as digits only.
        target = find_callback(conn, POOL.lstrip("+"), number, later)
        assert find_callback(conn, POOL, "+19995550000", later) is None
        assert find_callback(conn, POOL, number, NOW + timedelta(days=8)) is None  # expired
    assert target is not None
    assert (target.campaign, target.lead_id, target.attempt_id, target.seat_id) == (
        "demo", lead_id, attempt_id, "s7",
    )  # fmt: skip


def test_number_forms_cover_plus_and_digits() -> None:
    assert number_forms("12125550100") == ["12125550100", "+12125550100"]
    assert number_forms(" +1 212 555 0100") == ["+1 212 555 0100", "+12125550100", "12125550100"]
    assert number_forms("anonymous") == ["anonymous"]


def test_an_inbound_call_is_recorded_from_arrival_to_end(engine: Engine) -> None:
    arrival = InboundArrival("in-9", "+12125550001", POOL, NOW, campaign="demo", lead_id=None)
    end = InboundEnd(
        InboundOutcome.CONNECTED,
        ended_at=NOW + timedelta(seconds=40),
        connected_at=NOW + timedelta(seconds=1),
        wait_s=1.0,
        talk_s=39.0,
    )
    with engine.begin() as conn:
        record_inbound_arrival(conn, arrival)
        record_inbound_arrival(conn, arrival)  # idempotent
        assert record_inbound_route(conn, "in-9", InboundRoute.SAME_SEAT, "s1")
        assert finish_inbound_call(conn, "in-9", end)
        assert not finish_inbound_call(conn, "in-0", end)
        row = get_inbound_call(conn, "in-9")
    assert row is not None
    assert (row["route"], row["seat_id"], row["outcome"]) == ("same_seat", "s1", "connected")
    assert (row["wait_s"], row["talk_s"], row["ended_at"]) == (1.0, 39.0, end.ended_at)


def test_the_database_refuses_unknown_route_and_outcome_words(engine: Engine) -> None:
    row = {"id": "x", "caller_number": "1", "dialled_number": "2", "arrived_at": NOW}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(inbound_calls).values(**row, route="somewhere"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(inbound_calls).values(**row, outcome="maybe"))


def test_robot_fields_are_written_with_the_result(engine: Engine) -> None:
    add_leads(engine, 1)
    _, attempt_id, _ = _dial(engine)
    pressed = NOW + timedelta(seconds=9)
    with engine.begin() as conn:
        assert q.update_attempt(conn, attempt_id, handover_at=pressed)
        result = q.AttemptResult(
            outcome=AttemptOutcome.HUMAN, ended_at=NOW + timedelta(seconds=60),
            ivr_result="pressed", transferred=True, wait_s=0.4,
        )  # fmt: skip
        assert q.finish_attempt(conn, attempt_id, result, None)
        row = conn.execute(select(attempts)).mappings().one()
    assert (row["ivr_result"], row["handover_at"], row["transferred"]) == ("pressed", pressed, True)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(attempts.update().values(ivr_result="maybe"))
