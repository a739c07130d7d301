"""auth_server: the sign-in session a first-party grant and authorization code were issued under

Revision ID: 20261205_0035
Revises: 20261205_0034
Create Date: 2026-12-05

Ending a sign-in session (signed out, signed out elsewhere, revoked by staff, a new authenticator app) ends what the
bank's own apps obtained through it: the grants, and the staff console's tokens, which have no grant, by their code.
TPP grants name no session: a customer's consent to a TPP outlives their sign-in. Rows issued before this revision
name none either.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0035"
down_revision: str | Sequence[str] | None = "20261205_0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "auth_server"
_TABLES = ("oauth_grants", "authorization_codes")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("session_id", postgresql.UUID(as_uuid=True), nullable=True), schema=_SCHEMA)
        op.create_index(f"ix_{table}_session_id", table, ["session_id"], schema=_SCHEMA)


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_index(f"ix_{table}_session_id", table_name=table, schema=_SCHEMA)
        op.drop_column(table, "session_id", schema=_SCHEMA)
