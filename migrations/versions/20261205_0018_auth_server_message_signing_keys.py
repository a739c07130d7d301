"""auth_server: signing keys gain a purpose, so the bank signs Open Banking messages with a key of its own

Revision ID: 20261205_0018
Revises: 20261205_0017
Create Date: 2026-12-05

Every key so far signs tokens (TOKENS). A MESSAGES key (PS256 only) signs the bodies of Open Banking responses
(`x-jws-signature`); one key may be ACTIVE per purpose and algorithm. The downgrade drops the message keys.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0018"
down_revision: str | Sequence[str] | None = "20261205_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "auth_server"
TABLE = "signing_keys"
ACTIVE_ONLY = sa.text("status = 'ACTIVE'")


def upgrade() -> None:
    op.add_column(
        TABLE,
        sa.Column("purpose", sa.String(length=16), nullable=False, server_default="TOKENS"),
        schema=SCHEMA,
    )
    op.alter_column(TABLE, "purpose", server_default=None, schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_signing_keys_signing_key_purpose"), TABLE, "purpose IN ('TOKENS', 'MESSAGES')", schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_signing_keys_message_alg"), TABLE, "purpose = 'TOKENS' OR alg = 'PS256'", schema=SCHEMA
    )
    op.drop_index("uq_signing_keys_active_alg", table_name=TABLE, schema=SCHEMA, postgresql_where=ACTIVE_ONLY)
    op.create_index(
        "uq_signing_keys_active_purpose_alg",
        TABLE,
        ["purpose", "alg"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=ACTIVE_ONLY,
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM auth_server.signing_keys WHERE purpose = 'MESSAGES'"))
    op.drop_index("uq_signing_keys_active_purpose_alg", table_name=TABLE, schema=SCHEMA, postgresql_where=ACTIVE_ONLY)
    op.create_index(
        "uq_signing_keys_active_alg", TABLE, ["alg"], unique=True, schema=SCHEMA, postgresql_where=ACTIVE_ONLY
    )
    op.drop_constraint(op.f("ck_signing_keys_message_alg"), TABLE, schema=SCHEMA, type_="check")
    op.drop_constraint(op.f("ck_signing_keys_signing_key_purpose"), TABLE, schema=SCHEMA, type_="check")
    op.drop_column(TABLE, "purpose", schema=SCHEMA)
