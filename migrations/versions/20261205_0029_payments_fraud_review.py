"""core banking: payments remember the sign-in session behind them (fraud screening)

Revision ID: 20261205_0029
Revises: 20261205_0028
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0029"
down_revision: str | Sequence[str] | None = "20261205_0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SCHEMA = "core_banking"


def upgrade() -> None:
    op.add_column("payments", sa.Column("session_id", sa.String(length=64), nullable=True), schema=SCHEMA)
    op.drop_constraint("ck_payments_step_range", "payments", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_payments_step_range", "payments", "step BETWEEN 0 AND 5", schema=SCHEMA)
    op.create_index(
        "ix_payments_review_due",
        "payments",
        ["answer_due_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("step = 5 AND status = 'PDNG'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payments_review_due", table_name="payments", schema=SCHEMA)
    op.drop_constraint("ck_payments_step_range", "payments", schema=SCHEMA, type_="check")
    op.create_check_constraint("ck_payments_step_range", "payments", "step BETWEEN 0 AND 4", schema=SCHEMA)
    op.drop_column("payments", "session_id", schema=SCHEMA)
