"""auth_server grants (consent sessions) and authorization codes

Revision ID: 20261122_0007
Revises: 20261122_0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261122_0007"
down_revision: str | Sequence[str] | None = "20261122_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTH = "auth_server"


def upgrade() -> None:
    op.create_table(
        "oauth_grants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("authorization_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        sa.Column("account_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "REVOKED",
                name="grant_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema=AUTH,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_grants")),
        schema=AUTH,
    )
    op.create_index("ix_oauth_grants_subject", "oauth_grants", ["subject"], schema=AUTH)
    op.create_table(
        "authorization_codes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=64), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("authorization_details", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("acr", sa.Text(), nullable=False),
        sa.Column("amr", postgresql.ARRAY(sa.String(length=16)), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_authorization_codes_code_hash")),
        schema=AUTH,
    )


def downgrade() -> None:
    op.drop_table("authorization_codes", schema=AUTH)
    op.drop_index("ix_oauth_grants_subject", table_name="oauth_grants", schema=AUTH)
    op.drop_table("oauth_grants", schema=AUTH)
