"""Preview dialling for a campaign: each ready seat is offered a lead, its agent accepts or skips
it, and only an accepted lead is dialled, for that seat.

Per step of the campaign loop (see :meth:`PreviewDialler._preview_step`):

1. an offer whose seat is no longer ready (paused, logged out, phone down) is withdrawn and its
   lead released unchanged;
2. every ``PREVIEW_POLL_S`` the decisions stored in ``preview_offers`` (by the CRM or
   ``dialerctl preview``) are read: ``accepted`` → the lead is re-checked against the hopper rules
   and the DNC lists at dial time, the attempt created (seat recorded) and the offer closed as
   ``dialled`` in one transaction, then the call is placed with the seat reserved for it
   (:meth:`~dialer.engine.runner.CampaignRunner.call_placed_for_seat`); ``skipped`` → the lead goes
   back, due again after ``preview.skip_retry_s``; an offer past ``expires_at`` is dialled or
   given back as ``preview.on_timeout`` says;
3. every ready seat without an offer gets one: leads are claimed with the same hopper rules as the
   other modes (``claim_leads`` then ``may_dial`` with the DNC lists) and one ``offered`` row per
   seat is inserted, longest-idle seat first.

The lead stays claimed (status ``dialling``, no attempt) while it is offered, so no other seat or
daemon can take it; a daemon that dies leaves such claims to the next one's recovery, and the new
run closes its predecessor's open offers as ``withdrawn``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from dialer.daemon.campaign_settings import call_variables
from dialer.daemon.dialling import Dialler
from dialer.daemon.worker_base import log, utc
from dialer.daemon.worker_jobs import claim_with_dnc
from dialer.engine.leads import DncEntry, DncSet
from dialer.engine.seats import SeatState as EngineSeatState
from dialer.states import LeadStatus, PreviewOfferState, SeatRequest
from dialer.store.attempts import NewAttempt, create_attempt, new_attempt_id
from dialer.store.dnc import dnc_matches
from dialer.store.errors import LeadNotClaimed, LeaseLost
from dialer.store.followups import bind_callback
from dialer.store.leads import ClaimedLead, release_lead
from dialer.store.preview import close_offer, insert_offer, offer_states
from dialer.store.trials import link_trial_attempt

PREVIEW_POLL_S = 0.25
"""How often the agents' decisions are read from the database."""
EMPTY_LIST_BACKOFF_S = 1.0
"""After a claim found fewer leads than ready seats, wait this long before claiming again."""

_Release = tuple[ClaimedLead, datetime | None, LeadStatus | None]


@dataclass(slots=True)
class Offer:
    """An open offer of this worker: the lead (claimed) and the seat it waits for."""

    offer_id: int
    seat_id: str
    lead: ClaimedLead
    expires_at: float


