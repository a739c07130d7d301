"""open banking event notifications: TPPs' event subscriptions and their events for polling

Revision ID: 20261205_0026
Revises: 20261205_0025
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0026"
down_revision: str | Sequence[str] | None = "20261205_0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "open_banking"


def upgrade() -> None:
    op.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("callback_url", sa.String(length=1024), nullable=True),
        sa.Column("version", sa.String(length=10), nullable=False),
        sa.Column("event_types", postgresql.ARRAY(sa.String(length=128)), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_subscriptions")),
        sa.UniqueConstraint("client_id", name=op.f("uq_event_subscriptions_client_id")),
        schema=SCHEMA,
    )
    op.create_table(
        "tpp_events",
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=False),
        sa.Column("source_event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=128), nullable=False),
        sa.Column("set_jwt", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "delivery_status",
            sa.Enum(
                "PENDING",
                "DELIVERED",
                "FAILED",
                "POLLING_ONLY",
                name="tpp_event_delivery_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=SCHEMA,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_error", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_tpp_events")),
        sa.UniqueConstraint("client_id", "source_event_id", name=op.f("uq_tpp_events_client_id_source_event_id")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_tpp_events_awaiting",
        "tpp_events",
        ["client_id", "created_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("acknowledged_at IS NULL"),
    )
    op.create_index(
        "ix_tpp_events_due",
        "tpp_events",
        ["next_attempt_at"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("delivery_status = 'PENDING'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tpp_events_due", table_name="tpp_events", schema=SCHEMA)
    op.drop_index("ix_tpp_events_awaiting", table_name="tpp_events", schema=SCHEMA)
    op.drop_table("tpp_events", schema=SCHEMA)
    op.drop_table("event_subscriptions", schema=SCHEMA)
