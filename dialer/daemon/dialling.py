"""Dialling for a campaign: claim as many leads as the runner asks for, re-check each against the
hopper rules and the DNC lists at dial time, choose a caller ID, create the attempts (committed)
and only then send the Originates."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from dialer.config import AsteriskServer
from dialer.daemon.campaign_settings import call_variables
from dialer.daemon.worker_base import CallInfo, WorkerBase, log, utc
from dialer.daemon.worker_jobs import claim_with_dnc, create_attempts
from dialer.engine import numbers
from dialer.engine.events import OriginateFailed
from dialer.engine.leads import DncEntry, DncSet, LeadView, Refusal, may_dial
from dialer.states import LeadStatus
from dialer.store.attempts import new_attempt_id
from dialer.store.errors import LeaseLost
from dialer.store.leads import ClaimedLead, release_lead

NO_RETRY_TIME_DELAY = timedelta(hours=1)

_REFUSAL_METRIC = {
    Refusal.OUTSIDE_HOURS: "outside_calling_hours",
    Refusal.HOLIDAY: "holiday",
    Refusal.DNC_GLOBAL: "dnc",
    Refusal.DNC_CAMPAIGN: "dnc",
    Refusal.MAX_ATTEMPTS_TOTAL: "attempt_cap",
    Refusal.MAX_ATTEMPTS_DAY: "attempt_cap",
    Refusal.MIN_GAP: "min_gap",
    Refusal.ABANDON_72H: "abandon_72h",
    Refusal.NOT_DUE: "not_due",
}


MAX_DIALS_PER_STEP = 40
"""Leads claimed and attempts created in one dial step at most (one database transaction each)."""


class Dialler(WorkerBase):
    """The dialling part of :class:`~dialer.daemon.campaign_worker.CampaignWorker`."""

    async def _dial_step(self, now: float) -> None:
        server = self.server
        assert server is not None
        trims = self.runner.trim_ringing(now)
        if trims:
            # (lines the seats could not take; records and ledger collected as after a tick)
            self.metrics.ring_trimmed(self.name, len(trims))
            await self._carry_out(trims, now, from_tick=True)
        demand = self.runner.dial_demand(now)
        if demand <= 0:
            return
        if demand > MAX_DIALS_PER_STEP:
            # (the rest is asked again next step, 150 ms on: a long claim + attempts transaction
            # would outlast the campaign lease on a loaded database)
            self.runner.release_demand(demand - MAX_DIALS_PER_STEP)
            demand = MAX_DIALS_PER_STEP
        capacity = self.shared.telephony.servers[server].free_capacity
        if capacity < demand:
            self.runner.release_demand(demand - capacity)
            if capacity == 0:
                self.metrics.dial_rejected(self.name, "line_limit")
            demand = capacity
        if demand <= 0:
            return
        lease = self.lease
        assert lease is not None
        campaign = self.campaign
        at = utc(now)
        try:
            claimed, listed = await self._db(
                "claim_leads", claim_with_dnc, self.name, demand, at, self.shared.owner,
                campaign.attempts.max_total, campaign.attempts.max_per_day, lease.token,
                self.trial_id,
            )  # fmt: skip
            self.db_ok = True
        except LeaseLost:
            self.runner.release_demand(demand)
            self._lease_lost_on_claim()
            return
        except Exception as exc:
            self.runner.release_demand(demand)
            self._db_trouble(exc)
            return
        self.runner.release_demand(demand - len(claimed))
        dnc = DncSet(DncEntry(n, self.name) for n in listed)
        releases: list[tuple[ClaimedLead, datetime | None, LeadStatus | None]] = []
        placing: list[tuple[ClaimedLead, str, str]] = []
        for lead in claimed:
            refused = self._refusal(lead, at, dnc)
            if refused is not None:
                releases.append(refused)
                self.runner.release_demand(1)
                continue
            caller_id = self._caller_id(lead, at)
            if caller_id is None:
                releases.append((lead, None, None))
                self.runner.release_demand(1)
                continue
            placing.append((lead, caller_id, new_attempt_id()))
        if not placing and not releases:
            return
        binding_s = campaign.caller_id.callback_binding_s
        try:
            created = await self._db(
                "create_attempt", create_attempts, self.name, placing, releases, at,
                self.shared.owner, lease.token, server, binding_s, self.trial_id,
            )  # fmt: skip
        except Exception as exc:
            self.runner.release_demand(len(placing))
            self._db_trouble(exc)
            # The claim was committed: give the leads back once the database answers again (else
            # they would sit in ``dialling`` until the next worker start).
            self._release_when_possible(
                [(lead, None, None) for lead, _, _ in placing] + releases, at
            )
            return
        variables = call_variables(campaign)
        target = self.shared.config.server(server)
        for lead, caller_id, attempt_id in placing:
            if attempt_id not in created:
                self.runner.release_demand(1)
                continue
            await self._originate(attempt_id, lead, caller_id, server, variables, target)

    def _release_when_possible(
        self,
        items: list[tuple[ClaimedLead, datetime | None, LeadStatus | None]],
        at: datetime,
    ) -> None:
        """Queue the release of claimed leads on the database writer (kept until it is written).

        A lead that did get its attempt (a commit whose reply was lost) is left alone:
        ``release_lead`` only touches a lead still claimed with no active attempt."""
        if not items:
            return

        def write(conn: Connection) -> None:
            for lead, next_call_at, status in items:
                release_lead(
                    conn, lead.id, lead.claim_token, at, next_call_at=next_call_at, status=status
                )

        self.shared.writer.put(write, "release_lead", f"{len(items)} claimed leads given back")

    def _refusal(
        self, lead: ClaimedLead, at: datetime, dnc: DncSet
    ) -> tuple[ClaimedLead, datetime | None, LeadStatus | None] | None:
        """None if the hopper rules let the lead be dialled at ``at``; else its release (when to
        try again, or its new status) with the refusal counted."""
        verdict = may_dial(lead_view(lead), self.campaign, at, dnc)
        if verdict:
            return None
        reason = verdict.reason
        self.metrics.dial_rejected(self.name, _REFUSAL_METRIC.get(reason, "other")
                                   if reason else "other")  # fmt: skip
        status: LeadStatus | None = None
        retry_at = verdict.retry_at
        if reason in (Refusal.DNC_GLOBAL, Refusal.DNC_CAMPAIGN):
            status = LeadStatus.DNC
        elif reason is Refusal.MAX_ATTEMPTS_TOTAL:
            status = LeadStatus.NO_CONTACT
        elif retry_at is None:
            retry_at = at + NO_RETRY_TIME_DELAY
        return lead, retry_at, status

    def _caller_id(self, lead: ClaimedLead, at: datetime) -> str | None:
        """The caller ID to show this lead (its use recorded), None if the pool has none now."""
        caller_id = numbers.choose(self.pool, lead.phone_e164, at)
        if caller_id is None:
            self.metrics.dial_rejected(self.name, "no_caller_id")
            return None
        self.pool = numbers.record_use(self.pool, caller_id, at)
        return caller_id

    async def _originate(
        self,
        attempt_id: str,
        lead: ClaimedLead,
        caller_id: str,
        server: str,
        variables: dict[str, str],
        target: AsteriskServer,
        *,
        seat_id: str | None = None,
    ) -> None:
        """Send the Originate of an attempt already created (committed) in the database; with
        ``seat_id`` (preview mode) the call is placed for that seat, reserved for it."""
        placed = time.time()
        self.calls[attempt_id] = CallInfo(
            attempt_id, lead, lead.phone_e164, caller_id, server, placed
        )
        self._register_call(attempt_id)
        if seat_id is None:
            originate = self.runner.call_placed(
                attempt_id, lead.id, lead.phone_e164, caller_id, placed
            )
        else:
            originate = self.runner.call_placed_for_seat(
                attempt_id, lead.id, lead.phone_e164, caller_id, seat_id, placed
            )
        try:
            await self.shared.telephony.originate(
                originate.call_id,
                originate.number,
                originate.caller_id,
                originate.timeout_s,
                variables=variables,
                dial_string=target.dial_target(originate.number),
                server=server,
            )
        except Exception as exc:
            log.error("originate_failed", attempt=attempt_id, error=str(exc))
            await self.handle(OriginateFailed(attempt_id, _failed(), 0, str(exc)))
            return
        self.metrics.dial_placed(self.name)


def lead_view(lead: ClaimedLead) -> LeadView:
    """The hopper rules' view of a claimed lead (as it was before this attempt)."""
    return LeadView(
        id=lead.id,
        phone_e164=lead.phone_e164,
        time_zones=lead.time_zones,
        attempts_total=lead.attempts_total,
        recent_attempts=lead.recent_attempts,
        last_attempt_at=lead.last_attempt_at,
        abandoned_at=lead.abandoned_at,
        next_call_at=lead.next_call_at,
        status=lead.status,
        priority=lead.priority,
        is_callback=lead.is_callback,
    )


def _failed() -> Any:
    from dialer.engine.events import FailReason

    return FailReason.FAILED
