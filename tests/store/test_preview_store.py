"""Preview offers in the database: one decision wins, closing never overwrites it, CHECKs hold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import IntegrityError

from dialer.states import PreviewOfferState as S
from dialer.store.errors import NotFound
from dialer.store.preview import (
    OfferNotOpen,
    close_offer,
    decide_offer,
    insert_offer,
    list_offers,
    offer_states,
    seat_offer,
    withdraw_open_offers,
)
from dialer.store.schema import preview_offers
from tests.store.conftest import NOW, add_leads

LATER = NOW + timedelta(seconds=30)


def _offer(engine: Engine, lead_id: int, seat: str = "s1") -> int:
    with engine.begin() as conn:
        return insert_offer(conn, "demo", seat, lead_id, NOW, NOW + timedelta(minutes=1))


def test_accept_then_dialled_and_a_second_decision_is_refused(engine: Engine) -> None:
    (lead,) = add_leads(engine, 1)
    offer = _offer(engine, lead)
    with engine.begin() as conn:
        assert seat_offer(conn, "s1", LATER)["id"] == offer  # type: ignore[index]
        decide_offer(conn, offer, True, LATER)
        assert seat_offer(conn, "s1", LATER) is None
        with pytest.raises(OfferNotOpen, match=f"offer {offer} is accepted, not offered"):
            decide_offer(conn, offer, False, LATER)
        assert not close_offer(conn, offer, S.WITHDRAWN, LATER, from_states=[S.OFFERED])
        assert close_offer(conn, offer, S.DIALLED, LATER, attempt_id="a-1")
        assert not close_offer(conn, offer, S.WITHDRAWN, LATER)  # closed already
        (row,) = list_offers(conn, campaign="demo", open_only=False)
    assert (row["state"], row["attempt_id"], row["phone_e164"]) == (
        "dialled",
        "a-1",
        "+12125550000",
    )
    assert row["decided_at"] == LATER and row["closed_at"] == LATER


def test_skip_keeps_its_reason_expired_and_unknown_offers_are_refused(engine: Engine) -> None:
    first, second = add_leads(engine, 2)
    skipped, stale = _offer(engine, first), _offer(engine, second, "s2")
    with engine.begin() as conn:
        decide_offer(conn, skipped, False, LATER, reason="wrong language")
        assert offer_states(conn, [skipped, stale]) == {skipped: "skipped", stale: "offered"}
        with pytest.raises(OfferNotOpen, match="expired"):
            decide_offer(conn, stale, True, NOW + timedelta(minutes=2))
        with pytest.raises(NotFound, match="no preview offer 999"):
            decide_offer(conn, 999, True, LATER)
        assert withdraw_open_offers(conn, "demo", LATER, "daemon restarted") == 2
        assert list_offers(conn, campaign="demo") == []
        rows = {r["id"]: r for r in list_offers(conn, open_only=False)}
    assert rows[skipped]["state"] == "withdrawn" and rows[stale]["reason"] == "daemon restarted"


def test_offer_states_are_checked_by_the_database(engine: Engine) -> None:
    (lead,) = add_leads(engine, 1)
    offer = _offer(engine, lead)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            update(preview_offers).where(preview_offers.c.id == offer).values(state="maybe")
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE attempts SET ivr_result = 'perhaps'"))
        conn.execute(
            text(
                "INSERT INTO attempts (id, campaign, phone_e164, state, placed_at, ivr_result, "
                "transferred) VALUES ('x', 'demo', '+1', 'ended', :at, 'perhaps', false)"
            ),
            {"at": NOW},
        )
