"""core banking: customers findable by a keyed hash of their name (staff search)

Rows created before this revision have no hash: `obank customers backfill-name-hashes` fills them in (it needs
the key ring, which migrations do not hold).

Revision ID: 20261205_0030
Revises: 20261205_0029
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0030"
down_revision: str | Sequence[str] | None = "20261205_0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("full_name_hash", sa.LargeBinary(), nullable=True), schema="core_banking")
    op.create_index("ix_customers_full_name_hash", "customers", ["full_name_hash"], schema="core_banking")


def downgrade() -> None:
    op.drop_index("ix_customers_full_name_hash", table_name="customers", schema="core_banking")
    op.drop_column("customers", "full_name_hash", schema="core_banking")