class PreviewDialler(Dialler):
    """The preview part of :class:`~dialer.daemon.campaign_worker.CampaignWorker`."""

    offers: dict[int, Offer]
    _next_offer_poll: float
    _next_offer_claim: float

    @property
    def preview(self) -> bool:
        return self.campaign.dial_mode == "preview"

    async def _preview_step(self, now: float) -> None:
        for offer in list(self.offers.values()):
            seat = self.runner.seats.seats.get(offer.seat_id)
            if seat is None or seat.state is not EngineSeatState.READY:
                state = seat.state.value if seat is not None else "unknown"
                await self._withdraw(offer, f"seat {state}", now)
        if time.monotonic() >= self._next_offer_poll:
            self._next_offer_poll = time.monotonic() + PREVIEW_POLL_S
            await self._follow_offers(now)
        await self._offer_leads(now)

    # ------------------------------------------------------------------ decisions

    async def _follow_offers(self, now: float) -> None:
        if not self.offers:
            return
        try:
            states = await self._db("other", offer_states, list(self.offers))
        except Exception as exc:
            self._db_trouble(exc)
            return
        # A decision read here may be younger than the step's clock (an agent accepted while the
        # poll ran): the attempt must not look placed before its offer was accepted.
        now = max(now, time.time())
        settings = self.campaign.preview
        for offer_id, offer in list(self.offers.items()):
            state = states.get(offer_id)
            if state == PreviewOfferState.ACCEPTED.value:
                await self._place(offer, now, (PreviewOfferState.ACCEPTED,), None)
            elif state == PreviewOfferState.SKIPPED.value:
                await self._give_back(offer, PreviewOfferState.SKIPPED, now, None)
            elif state == PreviewOfferState.OFFERED.value:
                if now < offer.expires_at:
                    continue
                if settings.on_timeout == "dial":
                    await self._place(
                        offer, now, (PreviewOfferState.OFFERED,), "no answer in time: dialled"
                    )
                else:
                    await self._give_back(
                        offer, PreviewOfferState.EXPIRED, now, "no answer in time: skipped"
                    )
            else:  # closed or removed behind the daemon's back: the lead goes back
                await self._drop_lost(offer, state, now)

    async def _drop_lost(self, offer: Offer, state: str | None, now: float) -> None:
        """An offer closed or deleted by someone else: forget it, release its lead as it was."""
        log.warning("preview_offer_lost", offer=offer.offer_id, state=state or "deleted")
        lead = offer.lead
        try:
            await self._db("release_lead", release_lead, lead.id, lead.claim_token, utc(now))
        except Exception as exc:
            self._db_trouble(exc)
            return
        del self.offers[offer.offer_id]

    async def _place(
        self,
        offer: Offer,
        now: float,
        from_states: tuple[PreviewOfferState, ...],
        reason: str | None,
    ) -> None:
        """Dial an accepted (or timed-out, ``on_timeout: dial``) offer for its seat."""
        seat = self.runner.seats.seats.get(offer.seat_id)
        if seat is None or seat.state is not EngineSeatState.READY:
            await self._withdraw(offer, "seat not ready when the call was due", now)
            return
        server, lease = self.server, self.lease
        if server is None or lease is None:
            return
        lead, at = offer.lead, utc(now)
        try:
            listed = await self._db("other", dnc_matches, [lead.phone_e164], self.name)
        except Exception as exc:
            self._db_trouble(exc)
            return
        dnc = DncSet(DncEntry(n, self.name) for n in listed)
        refused = self._refusal(lead, at, dnc)
        if refused is not None:
            await self._withdraw(offer, "may not be called now (dial-time check)", now, refused)
            return
        caller_id = self._caller_id(lead, at)
        if caller_id is None:
            return  # stays accepted: tried again at the next poll
        attempt = NewAttempt(
            new_attempt_id(), lead.id, lead.claim_token, self.name, lead.phone_e164, caller_id,
            at, server=server, daemon=self.shared.owner, seat_id=offer.seat_id,
            lease_token=lease.token,
        )  # fmt: skip
        binding_s = self.campaign.caller_id.callback_binding_s
        try:
            placed = await self._db(
                "create_attempt", place_offer_job, offer.offer_id, from_states, reason, attempt,
                binding_s, self.trial_id,
            )  # fmt: skip
        except LeadNotClaimed as exc:
            log.warning("preview_lead_lost", offer=offer.offer_id, error=str(exc))
            self.offers.pop(offer.offer_id, None)
            return
        except LeaseLost:
            self._lease_lost_on_claim()
            return
        except Exception as exc:
            self._db_trouble(exc)
            return
        if not placed:
            return  # the agent changed the decision meanwhile: seen at the next poll
        del self.offers[offer.offer_id]
        log.info("preview_dialled", offer=offer.offer_id, seat=offer.seat_id, lead=lead.id,
                 attempt=attempt.id, reason=reason)  # fmt: skip
        target = self.shared.config.server(server)
        await self._originate(
            attempt.id, lead, caller_id, server, call_variables(self.campaign), target,
            seat_id=offer.seat_id,
        )  # fmt: skip

    async def _give_back(
        self, offer: Offer, state: PreviewOfferState, now: float, reason: str | None
    ) -> None:
        """A skipped or expired offer: the lead is released, due again after skip_retry_s (a
        skip keeps the agent's reason: ``reason`` None)."""
        retry = utc(now) + timedelta(seconds=self.campaign.preview.skip_retry_s)
        release: _Release = (offer.lead, retry, None)
        from_states = (
            (PreviewOfferState.SKIPPED,)
            if state is PreviewOfferState.SKIPPED
            else (PreviewOfferState.OFFERED,)
        )
        await self._close(offer, state, from_states, reason, release, now)

    async def _withdraw(
        self, offer: Offer, reason: str, now: float, release: _Release | None = None
    ) -> None:
        """The daemon takes an open offer back (seat gone, campaign paused...); its lead is
        released as it was (or as ``release`` says, after a dial-time refusal)."""
        await self._close(
            offer,
            PreviewOfferState.WITHDRAWN,
            (PreviewOfferState.OFFERED, PreviewOfferState.ACCEPTED),
            reason,
            release or (offer.lead, None, None),
            now,
        )

    async def _withdraw_all(self, reason: str) -> None:
        now = time.time()
        for offer in list(self.offers.values()):
            await self._withdraw(offer, reason, now)

    async def _close(
        self,
        offer: Offer,
        state: PreviewOfferState,
        from_states: tuple[PreviewOfferState, ...],
        reason: str | None,
        release: _Release,
        now: float,
    ) -> None:
        try:
            closed = await self._db(
                "release_lead", close_offer_job, offer.offer_id, state, from_states, reason,
                release, utc(now),
            )  # fmt: skip
        except Exception as exc:
            self._db_trouble(exc)
            return
        if not closed:
            return  # decided meanwhile (e.g. accepted as the seat paused): seen at the next poll
        del self.offers[offer.offer_id]
        log.info("preview_offer_closed", offer=offer.offer_id, seat=offer.seat_id,
                 lead=offer.lead.id, state=state.value, reason=reason)  # fmt: skip

    # ------------------------------------------------------------------ new offers

    def _seats_wanting_offers(self) -> list[str]:
        """Ready seats (asked ready, phone up) without an offer, longest idle first."""
        taken = {o.seat_id for o in self.offers.values()}
        ready = [
            seat
            for seat in self.runner.seats.seats.values()
            if seat.state is EngineSeatState.READY
            and seat.seat_id not in taken
            and seat.seat_id in self.seats
            and self.seats[seat.seat_id].requested == SeatRequest.READY.value
        ]
        return [s.seat_id for s in sorted(ready, key=lambda s: s.since)]

    async def _offer_leads(self, now: float) -> None:
        wanting = self._seats_wanting_offers()
        if not wanting or time.monotonic() < self._next_offer_claim:
            return
        lease = self.lease
        assert lease is not None
        campaign, at = self.campaign, utc(now)
        try:
            claimed, listed = await self._db(
                "claim_leads", claim_with_dnc, self.name, len(wanting), at, self.shared.owner,
                campaign.attempts.max_total, campaign.attempts.max_per_day, lease.token,
                self.trial_id,
            )  # fmt: skip
        except LeaseLost:
            self._lease_lost_on_claim()
            return
        except Exception as exc:
            self._db_trouble(exc)
            return
        if len(claimed) < len(wanting):
            self._next_offer_claim = time.monotonic() + EMPTY_LIST_BACKOFF_S
        dnc = DncSet(DncEntry(n, self.name) for n in listed)
        releases: list[_Release] = []
        offering: list[tuple[str, ClaimedLead]] = []
        seats = iter(wanting)
        for lead in claimed:
            refused = self._refusal(lead, at, dnc)
            if refused is not None:
                releases.append(refused)
                continue
            seat_id = next(seats, None)
            if seat_id is None:
                releases.append((lead, None, None))
                continue
            offering.append((seat_id, lead))
        if not offering and not releases:
            return
        expires = at + timedelta(seconds=campaign.preview.offer_timeout_s)
        try:
            ids = await self._db("other", offer_job, self.name, offering, releases, at, expires)
        except Exception as exc:
            self._db_trouble(exc)
            return
        for offer_id, (seat_id, lead) in zip(ids, offering, strict=True):
            self.offers[offer_id] = Offer(offer_id, seat_id, lead, expires.timestamp())
            log.info("preview_offered", offer=offer_id, seat=seat_id, lead=lead.id)


