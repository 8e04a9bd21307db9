"""The database jobs behind preview offers and trials (the daemon's side, without Asterisk):
one transaction each, and an agent's decision made meanwhile is never overwritten."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select

from dialer.daemon.preview import close_offer_job, offer_job, place_offer_job
from dialer.daemon.trial_keeper import complete_trial_job, draw_trial_job
from dialer.states import CampaignState, DialMode, LeadStatus, PreviewOfferState
from dialer.store import make_engine, upgrade
from dialer.store.attempts import NewAttempt
from dialer.store.campaigns import apply_campaign, set_desired_state
from dialer.store.leads import claim_leads
from dialer.store.preview import decide_offer, list_offers
from dialer.store.schema import attempts, campaigns, leads, trial_samples
from dialer.store.trials import current_trial, draw_trial

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
S = PreviewOfferState


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    upgrade(sqlite_url)
    eng = make_engine(sqlite_url)
    with eng.begin() as conn:
        apply_campaign(conn, "look", DialMode.PREVIEW, {"name": "look"}, NOW)
        rows = [
            {"campaign": "look", "phone_e164": f"+1212555{i:04d}", "validated_at": NOW}
            for i in range(4)
        ]
        conn.execute(insert(leads), rows)
    yield eng
    eng.dispose()


def _offers(engine: Engine) -> tuple[list, dict[int, object]]:  # type: ignore[type-arg]
    with engine.begin() as conn:
        claimed = claim_leads(conn, "look", 3, NOW, "d1")
        ids = offer_job(
            conn, "look", [("s1", claimed[0]), ("s2", claimed[1])], [(claimed[2], None, None)],
            NOW, NOW + timedelta(minutes=1),
        )  # fmt: skip
    return claimed, dict(zip(ids, claimed, strict=False))


def _attempt(lead: object, seat: str) -> NewAttempt:
    return NewAttempt(
        "att-1", lead.id, lead.claim_token, "look", lead.phone_e164, "+12125550100",  # type: ignore[attr-defined]
        NOW, seat_id=seat,
    )  # fmt: skip


def test_offer_then_accept_places_the_attempt_with_the_seat(engine: Engine) -> None:
    claimed, offers = _offers(engine)
    first = next(iter(offers))
    with engine.begin() as conn:
        statuses = dict(conn.execute(select(leads.c.id, leads.c.status)).all())
        assert statuses[claimed[2].id] == "new"  # the refused one went back
        assert statuses[claimed[0].id] == "dialling"  # offered: still claimed
        decide_offer(conn, first, True, NOW)
        placed = place_offer_job(conn, first, (S.ACCEPTED,), None, _attempt(claimed[0], "s1"),
                                 0.0, None)  # fmt: skip
        assert placed
        row = conn.execute(select(attempts).where(attempts.c.id == "att-1")).mappings().one()
        (offer,) = [o for o in list_offers(conn, open_only=False) if o["id"] == first]
    assert (row["seat_id"], row["lead_id"], row["state"]) == ("s1", claimed[0].id, "in_flight")
    assert (offer["state"], offer["attempt_id"]) == ("dialled", "att-1")


def test_a_skip_made_meanwhile_wins_over_the_timeout_dial(engine: Engine) -> None:
    claimed, offers = _offers(engine)
    first = next(iter(offers))
    with engine.begin() as conn:
        decide_offer(conn, first, False, NOW, reason="no")
        # the daemon's timeout (on_timeout: dial) only dials an offer still ``offered``
        assert not place_offer_job(conn, first, (S.OFFERED,), "timeout", _attempt(claimed[0], "s1"),
                                   0.0, None)  # fmt: skip
        assert conn.execute(select(attempts)).first() is None
        retry = NOW + timedelta(hours=1)
        assert close_offer_job(conn, first, S.SKIPPED, (S.SKIPPED,), None,
                               (claimed[0], retry, None), NOW)  # fmt: skip
        lead = conn.execute(select(leads).where(leads.c.id == claimed[0].id)).mappings().one()
        (offer,) = [o for o in list_offers(conn, open_only=False) if o["id"] == first]
    assert (lead["status"], lead["next_call_at"]) == ("new", retry)
    assert (offer["state"], offer["reason"], offer["closed_at"]) == ("skipped", "no", NOW)


def test_withdraw_after_the_agent_accepted_does_nothing(engine: Engine) -> None:
    claimed, offers = _offers(engine)
    first = next(iter(offers))
    with engine.begin() as conn:
        decide_offer(conn, first, True, NOW)
        assert not close_offer_job(conn, first, S.EXPIRED, (S.OFFERED,), "timeout",
                                   (claimed[0], None, None), NOW)  # fmt: skip
        status = conn.execute(select(leads.c.status).where(leads.c.id == claimed[0].id)).scalar()
    assert status == LeadStatus.DIALLING.value  # still held for the accepted call


def test_trial_waits_for_leads_and_completion_pauses_the_campaign(engine: Engine) -> None:
    with engine.begin() as conn:
        apply_campaign(conn, "empty", DialMode.PREDICTIVE, {"name": "empty"}, NOW)
        assert draw_trial_job(conn, "empty", 0.5, [], 1, NOW) is None
        assert current_trial(conn, "empty") is None  # nothing recorded: drawn when leads come
        conn.execute(insert(leads).values(campaign="look", phone_raw="+1 312 555 0100"))
        trial_id, sample, population = draw_trial_job(conn, "look", 0.5, [], 3, NOW)  # type: ignore[misc]
        assert population == 5 and len(sample) == 2  # the unchecked lead was checked first
        assert {r for r in conn.execute(select(trial_samples.c.lead_id)).scalars()} == {
            s.lead_id for s in sample
        }
        set_desired_state(conn, "look", CampaignState.RUNNING, NOW)
        assert complete_trial_job(conn, trial_id, "look", NOW)
        assert not complete_trial_job(conn, trial_id, "look", NOW)  # once
        desired = conn.execute(select(campaigns.c.desired_state).where(campaigns.c.name == "look"))
        assert desired.scalar() == "paused"
        assert current_trial(conn, "look")["state"] == "complete"  # type: ignore[index]
        other = draw_trial(conn, "look", 0.5, [], 3, NOW)[1]
    assert other == sample  # the seed decides the sample


async def test_an_offer_accepted_while_the_daemon_polls_is_placed_after_its_acceptance() -> None:
    # Seen once in the preview end-to-end test: the attempt's placed_at was the step's clock,
    # read before the poll, 1 ms before the agent's decided_at. The race cannot be timed on a
    # real database, so here a stand-in poll accepts the offer while it runs and a stand-in
    # _place records the clock it is given; the end-to-end test checks the real path.
    import time
    from types import SimpleNamespace

    from dialer.daemon.preview import Offer, PreviewDialler

    dialler = PreviewDialler.__new__(PreviewDialler)
    dialler.offers = {7: Offer(7, "s1", None, time.time() + 60)}  # type: ignore[arg-type]
    dialler.campaign = SimpleNamespace(preview=SimpleNamespace(on_timeout="skip"))  # type: ignore[assignment]
    accepted_at: list[float] = []
    placed_at: list[float] = []

    async def poll(kind: str, job: object, ids: list[int]) -> dict[int, str]:
        time.sleep(0.002)  # the agent accepts while the poll runs
        accepted_at.append(time.time())
        return {7: S.ACCEPTED.value}

    async def place(offer: Offer, now: float, *rest: object) -> None:
        placed_at.append(now)

    dialler._db = poll  # type: ignore[method-assign,assignment]
    dialler._place = place  # type: ignore[method-assign,assignment]
    await dialler._follow_offers(time.time())
    assert placed_at and placed_at[0] >= accepted_at[0]
