"""Preview offers, campaign trials, inbound calls, robot-mode and disposition columns on attempts.

Additive only (docs/database.md): four new tables and three new nullable columns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 19:35:28.491028
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_calls",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("caller_number", sa.String(length=32), nullable=False),
        sa.Column("dialled_number", sa.String(length=32), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("binding_attempt_id", sa.String(length=36), nullable=True),
        sa.Column("seat_id", sa.String(length=64), nullable=True),
        sa.Column("route", sa.String(length=16), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.Column("talk_s", sa.Float(), nullable=True),
        sa.Column("wrapup_s", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('connected', 'closed', 'caller_hangup')",
            name=op.f("ck_inbound_calls_outcome"),
        ),
        sa.CheckConstraint(
            "route IS NULL OR route IN ('same_seat', 'inbound_group', 'closed')",
            name=op.f("ck_inbound_calls_route"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_calls")),
    )
    with op.batch_alter_table("inbound_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_calls_campaign_arrived_at", ["campaign", "arrived_at"], unique=False
        )

    op.create_table(
        "campaign_trials",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("sample_fraction", sa.Float(), nullable=False),
        sa.Column(
            "stratify_by",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seat_seconds", sa.Float(), server_default="0", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('running', 'complete', 'skipped', 'cancelled')",
            name=op.f("ck_campaign_trials_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_campaign_trials_campaign_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_trials")),
    )
    with op.batch_alter_table("campaign_trials", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_trials_campaign_id", ["campaign", "id"], unique=False)

    op.create_table(
        "preview_offers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("seat_id", sa.String(length=64), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="offered", nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('offered', 'accepted', 'skipped', 'expired', 'withdrawn', 'dialled')",
            name=op.f("ck_preview_offers_state"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign"], ["campaigns.name"], name=op.f("fk_preview_offers_campaign_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_preview_offers_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preview_offers")),
    )
    with op.batch_alter_table("preview_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_preview_offers_campaign_closed_at", ["campaign", "closed_at"], unique=False
        )
        batch_op.create_index("ix_preview_offers_seat_id_state", ["seat_id", "state"], unique=False)

    op.create_table(
        "trial_samples",
        sa.Column("trial_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("lead_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("stratum", sa.String(length=255), nullable=False),
        sa.Column("attempt_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_trial_samples_lead_id_leads")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["campaign_trials.id"],
            name=op.f("fk_trial_samples_trial_id_campaign_trials"),
        ),
        sa.PrimaryKeyConstraint("trial_id", "lead_id", name=op.f("pk_trial_samples")),
    )
    with op.batch_alter_table("trial_samples", schema=None) as batch_op:
        batch_op.create_index("ix_trial_samples_lead_id", ["lead_id"], unique=False)

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handover_at", sa.DateTime(timezone=True), nullable=True))
    _add_ivr_result()


def downgrade() -> None:
    _drop_ivr_result()
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("handover_at")
        batch_op.drop_column("disposed_at")

    with op.batch_alter_table("trial_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_trial_samples_lead_id")

    op.drop_table("trial_samples")
    with op.batch_alter_table("preview_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_preview_offers_seat_id_state")
        batch_op.drop_index("ix_preview_offers_campaign_closed_at")

    op.drop_table("preview_offers")
    with op.batch_alter_table("campaign_trials", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_trials_campaign_id")

    op.drop_table("campaign_trials")
    with op.batch_alter_table("inbound_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_calls_campaign_arrived_at")

    op.drop_table("inbound_calls")


IVR_RESULT_CHECK = "ivr_result IS NULL OR ivr_result IN ('pressed', 'not_pressed')"


def _add_ivr_result() -> None:
    """attempts.ivr_result with its CHECK, without rebuilding the attempts table on SQLite (a
    batch rebuild would have to recreate its partial unique index): SQLite takes a column CHECK
    in ADD COLUMN, PostgreSQL a separate constraint."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE attempts ADD COLUMN ivr_result VARCHAR(16) "
            f"CONSTRAINT ck_attempts_ivr_result CHECK ({IVR_RESULT_CHECK})"
        )
        return
    op.add_column("attempts", sa.Column("ivr_result", sa.String(length=16), nullable=True))
    op.create_check_constraint(op.f("ck_attempts_ivr_result"), "attempts", IVR_RESULT_CHECK)


def _drop_ivr_result() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE attempts DROP COLUMN ivr_result")
        return
    op.drop_constraint(op.f("ck_attempts_ivr_result"), "attempts", type_="check")
    op.drop_column("attempts", "ivr_result")
