"""The database schema shared by the dialer daemon, dialerctl and the CRM: a public contract.

Documented table by table in docs/database.md. Changes go through an Alembic migration in
dialer/store/migrations/versions/ and are additive whenever possible (a CRM built against an older
version keeps working). Every timestamp is UTC (see ``UtcDateTime``); every state column is a word
from dialer.states, enforced by a CHECK constraint.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dialer.states import (
    AttemptOutcome,
    AttemptState,
    CallerIdState,
    CampaignActualState,
    CampaignState,
    DialMode,
    InboundOutcome,
    InboundRoute,
    IvrResult,
    LeadStatus,
    LedgerKind,
    PreviewOfferState,
    SeatRequest,
    SeatState,
    TrialState,
)
from dialer.store.types import Json, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# BIGINT identity on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
NOW = text("CURRENT_TIMESTAMP")


def check_in(column: str, values: type[StrEnum] | tuple[StrEnum, ...]) -> str:
    """SQL text for a CHECK constraint limiting ``column`` to the given words."""
    words = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({words})"


class Base(DeclarativeBase):
    metadata = metadata


class Campaign(Base):
    """One outbound campaign. The CRM and operators set ``desired_state``; the daemon that owns the
    campaign (see campaign_leases) reports ``actual_state``. ``config_json`` is the campaign's
    validated configuration as last applied by ``dialerctl campaign apply``."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint(check_in("dial_mode", DialMode), name="dial_mode"),
        CheckConstraint(check_in("desired_state", CampaignState), name="desired_state"),
        CheckConstraint(check_in("actual_state", CampaignActualState), name="actual_state"),
    )

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    dial_mode: Mapped[str] = mapped_column(String(16), default=DialMode.PREDICTIVE.value)
    desired_state: Mapped[str] = mapped_column(
        String(16), default=CampaignState.STOPPED.value, server_default=CampaignState.STOPPED.value
    )
    actual_state: Mapped[str] = mapped_column(
        String(16), default=CampaignState.STOPPED.value, server_default=CampaignState.STOPPED.value
    )
    actual_state_reason: Mapped[str | None] = mapped_column(Text)
    actual_state_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    config_json: Mapped[dict[str, Any]] = mapped_column(Json)
    config_hash: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class Lead(Base):
    """A person to call for a campaign. The CRM may insert rows (see docs/database.md); the dialer
    checks each one before its first call (``validated_at``) and rejects bad ones with a
    lead_rejects row. ``(campaign, phone_e164)`` is unique: one lead per number per campaign."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("campaign", "phone_e164"),
        CheckConstraint(check_in("status", LeadStatus), name="status"),
        # The claim walks this index in order: a tier (status) of one campaign, best first.
        Index(
            "ix_leads_claim_order",
            "campaign",
            "status",
            text("priority DESC"),
            "next_call_at",
            "id",
        ),
        Index("ix_leads_campaign_external_id", "campaign", "external_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"), index=False)
    external_id: Mapped[str | None] = mapped_column(String(128))
    phone_raw: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    time_zone: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    custom_fields: Mapped[dict[str, Any] | None] = mapped_column(Json)
    status: Mapped[str] = mapped_column(
        String(16), default=LeadStatus.NEW.value, server_default=LeadStatus.NEW.value
    )
    attempts_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts_today: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts_day: Mapped[date | None] = mapped_column(Date)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_call_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    last_disposition: Mapped[str | None] = mapped_column(String(64))
    abandoned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_from: Mapped[str | None] = mapped_column(String(16))
    active_attempt_id: Mapped[str | None] = mapped_column(String(36))
    validated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class LeadReject(Base):
    """A lead the dialer refused, with the reason: from a CSV import (``source`` = file:row) or from
    a row the CRM inserted (``source`` = lead:ID). Nothing is dropped without a row here."""

    __tablename__ = "lead_rejects"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(512))
    row_number: Mapped[int | None] = mapped_column(Integer)
    lead_id: Mapped[int | None] = mapped_column(BigId)
    import_batch: Mapped[str | None] = mapped_column(String(36), index=True)
    raw: Mapped[dict[str, Any] | None] = mapped_column(Json)
    reason: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class Attempt(Base):
    """One dial. ``id`` is created before the Originate and sent to Asterisk as the ChannelId.
    Timings in seconds; ``disposition`` is the agent's / CRM's verdict on the conversation."""

    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(check_in("state", AttemptState), name="state"),
        CheckConstraint(
            "outcome IS NULL OR " + check_in("outcome", AttemptOutcome), name="outcome"
        ),
        CheckConstraint(
            "ivr_result IS NULL OR " + check_in("ivr_result", IvrResult), name="ivr_result"
        ),
        Index("ix_attempts_campaign_placed_at", "campaign", "placed_at"),
        Index("ix_attempts_lead_id", "lead_id"),
        Index("ix_attempts_state", "state"),
        # Never two live attempts for one lead, enforced by the database itself.
        Index(
            "uq_attempts_live_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("state = 'in_flight'"),
            postgresql_where=text("state = 'in_flight'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    caller_id: Mapped[str | None] = mapped_column(String(20))
    seat_id: Mapped[str | None] = mapped_column(String(64))
    server: Mapped[str | None] = mapped_column(String(64))
    daemon: Mapped[str | None] = mapped_column(String(128))
    lease_token: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(
        String(16), default=AttemptState.IN_FLIGHT.value, server_default="in_flight"
    )
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ringing_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amd_result: Mapped[str | None] = mapped_column(String(16))
    amd_cause: Mapped[str | None] = mapped_column(String(64))
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ring_s: Mapped[float | None] = mapped_column(Float)
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    hold_s: Mapped[float | None] = mapped_column(Float)
    wrapup_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    cause_text: Mapped[str | None] = mapped_column(String(128))
    disposition: Mapped[str | None] = mapped_column(String(64))
    disposed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ivr_result: Mapped[str | None] = mapped_column(String(16))
    handover_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    transferred: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class Seat(Base):
    """An agent position. Agents, operators and the CRM ask for a state (``requested_state``:
    logged_out / ready / paused); the daemon reports the actual ``state``."""

    __tablename__ = "seats"
    __table_args__ = (
        CheckConstraint(check_in("state", SeatState), name="state"),
        CheckConstraint(check_in("requested_state", SeatRequest), name="requested_state"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    campaign: Mapped[str | None] = mapped_column(String(64), index=True)
    seat_group: Mapped[str | None] = mapped_column(String(64))
    inbound_group: Mapped[str | None] = mapped_column(String(64))
    endpoint: Mapped[str] = mapped_column(String(255))
    requested_state: Mapped[str] = mapped_column(
        String(16), default=SeatRequest.LOGGED_OUT.value, server_default="logged_out"
    )
    pause_reason: Mapped[str | None] = mapped_column(String(128))
    requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(
        String(16), default=SeatState.LOGGED_OUT.value, server_default="logged_out"
    )
    state_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class CallerId(Base):
    """A number of the middle-number pool shown as caller ID. Counters are kept by the daemon."""

    __tablename__ = "caller_ids"
    __table_args__ = (CheckConstraint(check_in("state", CallerIdState), name="state"),)

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    pool: Mapped[str] = mapped_column(String(64), index=True)
    campaign: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    area_code: Mapped[str | None] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(
        String(16), default=CallerIdState.ACTIVE.value, server_default="active"
    )
    calls_today: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    calls_day: Mapped[date | None] = mapped_column(Date)
    calls_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    answers_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    quarantine_reason: Mapped[str | None] = mapped_column(Text)
    quarantined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class DncEntry(Base):
    """A do-not-call number: global when ``campaign`` is NULL, else for that campaign only."""

    __tablename__ = "dnc_entries"
    __table_args__ = (
        UniqueConstraint("phone_e164", "campaign"),
        Index(
            "uq_dnc_entries_global_phone",
            "phone_e164",
            unique=True,
            sqlite_where=text("campaign IS NULL"),
            postgresql_where=text("campaign IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone_e164: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class CallbackBinding(Base):
    """AXB: a call from ``called_number`` to ``caller_id`` (a callback to the number we showed)
    goes to ``campaign`` / ``seat_id`` until ``expires_at``."""

    __tablename__ = "callback_bindings"
    __table_args__ = (UniqueConstraint("caller_id", "called_number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    caller_id: Mapped[str] = mapped_column(String(20))
    called_number: Mapped[str] = mapped_column(String(20))
    campaign: Mapped[str] = mapped_column(String(64))
    seat_id: Mapped[str | None] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(BigId)
    attempt_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AbandonLedgerEntry(Base):
    """The compliance record behind the abandon cap: one row per live answer and one per abandon,
    enough to rebuild the rolling-window abandon rate after a restart or a takeover."""

    __tablename__ = "abandon_ledger"
    __table_args__ = (
        CheckConstraint(check_in("kind", LedgerKind), name="kind"),
        UniqueConstraint("attempt_id", "kind"),
        Index("ix_abandon_ledger_campaign_at", "campaign", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    attempt_id: Mapped[str | None] = mapped_column(String(36))


class OutboxMessage(Base):
    """A follow-up request for the CRM (e.g. ``sms`` after a final no-contact). The CRM reads rows
    with ``processed_at IS NULL`` and sets ``processed_at`` (and ``error`` if it failed)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    campaign: Mapped[str | None] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(BigId)
    attempt_id: Mapped[str | None] = mapped_column(String(36))
    payload: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class CampaignLease(Base):
    """Which daemon owns a campaign, until when. ``token`` grows by one at every takeover and is the
    fencing token: a daemon's writes carry it, so one that lost its lease cannot write."""

    __tablename__ = "campaign_leases"

    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    token: Mapped[int] = mapped_column(BigInteger)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InboundCallRow(Base):
    """A call into a caller-ID pool number (a callback), and where it was routed."""

    __tablename__ = "inbound_calls"
    __table_args__ = (
        CheckConstraint("route IS NULL OR " + check_in("route", InboundRoute), name="route"),
        CheckConstraint(
            "outcome IS NULL OR " + check_in("outcome", InboundOutcome), name="outcome"
        ),
        Index("ix_inbound_calls_campaign_arrived_at", "campaign", "arrived_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the channel's Uniqueid
    campaign: Mapped[str | None] = mapped_column(String(64))
    caller_number: Mapped[str] = mapped_column(String(32))  # who called (the lead's number)
    dialled_number: Mapped[str] = mapped_column(String(32))  # our pool number they called
    lead_id: Mapped[int | None] = mapped_column(BigId)
    binding_attempt_id: Mapped[str | None] = mapped_column(String(36))  # the bound outbound call
    seat_id: Mapped[str | None] = mapped_column(String(64))
    route: Mapped[str | None] = mapped_column(String(16))
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime)
    connected_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    wait_s: Mapped[float | None] = mapped_column(Float)
    talk_s: Mapped[float | None] = mapped_column(Float)
    wrapup_s: Mapped[float | None] = mapped_column(Float)  # the seat's wrap-up after it
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=NOW)


