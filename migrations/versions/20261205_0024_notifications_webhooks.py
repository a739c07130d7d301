"""notifications: webhook endpoints, their secrets, messages, delivery attempts and dead letters

Revision ID: 20261205_0024
Revises: 20261205_0023
Create Date: 2026-12-05

Dead letters are messages whose status is DEAD. Inserting messages NOTIFYs `obank_webhooks` (a statement
trigger, delivered at commit), so idle delivery loops wake at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0024"
down_revision: str | Sequence[str] | None = "20261205_0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "notifications"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16, schema=_SCHEMA)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=80)), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", _enum("webhook_endpoint_disabled_reason", "STAFF", "GONE"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "enabled = (disabled_reason IS NULL)", name=op.f("ck_webhook_endpoints_disabled_has_reason")
        ),
        sa.CheckConstraint("cardinality(event_types) > 0", name=op.f("ck_webhook_endpoints_subscribes_to_something")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
        schema=_SCHEMA,
    )
    op.create_table(
        "webhook_secrets",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notifications.webhook_endpoints.id"],
            name=op.f("fk_webhook_secrets_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_secrets")),
        schema=_SCHEMA,
    )
    op.create_index("ix_webhook_secrets_endpoint", "webhook_secrets", ["endpoint_id", "created_at"], schema=_SCHEMA)
    op.create_index(
        "uq_webhook_secrets_current",
        "webhook_secrets",
        ["endpoint_id"],
        unique=True,
        schema=_SCHEMA,
        postgresql_where=sa.text("expires_at IS NULL"),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("endpoint_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("ordering_key", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "status", _enum("webhook_message_status", "PENDING", "DELIVERED", "DEAD", "CANCELLED"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("attempts_total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_response_status", sa.SmallInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=80), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "attempts >= 0 AND attempts_total >= attempts", name=op.f("ck_webhook_messages_attempts_counted")
        ),
        sa.CheckConstraint(
            "(status = 'PENDING') = (finished_at IS NULL)", name=op.f("ck_webhook_messages_finished_when_final")
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notifications.webhook_endpoints.id"],
            name=op.f("fk_webhook_messages_endpoint_id_webhook_endpoints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_messages")),
        sa.UniqueConstraint("endpoint_id", "event_id", name=op.f("uq_webhook_messages_endpoint_id_event_id")),
        schema=_SCHEMA,
    )
    op.create_index(
        "ix_webhook_messages_due",
        "webhook_messages",
        ["endpoint_id", "next_attempt_at"],
        schema=_SCHEMA,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        "ix_webhook_messages_ordering",
        "webhook_messages",
        ["endpoint_id", "ordering_key", "sequence"],
        schema=_SCHEMA,
        postgresql_where=sa.text("status = 'PENDING' AND ordering_key IS NOT NULL"),
    )
    op.create_index("ix_webhook_messages_endpoint", "webhook_messages", ["endpoint_id", "sequence"], schema=_SCHEMA)
    op.create_index("ix_webhook_messages_status", "webhook_messages", ["status", "sequence"], schema=_SCHEMA)
    op.create_index(
        "ix_webhook_messages_finished",
        "webhook_messages",
        ["finished_at"],
        schema=_SCHEMA,
        postgresql_where=sa.text("finished_at IS NOT NULL"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("message_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("error", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "(response_status IS NULL) <> (error IS NULL)", name=op.f("ck_webhook_attempts_status_or_error")
        ),
        sa.CheckConstraint("latency_ms >= 0", name=op.f("ck_webhook_attempts_latency_not_negative")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notifications.webhook_messages.id"],
            name=op.f("fk_webhook_attempts_message_id_webhook_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "attempt", name=op.f("pk_webhook_attempts")),
        schema=_SCHEMA,
    )
    op.execute(
        """
        CREATE FUNCTION notifications.notify_webhook_messages() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('obank_webhooks', '');
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER webhook_messages_notify AFTER INSERT ON notifications.webhook_messages"
        " FOR EACH STATEMENT EXECUTE FUNCTION notifications.notify_webhook_messages()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER webhook_messages_notify ON notifications.webhook_messages")
    op.execute("DROP FUNCTION notifications.notify_webhook_messages()")
    op.drop_table("webhook_attempts", schema=_SCHEMA)
    op.drop_table("webhook_messages", schema=_SCHEMA)
    op.drop_table("webhook_secrets", schema=_SCHEMA)
    op.drop_table("webhook_endpoints", schema=_SCHEMA)
