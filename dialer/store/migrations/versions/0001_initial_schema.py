"""Initial schema: the CRM contract as of dialer 0.1 (see docs/database.md).

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:32:38.763888
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "abandon_ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "kind IN ('live_answer', 'abandon')", name=op.f("ck_abandon_ledger_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abandon_ledger")),
        sa.UniqueConstraint("attempt_id", "kind", name=op.f("uq_abandon_ledger_attempt_id_kind")),
    )
    with op.batch_alter_table("abandon_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_abandon_ledger_campaign_at", ["campaign", "at"], unique=False)

    op.create_table(
        "callback_bindings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("caller_id", sa.String(length=20), nullable=False),
        sa.Column("called_number", sa.String(length=20), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("seat_id", sa.String(length=64), nullable=True),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_bindings")),
        sa.UniqueConstraint(
            "caller_id", "called_number", name=op.f("uq_callback_bindings_caller_id_called_number")
        ),
    )
    op.create_table(
        "caller_ids",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("pool", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("area_code", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("calls_today", sa.Integer(), server_default="0", nullable=False),
        sa.Column("calls_day", sa.Date(), nullable=True),
        sa.Column("calls_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("answers_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quarantine_reason", sa.Text(), nullable=True),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "added_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "state IN ('active', 'quarantined', 'retired')", name=op.f("ck_caller_ids_state")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_caller_ids")),
    )
    with op.batch_alter_table("caller_ids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caller_ids_pool"), ["pool"], unique=False)

    op.create_table(
        "campaign_leases",
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign", name=op.f("pk_campaign_leases")),
    )
    op.create_table(
        "campaigns",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("dial_mode", sa.String(length=16), nullable=False),
        sa.Column("desired_state", sa.String(length=16), server_default="stopped", nullable=False),
        sa.Column("actual_state", sa.String(length=16), server_default="stopped", nullable=False),
        sa.Column("actual_state_reason", sa.Text(), nullable=True),
        sa.Column("actual_state_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "config_json", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("config_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "actual_state IN ('running', 'paused', 'stopped', 'draining', 'blocked')",
            name=op.f("ck_campaigns_actual_state"),
        ),
        sa.CheckConstraint(
            "desired_state IN ('running', 'paused', 'stopped')",
            name=op.f("ck_campaigns_desired_state"),
        ),
        sa.CheckConstraint(
            "dial_mode IN ('predictive', 'progressive', 'preview', 'robot')",
            name=op.f("ck_campaigns_dial_mode"),
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "dnc_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "added_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entries")),
        sa.UniqueConstraint(
            "phone_e164", "campaign", name=op.f("uq_dnc_entries_phone_e164_campaign")
        ),
    )
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.create_index(
            "uq_dnc_entries_global_phone",
            ["phone_e164"],
            unique=True,
            sqlite_where=sa.text("campaign IS NULL"),
            postgresql_where=sa.text("campaign IS NULL"),
        )

    op.create_table(
        "lead_rejects",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("import_batch", sa.String(length=36), nullable=True),
        sa.Column("raw", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_rejects")),
    )
    with op.batch_alter_table("lead_rejects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_rejects_campaign"), ["campaign"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lead_rejects_import_batch"), ["import_batch"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["processed_at", "id"], unique=False)

    op.create_table(
        "seats",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("seat_group", sa.String(length=64), nullable=True),
        sa.Column("inbound_group", sa.String(length=64), nullable=True),
        sa.Column("endpoint", sa.String(length=255), nullable=False),
        sa.Column(
            "requested_state", sa.String(length=16), server_default="logged_out", nullable=False
        ),
        sa.Column("pause_reason", sa.String(length=128), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="logged_out", nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "requested_state IN ('logged_out', 'ready', 'paused')",
            name=op.f("ck_seats_requested_state"),
        ),
        sa.CheckConstraint(
            "state IN ('logged_out', 'ready', 'reserved', 'talking', 'wrapup', 'paused',"
            " 'phone_down')",
            name=op.f("ck_seats_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seats")),
    )
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_seats_campaign"), ["campaign"], unique=False)

    op.create_table(
        "leads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("phone_raw", sa.String(length=64), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "custom_fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), server_default="new", nullable=False),
        sa.Column("attempts_total", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempts_today", sa.Integer(), server_default="0", nullable=False),
        sa.Column("attempts_day", sa.Date(), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_call_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("last_disposition", sa.String(length=64), nullable=True),
        sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_from", sa.String(length=16), nullable=True),
        sa.Column("active_attempt_id", sa.String(length=36), nullable=True),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('new', 'dialling', 'retry', 'callback', 'done', 'no_contact', 'dnc',"
            " 'rejected', 'cancelled')",
            name=op.f("ck_leads_status"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_leads_campaign_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("campaign", "phone_e164", name=op.f("uq_leads_campaign_phone_e164")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_campaign_external_id", ["campaign", "external_id"], unique=False
        )
        batch_op.create_index(
            "ix_leads_claim_order",
            ["campaign", "status", sa.text("priority DESC"), "next_call_at", "id"],
            unique=False,
        )

    op.create_table(
        "attempts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("caller_id", sa.String(length=20), nullable=True),
        sa.Column("seat_id", sa.String(length=64), nullable=True),
        sa.Column("server", sa.String(length=64), nullable=True),
        sa.Column("daemon", sa.String(length=128), nullable=True),
        sa.Column("lease_token", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), server_default="in_flight", nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ringing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("amd_result", sa.String(length=16), nullable=True),
        sa.Column("amd_cause", sa.String(length=64), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_s", sa.Float(), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("hold_s", sa.Float(), nullable=True),
        sa.Column("wrapup_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("cause_text", sa.String(length=128), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("transferred", sa.Boolean(), server_default=sa.text("(false)"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('human', 'machine', 'abandoned', 'robot', 'busy',"
            " 'no_answer', 'congestion', 'invalid_number', 'failed', 'customer_hangup',"
            " 'cancelled')",
            name=op.f("ck_attempts_outcome"),
        ),
        sa.CheckConstraint("state IN ('in_flight', 'ended')", name=op.f("ck_attempts_state")),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_attempts_campaign_campaigns")
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("fk_attempts_lead_id_leads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_campaign_placed_at", ["campaign", "placed_at"], unique=False
        )
        batch_op.create_index("ix_attempts_lead_id", ["lead_id"], unique=False)
        batch_op.create_index("ix_attempts_state", ["state"], unique=False)
        batch_op.create_index(
            "uq_attempts_live_lead",
            ["lead_id"],
            unique=True,
            sqlite_where=sa.text("state = 'in_flight'"),
            postgresql_where=sa.text("state = 'in_flight'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_attempts_live_lead",
            sqlite_where=sa.text("state = 'in_flight'"),
            postgresql_where=sa.text("state = 'in_flight'"),
        )
        batch_op.drop_index("ix_attempts_state")
        batch_op.drop_index("ix_attempts_lead_id")
        batch_op.drop_index("ix_attempts_campaign_placed_at")

    op.drop_table("attempts")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_claim_order")
        batch_op.drop_index("ix_leads_campaign_external_id")

    op.drop_table("leads")
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seats_campaign"))

    op.drop_table("seats")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("lead_rejects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_rejects_import_batch"))
        batch_op.drop_index(batch_op.f("ix_lead_rejects_campaign"))

    op.drop_table("lead_rejects")
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_dnc_entries_global_phone",
            sqlite_where=sa.text("campaign IS NULL"),
            postgresql_where=sa.text("campaign IS NULL"),
        )

    op.drop_table("dnc_entries")
    op.drop_table("campaigns")
    op.drop_table("campaign_leases")
    with op.batch_alter_table("caller_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_caller_ids_pool"))

    op.drop_table("caller_ids")
    op.drop_table("callback_bindings")
    with op.batch_alter_table("abandon_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_abandon_ledger_campaign_at")

    op.drop_table("abandon_ledger")
