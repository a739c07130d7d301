"""auth_server authorization sessions, codes without a grant (staff console), clients' identity kind

Revision ID: 20261122_0008
Revises: 20261122_0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261122_0008"
down_revision: str | Sequence[str] | None = "20261122_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTH = "auth_server"


def upgrade() -> None:
    op.create_table(
        "authorization_sessions",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("pushed_request_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("browser_binding", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.CheckConstraint(
            "(completed_at IS NULL) = (outcome IS NULL)", name=op.f("ck_authorization_sessions_completion")
        ),
        sa.ForeignKeyConstraint(
            ["pushed_request_id"],
            [f"{AUTH}.pushed_authorization_requests.id"],
            name=op.f("fk_authorization_sessions_pushed_request_id_pushed_authorization_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_sessions")),
        sa.UniqueConstraint("pushed_request_id", name=op.f("uq_authorization_sessions_pushed_request_id")),
        schema=AUTH,
    )
    op.create_index("ix_authorization_sessions_expires_at", "authorization_sessions", ["expires_at"], schema=AUTH)
    op.alter_column("authorization_codes", "grant_id", existing_type=sa.UUID(), nullable=True, schema=AUTH)
    # Every client registered so far signs customers in.
    op.add_column(
        "oauth_clients",
        sa.Column("identity_kind", sa.String(length=16), nullable=False, server_default="customer"),
        schema=AUTH,
    )
    op.alter_column("oauth_clients", "identity_kind", server_default=None, schema=AUTH)
    op.create_check_constraint(
        op.f("ck_oauth_clients_identity_kind"),
        "oauth_clients",
        "identity_kind IN ('customer', 'staff')",
        schema=AUTH,
    )
    op.create_check_constraint(
        op.f("ck_oauth_clients_staff_is_first_party"),
        "oauth_clients",
        "identity_kind = 'customer' OR first_party",
        schema=AUTH,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_oauth_clients_staff_is_first_party"), "oauth_clients", type_="check", schema=AUTH)
    op.drop_constraint(op.f("ck_oauth_clients_identity_kind"), "oauth_clients", type_="check", schema=AUTH)
    op.drop_column("oauth_clients", "identity_kind", schema=AUTH)
    op.execute("DELETE FROM auth_server.authorization_codes WHERE grant_id IS NULL")  # staff codes: 60 s lives
    op.alter_column("authorization_codes", "grant_id", existing_type=sa.UUID(), nullable=False, schema=AUTH)
    op.drop_index("ix_authorization_sessions_expires_at", table_name="authorization_sessions", schema=AUTH)
    op.drop_table("authorization_sessions", schema=AUTH)