class PreviewOffer(Base):
    """Preview mode: a lead offered to a seat. The daemon inserts ``offered`` rows; the agent's
    desktop (the CRM) or ``dialerctl preview`` sets ``accepted`` or ``skipped`` (only while
    ``offered``); the daemon then places the call (``dialled``, ``attempt_id``) or gives the lead
    back, and sets ``closed_at`` once it is done with the offer."""

    __tablename__ = "preview_offers"
    __table_args__ = (
        CheckConstraint(check_in("state", PreviewOfferState), name="state"),
        Index("ix_preview_offers_campaign_closed_at", "campaign", "closed_at"),
        Index("ix_preview_offers_seat_id_state", "seat_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"))
    seat_id: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    state: Mapped[str] = mapped_column(
        String(16), default=PreviewOfferState.OFFERED.value, server_default="offered"
    )
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    attempt_id: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CampaignTrial(Base):
    """A campaign's trial: a random stratified sample of its dialable leads (``trial_samples``),
    dialled first; when every sampled lead is settled the campaign pauses for review. The newest
    row of a campaign is its current trial; ``seed`` makes the draw reproducible."""

    __tablename__ = "campaign_trials"
    __table_args__ = (
        CheckConstraint(check_in("state", TrialState), name="state"),
        Index("ix_campaign_trials_campaign_id", "campaign", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign: Mapped[str] = mapped_column(ForeignKey("campaigns.name"))
    state: Mapped[str] = mapped_column(String(16))
    seed: Mapped[int] = mapped_column(BigInteger)
    sample_fraction: Mapped[float] = mapped_column(Float)
    stratify_by: Mapped[list[str] | None] = mapped_column(Json)
    population: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seat_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    """Seat time logged in to the campaign while the trial ran (for contacts per seat-hour)."""
    reason: Mapped[str | None] = mapped_column(Text)


class TrialSample(Base):
    """A lead drawn into a trial, its stratum, and the attempt that dialled it for the trial."""

    __tablename__ = "trial_samples"
    __table_args__ = (Index("ix_trial_samples_lead_id", "lead_id"),)

    trial_id: Mapped[int] = mapped_column(ForeignKey("campaign_trials.id"), primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    stratum: Mapped[str] = mapped_column(String(255))
    attempt_id: Mapped[str | None] = mapped_column(String(36))


campaigns = cast(Table, Campaign.__table__)
leads = cast(Table, Lead.__table__)
lead_rejects = cast(Table, LeadReject.__table__)
attempts = cast(Table, Attempt.__table__)
seats = cast(Table, Seat.__table__)
caller_ids = cast(Table, CallerId.__table__)
dnc_entries = cast(Table, DncEntry.__table__)
callback_bindings = cast(Table, CallbackBinding.__table__)
abandon_ledger = cast(Table, AbandonLedgerEntry.__table__)
outbox = cast(Table, OutboxMessage.__table__)
campaign_leases = cast(Table, CampaignLease.__table__)
preview_offers = cast(Table, PreviewOffer.__table__)
campaign_trials = cast(Table, CampaignTrial.__table__)
trial_samples = cast(Table, TrialSample.__table__)
inbound_calls = cast(Table, InboundCallRow.__table__)