# ---------------------------------------------------------------------- database jobs


def offer_job(
    conn: Connection,
    campaign: str,
    offering: list[tuple[str, ClaimedLead]],
    releases: list[_Release],
    now: datetime,
    expires: datetime,
) -> list[int]:
    """Release the refused leads and insert one ``offered`` row per (seat, lead), in one
    transaction; returns the offers' ids in order."""
    for lead, retry_at, status in releases:
        release_lead(conn, lead.id, lead.claim_token, now, next_call_at=retry_at, status=status)
    return [
        insert_offer(conn, campaign, seat_id, lead.id, now, expires) for seat_id, lead in offering
    ]


def close_offer_job(
    conn: Connection,
    offer_id: int,
    state: PreviewOfferState,
    from_states: tuple[PreviewOfferState, ...],
    reason: str | None,
    release: _Release,
    now: datetime,
) -> bool:
    """Close the offer as ``state`` and release its lead, in one transaction; False (nothing
    written) when the offer had left ``from_states``."""
    if not close_offer(conn, offer_id, state, now, from_states=from_states, reason=reason):
        return False
    lead, retry_at, status = release
    release_lead(conn, lead.id, lead.claim_token, now, next_call_at=retry_at, status=status)
    return True


def place_offer_job(
    conn: Connection,
    offer_id: int,
    from_states: tuple[PreviewOfferState, ...],
    reason: str | None,
    attempt: NewAttempt,
    binding_s: float,
    trial_id: int | None,
) -> bool:
    """Close the offer as ``dialled`` and create its attempt (with the seat), in one transaction
    committed before the Originate; False (nothing written) when the offer had left
    ``from_states``."""
    now = attempt.placed_at
    if not close_offer(
        conn, offer_id, PreviewOfferState.DIALLED, now, from_states=from_states, reason=reason,
        attempt_id=attempt.id,
    ):  # fmt: skip
        return False
    create_attempt(conn, attempt)
    if binding_s > 0 and attempt.caller_id is not None:
        bind_callback(conn, attempt.caller_id, attempt.phone_e164, attempt.campaign, now,
                      now + timedelta(seconds=binding_s), lead_id=attempt.lead_id,
                      attempt_id=attempt.id)  # fmt: skip
    if trial_id is not None and attempt.lead_id is not None:
        link_trial_attempt(conn, trial_id, attempt.lead_id, attempt.id)
    return True
