"""fraud: alerts and cases for analysts

Revision ID: 20261205_0028
Revises: 20261205_0027
Create Date: 2026-12-05

A customer has at most one unresolved alert (a partial unique index): it gathers each payment of theirs flagged
while it is open. Notes are sealed to their row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0028"
down_revision: str | Sequence[str] | None = "20261205_0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "fraud"
_RECOMMENDATIONS = ("APPROVE", "MONITOR", "REVIEW", "BLOCK")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16, schema=_SCHEMA)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "status",
            _enum("fraud_alert_status", "OPEN", "INVESTIGATING", "RESOLVED", "FALSE_POSITIVE"),
            nullable=False,
        ),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("recommendation", _enum("fraud_alert_recommendation", *_RECOMMENDATIONS), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("engine", sa.String(length=40), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("assigned_to", sa.String(length=128), nullable=True),
        sa.Column("resolution", _enum("fraud_alert_resolution", "FRAUD", "FALSE_POSITIVE"), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_alerts_score_range")),
        sa.CheckConstraint(
            "status = 'OPEN' OR assigned_to IS NOT NULL", name=op.f("ck_alerts_claimed_when_investigated")
        ),
        sa.CheckConstraint(
            "(status = 'RESOLVED' AND resolution = 'FRAUD') OR (status = 'FALSE_POSITIVE' "
            "AND resolution = 'FALSE_POSITIVE') OR (status IN ('OPEN', 'INVESTIGATING') AND resolution IS NULL)",
            name=op.f("ck_alerts_resolution_matches_status"),
        ),
        sa.CheckConstraint(
            "(resolution IS NULL) = (resolved_at IS NULL) AND (resolution IS NULL) = (resolved_by IS NULL)",
            name=op.f("ck_alerts_resolved_when_final"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        schema=_SCHEMA,
    )
    op.create_index(
        "uq_alerts_customer_unresolved",
        "alerts",
        ["customer_id"],
        unique=True,
        schema=_SCHEMA,
        postgresql_where=sa.text("status IN ('OPEN', 'INVESTIGATING')"),
    )
    op.create_index("ix_alerts_status_created", "alerts", ["status", "created_at", "id"], schema=_SCHEMA)
    op.create_index("ix_alerts_created", "alerts", ["created_at", "id"], schema=_SCHEMA)
    op.create_index("ix_alerts_customer", "alerts", ["customer_id", "created_at"], schema=_SCHEMA)
    op.create_table(
        "alert_payments",
        sa.Column("payment_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("alert_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("creditor_account", sa.String(length=14), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("recommendation", _enum("fraud_alert_payment_recommendation", *_RECOMMENDATIONS), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("final_status", sa.String(length=4), nullable=True),
        sa.Column("final_reason", sa.String(length=4), nullable=True),
        sa.Column("released_by", sa.String(length=16), nullable=True),
        sa.Column("analyst_decision", sa.String(length=8), nullable=True),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_alert_payments_amount_positive")),
        sa.CheckConstraint("creditor_account ~ '^[0-9]{14}$'", name=op.f("ck_alert_payments_creditor_account_digits")),
        sa.CheckConstraint(
            "(final_status IS NULL) = (settled_at IS NULL)", name=op.f("ck_alert_payments_settled_when_final")
        ),
        sa.CheckConstraint(
            "analyst_decision IN ('released', 'rejected')", name=op.f("ck_alert_payments_analyst_decisions")
        ),
        sa.ForeignKeyConstraint(["alert_id"], ["fraud.alerts.id"], name=op.f("fk_alert_payments_alert_id_alerts")),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_alert_payments")),
        schema=_SCHEMA,
    )
    op.create_index("ix_alert_payments_alert", "alert_payments", ["alert_id", "linked_at"], schema=_SCHEMA)
    op.create_table(
        "alert_early_outcomes",
        sa.Column("payment_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("final_status", sa.String(length=4), nullable=True),
        sa.Column("final_reason", sa.String(length=4), nullable=True),
        sa.Column("released_by", sa.String(length=16), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_alert_early_outcomes")),
        schema=_SCHEMA,
    )
    op.create_table(
        "alert_notes",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("alert_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False),
        sa.Column("text_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["fraud.alerts.id"], name=op.f("fk_alert_notes_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notes")),
        schema=_SCHEMA,
    )
    op.create_index("ix_alert_notes_alert", "alert_notes", ["alert_id", "created_at"], schema=_SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_alert_notes_alert", table_name="alert_notes", schema=_SCHEMA)
    op.drop_table("alert_notes", schema=_SCHEMA)
    op.drop_table("alert_early_outcomes", schema=_SCHEMA)
    op.drop_index("ix_alert_payments_alert", table_name="alert_payments", schema=_SCHEMA)
    op.drop_table("alert_payments", schema=_SCHEMA)
    op.drop_index("ix_alerts_customer", table_name="alerts", schema=_SCHEMA)
    op.drop_index("ix_alerts_created", table_name="alerts", schema=_SCHEMA)
    op.drop_index("ix_alerts_status_created", table_name="alerts", schema=_SCHEMA)
    op.drop_index("uq_alerts_customer_unresolved", table_name="alerts", schema=_SCHEMA)
    op.drop_table("alerts", schema=_SCHEMA)
