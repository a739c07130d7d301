"""notifications: customer notification preferences and messages by channel; auth_server: known devices

Revision ID: 20261205_0025
Revises: 20261205_0024
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0025"
down_revision: str | Sequence[str] | None = "20261205_0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "new_device",
    "password_changed",
    "totp_changed",
    "payee_added",
    "payment_sent",
    "payment_failed",
    "payment_held",
    "payment_received",
    "scheduled_payment_failed",
    "consent_granted",
    "consent_revoked",
    "consent_expiring",
    "low_balance",
    "statement_ready",
)


def upgrade() -> None:
    op.create_table(
        "preferences",
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("channels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("low_balance_threshold_minor", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("low_balance_threshold_minor >= 0", name=op.f("ck_preferences_threshold_not_negative")),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_preferences")),
        schema="notifications",
    )
    op.create_table(
        "customer_messages",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                *KINDS,
                name="customer_message_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
                schema="notifications",
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "sms",
                "push",
                "in_app",
                name="customer_message_channel",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="notifications",
            ),
            nullable=False,
        ),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SENDING",
                "SENT",
                "FAILED",
                "SKIPPED",
                name="customer_message_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="notifications",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("recipient_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("subject_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_customer_messages_attempts_not_negative")),
        sa.CheckConstraint(
            "status <> 'SENDING' OR lease_until IS NOT NULL", name=op.f("ck_customer_messages_sending_is_leased")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_messages")),
        schema="notifications",
    )
    op.create_index(
        "uq_customer_messages_event",
        "customer_messages",
        ["event_id", "kind", "channel"],
        unique=True,
        schema="notifications",
    )
    op.create_index(
        "ix_customer_messages_due",
        "customer_messages",
        ["next_attempt_at"],
        schema="notifications",
        postgresql_where=sa.text("status IN ('PENDING', 'SENDING')"),
    )
    op.create_index(
        "ix_customer_messages_inbox",
        "customer_messages",
        ["customer_id", "sent_at"],
        schema="notifications",
        postgresql_where=sa.text("channel = 'in_app' AND status = 'SENT'"),
    )
    op.create_table(
        "low_balance_states",
        sa.Column("account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("below", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_low_balance_states")),
        schema="notifications",
    )
    op.create_table(
        "mail_sink",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("recipients_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("subject_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_sink")),
        schema="notifications",
    )
    op.create_index("ix_mail_sink_received_at", "mail_sink", ["received_at"], schema="notifications")
    op.create_table(
        "known_devices",
        sa.Column("identity_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("device_hash", sa.LargeBinary(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["auth_server.identities.id"],
            name=op.f("fk_known_devices_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", "device_hash", name=op.f("pk_known_devices")),
        schema="auth_server",
    )


def downgrade() -> None:
    op.drop_table("known_devices", schema="auth_server")
    op.drop_index("ix_mail_sink_received_at", table_name="mail_sink", schema="notifications")
    op.drop_table("mail_sink", schema="notifications")
    op.drop_table("low_balance_states", schema="notifications")
    op.drop_index("ix_customer_messages_inbox", table_name="customer_messages", schema="notifications")
    op.drop_index("ix_customer_messages_due", table_name="customer_messages", schema="notifications")
    op.drop_index("uq_customer_messages_event", table_name="customer_messages", schema="notifications")
    op.drop_table("customer_messages", schema="notifications")
    op.drop_table("preferences", schema="notifications")
