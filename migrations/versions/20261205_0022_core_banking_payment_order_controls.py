"""core_banking: payment orders paused and resumed, paid to payees, on a month's last day; payments held

Revision ID: 20261205_0022
Revises: 20261205_0021
Create Date: 2026-12-05

Statuses gain PAUSED (a customer's standing order stopped for a while) and runs SKIPPED (a date that passed
while it was paused). `on_month_end` pays a monthly order on the last day of each month; `payee_id` names the
customer's saved payee an order (or a payment) pays. A payment to a payee in its cooling-off waits at step 0
(HELD) for the customer's confirmation until `answer_due_at`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0022"
down_revision: str | Sequence[str] | None = "20261205_0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCHEMA = "core_banking"


def _replace_check(table: str, old: str, new: str, condition: str) -> None:
    op.drop_constraint(op.f(old), table, type_="check", schema=_SCHEMA)
    op.create_check_constraint(op.f(new), table, condition, schema=_SCHEMA)


# The enum columns' constraints were created under their bare names (0016); they come back under the
# naming convention's, as the models name them.
_STATUS = ("payment_order_status", "ck_payment_orders_payment_order_status")
_OUTCOME = ("payment_order_run_outcome", "ck_payment_order_runs_payment_order_run_outcome")
_STEP = "ck_payments_step_range"


def upgrade() -> None:
    _replace_check("payment_orders", *_STATUS, "status IN ('ACTIVE', 'PAUSED', 'COMPLETED', 'CANCELLED')")
    _replace_check("payment_order_runs", *_OUTCOME, "outcome IN ('PAID', 'FAILED', 'SKIPPED')")
    op.add_column(
        "payment_orders",
        sa.Column("on_month_end", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema=_SCHEMA,
    )
    op.add_column("payment_orders", sa.Column("payee_id", postgresql.UUID(as_uuid=True)), schema=_SCHEMA)
    op.create_check_constraint(
        op.f("ck_payment_orders_month_end_is_monthly"),
        "payment_orders",
        "NOT on_month_end OR frequency IN ('MNTH', 'QURT', 'MIAN', 'YEAR')",
        schema=_SCHEMA,
    )

    _replace_check("payments", _STEP, _STEP, "step BETWEEN 0 AND 4")
    op.add_column("payments", sa.Column("payee_id", postgresql.UUID(as_uuid=True)), schema=_SCHEMA)
    op.create_index(
        "ix_payments_confirmation_due",
        "payments",
        ["answer_due_at"],
        schema=_SCHEMA,
        postgresql_where=sa.text("step = 0 AND status = 'PDNG'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payments_confirmation_due", "payments", schema=_SCHEMA)
    op.drop_column("payments", "payee_id", schema=_SCHEMA)
    _replace_check("payments", _STEP, _STEP, "step BETWEEN 1 AND 4")
    op.drop_constraint("ck_payment_orders_month_end_is_monthly", "payment_orders", type_="check", schema=_SCHEMA)
    op.drop_column("payment_orders", "payee_id", schema=_SCHEMA)
    op.drop_column("payment_orders", "on_month_end", schema=_SCHEMA)
    _replace_check("payment_order_runs", _OUTCOME[1], _OUTCOME[0], "outcome IN ('PAID', 'FAILED')")
    _replace_check("payment_orders", _STATUS[1], _STATUS[0], "status IN ('ACTIVE', 'COMPLETED', 'CANCELLED')")
