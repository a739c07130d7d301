"""auth_server: grants looked up by their consent (a consent that ends in core banking ends its grants)

Revision ID: 20261205_0012
Revises: 20261205_0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261205_0012"
down_revision: str | Sequence[str] | None = "20261205_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_auth_server_oauth_grants_consent_id"), "oauth_grants", ["consent_id"], schema="auth_server"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_server_oauth_grants_consent_id"), table_name="oauth_grants", schema="auth_server")
