"""A campaign's calls as records: progress written to the attempt as it happens, the runner's
commands carried out, abandon-ledger entries, and each finished attempt's result and the lead's
next state (retry schedule, SMS follow-up) queued on the database writer."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from dialer.daemon.dialling import lead_view
from dialer.daemon.worker_base import CallInfo, WorkerBase, log, utc
from dialer.daemon.worker_jobs import ledger_job, previous_outcomes
from dialer.engine import numbers
from dialer.engine.calls import CallOutcome
from dialer.engine.events import (
    AmdResult,
    CallAnswered,
    CallConnected,
    CallRinging,
    Command,
    SeatRequested,
)
from dialer.engine.retry import after_attempt
from dialer.engine.runner import AttemptRecord
from dialer.obs.logs import bound_call
from dialer.states import AttemptOutcome, CallerIdState, LedgerKind
from dialer.store.attempts import (
    ANSWERED_OUTCOMES,
    AttemptResult,
    LeadUpdate,
    OutboxRequest,
    finish_attempt,
    update_attempt,
)
from dialer.store.caller_ids import set_caller_id_state
from dialer.telephony.base import TelephonyEvent


class CallRecords(WorkerBase):
    """The call bookkeeping part of :class:`~dialer.daemon.campaign_worker.CampaignWorker`."""

    def _progress(self, event: TelephonyEvent, info: CallInfo, now: float) -> None:
        fields: dict[str, Any] = {}
        if isinstance(event, CallRinging):
            fields["ringing_at"] = utc(now)
        elif isinstance(event, CallAnswered):
            info.answered_at = now
            fields["answered_at"] = utc(now)
            if not self.runner.config.amd:
                info.live_at = now
        elif isinstance(event, AmdResult):
            info.amd_result = event.status.value
            info.amd_cause = event.cause[:64] if event.cause else None
            fields["amd_result"] = info.amd_result
            fields["amd_cause"] = info.amd_cause
            if event.status.value == "human" or (
                event.status.value == "notsure" and self.runner.config.on_notsure == "seat"
            ):
                info.live_at = now
        elif isinstance(event, SeatRequested):
            # Robot mode: the caller asked the IVR for a person; the connect window starts now.
            info.live_at = now
            fields["handover_at"] = utc(now)
        elif isinstance(event, CallConnected):
            fields["connected_at"] = utc(now)
            fields["seat_id"] = event.seat_id
            live = info.live_at if info.live_at is not None else info.answered_at
            if live is not None:
                self.metrics.connected_to_seat(self.name, now - live)
        if fields:
            attempt_id = info.attempt_id
            self.shared.writer.put(
                lambda conn: update_attempt(conn, attempt_id, **fields),
                "update_attempt",
                f"attempt {attempt_id} progress",
            )

    async def _carry_out(
        self, commands: list[Command], now: float, *, from_tick: bool = False
    ) -> None:
        from dialer.telephony.base import carry_out

        if from_tick:
            self._ledger()
        for command in commands:
            with bound_call(attempt=getattr(command, "call_id", None)):
                try:
                    await carry_out(self.shared.telephony, command)
                except Exception as exc:
                    log.error("command_failed", command=type(command).__name__, error=str(exc))
        if from_tick:
            self._collect(now)

    def _ledger(self) -> None:
        """Persist the runner's new ledger entries, each under the attempt it is about (the
        runner names it: an abandon decided on one call's event, or when a seat comes free, is
        filed under the call that heard the safe-harbour message)."""
        for entry in self.runner.drain_ledger():
            kind = LedgerKind(entry.kind.value)
            if kind is LedgerKind.LIVE_ANSWER:
                self.metrics.live_answer(self.name)
            else:
                self.metrics.abandon(self.name)
            self.shared.writer.put(
                ledger_job(self.name, kind, utc(entry.at), entry.call_id),
                "abandon_ledger",
                f"ledger {kind.value} {entry.call_id}",
            )

    def _collect(self, now: float) -> None:
        """Finished attempts from the runner: queue their records."""
        for record in self.runner.drain_records():
            info = self.calls.pop(record.call_id, None)
            if info is None:
                continue
            if math.isnan(record.ended_at):
                record = replace(record, ended_at=now)
            self._queue_finish(record, info)

    def _queue_finish(
        self, record: AttemptRecord, info: CallInfo, *, cause_text: str | None = None
    ) -> None:
        outcome = AttemptOutcome(record.outcome.value)
        self._finished_calls += 1
        log.info("attempt_ended", attempt=record.call_id, outcome=outcome.value,
                 seat=record.seat_id, cause=record.cause)  # fmt: skip
        self.metrics.call_ended(self.name, outcome.value)
        ended = utc(record.ended_at)
        with contextlib.suppress(KeyError):
            self.pool = numbers.record_result(
                self.pool, info.caller_id, outcome in ANSWERED_OUTCOMES, ended
            )
            state = self.pool.get(info.caller_id)
            if state.status is numbers.NumberStatus.QUARANTINED:
                self._persist_quarantine(info.caller_id, state.status_reason, ended)
        answered = info.answered_at if info.answered_at is not None else record.answered_at
        live = info.live_at
        if record.ivr_at is not None:  # robot mode: a seat was wanted only from the key press
            live = record.handover_at
        connected = record.connected_at
        ring_end = answered if answered is not None else record.ended_at
        wait_end = connected if connected is not None else record.ended_at
        result = AttemptResult(
            outcome=outcome,
            ended_at=ended,
            hangup_cause=record.cause or None,
            cause_text=cause_text,
            answered_at=utc(answered) if answered is not None else None,
            amd_result=info.amd_result,
            amd_cause=info.amd_cause,
            connected_at=utc(connected) if connected is not None else None,
            seat_id=record.seat_id,
            ring_s=round(max(0.0, ring_end - info.placed_at), 3),
            wait_s=round(max(0.0, wait_end - live), 3) if live is not None else None,
            talk_s=round(record.talk_s, 3) if connected is not None else None,
            ivr_result=record.ivr_result,
            handover_at=utc(record.handover_at) if record.handover_at is not None else None,
            transferred=True if record.transferred else None,
        )
        campaign, lead = self.campaign, info.lead
        placed = utc(info.placed_at)
        attempt_id = record.call_id

        def write(conn: Connection) -> None:
            update = None
            outbox: list[OutboxRequest] = []
            if lead is not None:
                previous = previous_outcomes(conn, lead.id, attempt_id)
                after = after_attempt(
                    outcome, lead_view(lead), campaign, ended,
                    previous_outcomes=previous, placed_at=placed,
                )  # fmt: skip
                update = LeadUpdate(after.status, after.next_call_at)
                if after.queue_sms:
                    outbox.append(OutboxRequest("sms", {
                        "template": campaign.sms_follow_up.template, "reason": after.reason,
                    }))  # fmt: skip
            finish_attempt(conn, attempt_id, result, update, outbox_requests=outbox)

        self.shared.writer.put(write, "finish_attempt", f"finish attempt {attempt_id}")

    def _finish_unresolved(self, call_id: str, info: CallInfo, now: float) -> None:
        """A call whose end Asterisk never reported (hung up at drain): record it anyway, as the
        runner last saw it (the caller collects the runner's finished records first)."""
        self.calls.pop(call_id, None)
        outcome = self.runner.drop_call(call_id, now) or CallOutcome.FAILED
        self._ledger()  # (a person left waiting for a seat: the runner ledgered an abandon)
        record = AttemptRecord(
            call_id=call_id,
            lead_id=info.lead.id if info.lead else None,
            number=info.number,
            caller_id=info.caller_id,
            outcome=outcome,
            placed_at=info.placed_at,
            ended_at=now,
            answered_at=info.answered_at,
            cause=0,
        )
        self._queue_finish(record, info, cause_text="hung up at shutdown")

    def _persist_quarantine(self, number: str, reason: str, at: datetime) -> None:
        self.shared.writer.put(
            lambda conn: set_caller_id_state(
                conn, number, CallerIdState.QUARANTINED, at, reason=reason
            ),
            "other",
            "caller id quarantined",
        )
