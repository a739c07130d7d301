"""core_banking: payment orders (payments scheduled for a date, standing orders) and each occurrence they ran

Revision ID: 20261205_0016
Revises: 20261205_0015
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0016"
down_revision: str | Sequence[str] | None = "20261205_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_orders",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SCHEDULED",
                "STANDING_ORDER",
                name="payment_order_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column(
            "origin",
            sa.Enum(
                "CUSTOMER",
                "OPEN_BANKING",
                name="payment_order_origin",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("debtor_account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        sa.Column("creditor_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("creditor_scheme", sa.String(length=40), nullable=False),
        sa.Column("creditor_identification", sa.String(length=34), nullable=False),
        sa.Column("reference", sa.String(length=35), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=True),
        sa.Column("instruction_id", sa.String(length=35), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("first_amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("recurring_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("final_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "frequency",
            sa.Enum(
                "DAIL",
                "WEEK",
                "FRTN",
                "MNTH",
                "QURT",
                "MIAN",
                "YEAR",
                name="payment_order_frequency",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=True,
        ),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("final_date", sa.Date(), nullable=True),
        sa.Column("payments_total", sa.Integer(), nullable=True),
        sa.Column("next_sequence", sa.Integer(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "COMPLETED",
                "CANCELLED",
                name="payment_order_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'SCHEDULED' AND frequency IS NULL AND payments_total = 1) OR (kind = 'STANDING_ORDER' AND frequency IS NOT NULL)",
            name=op.f("ck_payment_orders_kind_schedule"),
        ),
        sa.CheckConstraint(
            "(origin = 'OPEN_BANKING') = (client_id IS NOT NULL)",
            name=op.f("ck_payment_orders_open_banking_has_client"),
        ),
        sa.CheckConstraint(
            "(status = 'ACTIVE') = (next_due_at IS NOT NULL)", name=op.f("ck_payment_orders_active_has_next")
        ),
        sa.CheckConstraint(
            "final_date IS NULL OR final_date >= first_date", name=op.f("ck_payment_orders_final_after_first")
        ),
        sa.CheckConstraint(
            "first_amount_minor > 0 AND coalesce(recurring_amount_minor, 1) > 0 AND coalesce(final_amount_minor, 1) > 0",
            name=op.f("ck_payment_orders_amounts_positive"),
        ),
        sa.CheckConstraint(
            "payments_total IS NULL OR payments_total > 0", name=op.f("ck_payment_orders_payments_total_positive")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["core_banking.customers.id"], name=op.f("fk_payment_orders_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["debtor_account_id"],
            ["core_banking.accounts.id"],
            name=op.f("fk_payment_orders_debtor_account_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_orders")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_payment_orders_consent_id")),
        schema="core_banking",
    )
    op.create_index(
        "ix_payment_orders_customer",
        "payment_orders",
        ["customer_id", "created_at"],
        unique=False,
        schema="core_banking",
    )
    op.create_index(
        "ix_payment_orders_debtor_account", "payment_orders", ["debtor_account_id"], unique=False, schema="core_banking"
    )
    op.create_index(
        "ix_payment_orders_due",
        "payment_orders",
        ["next_due_at"],
        unique=False,
        schema="core_banking",
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_table(
        "payment_order_runs",
        sa.Column("order_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "PAID",
                "FAILED",
                name="payment_order_run_outcome",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("payment_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(outcome = 'PAID') = (payment_id IS NOT NULL)", name=op.f("ck_payment_order_runs_paid_has_payment")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["core_banking.payment_orders.id"], name=op.f("fk_payment_order_runs_order_id_payment_orders")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["core_banking.payments.id"], name=op.f("fk_payment_order_runs_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("order_id", "sequence", name=op.f("pk_payment_order_runs")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_order_runs_payment_id")),
        schema="core_banking",
    )


def downgrade() -> None:
    op.drop_table("payment_order_runs", schema="core_banking")
    op.drop_table("payment_orders", schema="core_banking")
