"""Campaign leases: one owner at a time, renewals by the holder only, fencing after a takeover."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from dialer.store import queries as q
from dialer.store.errors import LeaseLost
from tests.store.conftest import NOW, add_leads


def test_one_owner_at_a_time_and_takeover_after_expiry(engine: Engine) -> None:
    with engine.begin() as conn:
        a = q.take_lease(conn, "demo", "daemon-a", ttl_s=30)
        assert a is not None and a.token == 1
        assert q.take_lease(conn, "demo", "daemon-b", ttl_s=30) is None
        renewed = q.renew_lease(conn, a, ttl_s=30)
        assert renewed is not None and renewed.expires_at >= a.expires_at
        # an expired lease (ttl 0: expires at once) is free for the taking
        assert q.renew_lease(conn, a, ttl_s=0) is not None
        b = q.take_lease(conn, "demo", "daemon-b", ttl_s=30)
        assert b is not None and b.token == 2 and b.owner == "daemon-b"
        assert q.renew_lease(conn, a, ttl_s=30) is None  # a lost it
        assert not q.release_lease(conn, a)
        assert q.release_lease(conn, b)
        c = q.take_lease(conn, "demo", "daemon-a", ttl_s=30)
        assert c is not None and c.token == 3
        current = q.current_lease(conn, "demo")
        assert current is not None and current.owner == "daemon-a"


def test_stale_token_cannot_claim_or_dial(engine: Engine) -> None:
    add_leads(engine, 3)
    with engine.begin() as conn:
        a = q.take_lease(conn, "demo", "daemon-a", ttl_s=30)
        assert a is not None
        (lead,) = q.claim_leads(conn, "demo", 1, NOW, "daemon-a", lease_token=a.token)
        q.release_lease(conn, a)
        b = q.take_lease(conn, "demo", "daemon-b", ttl_s=30)
        assert b is not None
    with pytest.raises(LeaseLost), engine.begin() as conn:
        q.claim_leads(conn, "demo", 1, NOW, "daemon-a", lease_token=a.token)
    new = q.NewAttempt(
        q.new_attempt_id(), lead.id, lead.claim_token, "demo", "+1", None, NOW, lease_token=a.token
    )
    with pytest.raises(LeaseLost), engine.begin() as conn:
        q.create_attempt(conn, new)
    with engine.begin() as conn:
        assert len(q.claim_leads(conn, "demo", 5, NOW, "daemon-b", lease_token=b.token)) == 2
