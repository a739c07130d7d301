"""auth_server: login identities, TOTP credentials, recovery codes, browser sessions

Revision ID: 20261122_0005
Revises: 20261122_0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0005"
down_revision: str | Sequence[str] | None = "20261122_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth_server"


def _enum(name: str, length: int, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", _enum("identity_kind", 16, "customer", "staff"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("roles", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", _enum("identity_status", 16, "active", "disabled"), nullable=False),
        sa.Column("failed_login_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'customer' AND customer_id IS NOT NULL AND cardinality(roles) = 0)"
            " OR (kind = 'staff' AND customer_id IS NULL AND cardinality(roles) > 0)",
            name=op.f("ck_identities_kind_fields"),
        ),
        sa.CheckConstraint("username = lower(username)", name=op.f("ck_identities_username_lower_case")),
        sa.CheckConstraint("failed_login_attempts >= 0", name=op.f("ck_identities_failed_login_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_identities_customer_id")),
        sa.UniqueConstraint("kind", "username", name=op.f("uq_identities_kind_username")),
        schema=SCHEMA,
    )
    op.create_table(
        "totp_credentials",
        sa.Column("identity_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            [f"{SCHEMA}.identities.id"],
            name=op.f("fk_totp_credentials_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_totp_credentials")),
        schema=SCHEMA,
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("identity_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            [f"{SCHEMA}.identities.id"],
            name=op.f("fk_recovery_codes_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_recovery_codes_code_hash")),
        schema=SCHEMA,
    )
    op.create_index("ix_recovery_codes_identity_id", "recovery_codes", ["identity_id"], schema=SCHEMA)
    op.create_table(
        "browser_sessions",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("identity_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "stage", _enum("session_stage", 24, "awaiting_otp", "awaiting_enrolment", "authenticated"), nullable=False
        ),
        sa.Column("amr", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("acr", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_to", sa.String(length=2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("absolute_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            [f"{SCHEMA}.identities.id"],
            name=op.f("fk_browser_sessions_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_browser_sessions_token_hash")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_browser_sessions_live_identity",
        "browser_sessions",
        ["identity_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("browser_sessions", schema=SCHEMA)
    op.drop_table("recovery_codes", schema=SCHEMA)
    op.drop_table("totp_credentials", schema=SCHEMA)
    op.drop_table("identities", schema=SCHEMA)
