"""The lead claim: best leads first, only dialable ones, never one lead twice."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, insert, select, update

from dialer.states import LeadStatus
from dialer.store import queries as q
from dialer.store.errors import LeadNotClaimed
from dialer.store.schema import attempts, dnc_entries, leads
from tests.store.conftest import NOW, add_leads


def _set(engine: Engine, lead_id: int, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(update(leads).where(leads.c.id == lead_id).values(**values))


def _attempt(conn: Connection, lead: int, phone: str, placed: datetime, outcome: str) -> None:
    conn.execute(
        insert(attempts).values(
            id=str(uuid.uuid4()),
            lead_id=lead,
            campaign="demo",
            phone_e164=phone,
            state="ended",
            outcome=outcome,
            placed_at=placed,
            ended_at=placed + timedelta(seconds=30),
            created_at=placed,
        )
    )


def _claim(engine: Engine, n: int, **kw: object) -> list[q.ClaimedLead]:
    with engine.begin() as conn:
        return q.claim_leads(conn, "demo", n, NOW, "daemon-a", **kw)  # type: ignore[arg-type]


def test_claim_order_callbacks_then_retries_then_fresh_then_priority(engine: Engine) -> None:
    fresh_low, fresh_high, retry, callback, retry_later = add_leads(engine, 5)
    _set(engine, fresh_high, priority=5)
    _set(engine, retry, status="retry", next_call_at=NOW - timedelta(minutes=5))
    _set(engine, callback, status="callback", next_call_at=NOW - timedelta(minutes=1))
    _set(engine, retry_later, status="retry", next_call_at=NOW + timedelta(minutes=1))

    claimed = _claim(engine, 10)

    assert [c.id for c in claimed] == [callback, retry, fresh_high, fresh_low]
    assert [c.status for c in claimed] == ["callback", "retry", "new", "new"]
    assert claimed[0].is_callback and not claimed[1].is_callback
    assert claimed[0].time_zones == ("America/New_York",)
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(leads.c.id, leads.c.status)).all())
    assert statuses[retry_later] == "retry"
    assert {statuses[i] for i in (fresh_low, fresh_high, retry, callback)} == {"dialling"}


def test_claim_skips_unchecked_dnc_final_and_capped_leads(engine: Engine) -> None:
    ok, unchecked, dnc_global, dnc_here, done, capped_total, capped_today, other_day = add_leads(
        engine, 8
    )
    _set(engine, unchecked, validated_at=None)
    _set(engine, done, status="done")
    _set(engine, capped_total, attempts_total=3)
    with engine.begin() as conn:
        numbers = dict(conn.execute(select(leads.c.id, leads.c.phone_e164)).all())
        # The day cap counts calls placed in the last 24 hours: two for capped_today (one of
        # them on the previous UTC day); for other_day one 24 h old or more and one never placed.
        for lead, hours_ago, outcome in [
            (capped_today, 23, "busy"),
            (capped_today, 1, "no_answer"),
            (other_day, 24, "busy"),
            (other_day, 30, "busy"),
            (other_day, 2, "machine"),
            (other_day, 1, "cancelled"),
        ]:
            _attempt(conn, lead, numbers[lead], NOW - timedelta(hours=hours_ago), outcome)
        conn.execute(
            insert(dnc_entries),
            [
                {"phone_e164": numbers[dnc_global], "campaign": None},
                {"phone_e164": numbers[dnc_here], "campaign": "demo"},
                {"phone_e164": numbers[ok], "campaign": "other"},
            ],
        )

    claimed = _claim(engine, 10, max_attempts_total=3, max_attempts_per_day=2)

    assert sorted(c.id for c in claimed) == [ok, other_day]
    by_id = {c.id: c for c in claimed}
    assert by_id[other_day].recent_attempts == (NOW - timedelta(hours=2),)
    assert by_id[ok].recent_attempts == ()


def test_release_restores_the_status_and_reschedules(engine: Engine) -> None:
    a, b = add_leads(engine, 2)
    _set(engine, a, status="retry")
    claimed = {c.id: c for c in _claim(engine, 2)}
    later = NOW + timedelta(hours=10)
    with engine.begin() as conn:
        assert q.release_lead(conn, a, claimed[a].claim_token, NOW, next_call_at=later)
        assert not q.release_lead(conn, a, claimed[a].claim_token, NOW)  # already released
        assert not q.release_lead(conn, b, "not-the-token", NOW)
        assert q.release_lead(conn, b, claimed[b].claim_token, NOW, status=LeadStatus.DNC)
        rows = {r.id: r for r in conn.execute(select(leads)).all()}
    assert (rows[a].status, rows[a].next_call_at, rows[a].claim_token) == ("retry", later, None)
    assert rows[b].status == "dnc"


def test_stale_claims_without_attempt_are_recovered(engine: Engine) -> None:
    a, b = add_leads(engine, 2)
    claimed = {c.id: c for c in _claim(engine, 2)}
    with engine.begin() as conn:
        q.create_attempt(
            conn,
            q.NewAttempt(q.new_attempt_id(), b, claimed[b].claim_token, "demo", "+1", None, NOW),
        )
        assert q.recover_stale_claims(conn, "demo", NOW) == 0  # claimed at NOW: not stale
        assert q.recover_stale_claims(conn, "demo", NOW + timedelta(minutes=5)) == 1
        rows = dict(conn.execute(select(leads.c.id, leads.c.status)).all())
    assert rows == {a: "new", b: "dialling"}


def test_one_live_attempt_per_lead(engine: Engine) -> None:
    (lead_id,) = add_leads(engine, 1)
    (lead,) = _claim(engine, 1)
    first = q.NewAttempt(q.new_attempt_id(), lead_id, lead.claim_token, "demo", "+1", None, NOW)
    with engine.begin() as conn:
        q.create_attempt(conn, first)
    second = q.NewAttempt(q.new_attempt_id(), lead_id, lead.claim_token, "demo", "+1", None, NOW)
    with pytest.raises(LeadNotClaimed), engine.begin() as conn:
        q.create_attempt(conn, second)


@pytest.mark.parametrize("claimers", [4])
def test_concurrent_claimers_never_share_a_lead(engine: Engine, claimers: int) -> None:
    add_leads(engine, 100)
    taken: list[list[int]] = [[] for _ in range(claimers)]
    errors: list[BaseException] = []
    start = threading.Barrier(claimers)

    def worker(k: int) -> None:
        try:
            start.wait()
            while True:
                with engine.begin() as conn:
                    got = q.claim_leads(conn, "demo", 3, NOW, f"daemon-{k}")
                if not got:
                    return
                taken[k].extend(c.id for c in got)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(claimers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    every = [i for ids in taken for i in ids]
    assert len(every) == 100
    assert len(set(every)) == 100
    with engine.connect() as conn:
        owners = conn.execute(select(leads.c.claimed_by).distinct()).scalars().all()
    assert all(o and o.startswith("daemon-") for o in owners)
