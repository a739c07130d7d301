"""core_banking: idempotency keys keep their response sealed (it may name a payee or an account holder)

Revision ID: 20261205_0023
Revises: 20261205_0022
Create Date: 2026-12-05

`response_body` stays for the responses stored in clear before this revision, so a retry within their day
still replays them; nothing writes it any more, and the purge job removes those rows as they expire.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0023"
down_revision: str | Sequence[str] | None = "20261205_0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "idempotency_keys", sa.Column("response_sealed", sa.LargeBinary(), nullable=True), schema="core_banking"
    )


def downgrade() -> None:
    op.drop_column("idempotency_keys", "response_sealed", schema="core_banking")
