"""faster_payments: the simulated scheme's account directory, transactions, scheduled messages and faults

Revision ID: 20261205_0013
Revises: 20261205_0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0013"
down_revision: str | Sequence[str] | None = "20261205_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "faster_payments"


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("bank_name", sa.String(length=70), nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.Column("holder_name", sa.String(length=140), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN", "CLOSED", name="scheme_account_status", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("sort_code", "account_number", name=op.f("uq_accounts_sort_code_account_number")),
        schema=SCHEMA,
    )
    op.create_table(
        "transactions",
        sa.Column("tx_id", sa.String(length=35), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "FROM_BANK",
                "TO_BANK",
                name="transaction_direction",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("instruction_id", sa.String(length=35), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("debtor_name", sa.String(length=140), nullable=True),
        sa.Column("debtor_sort_code", sa.String(length=6), nullable=True),
        sa.Column("debtor_account_number", sa.String(length=8), nullable=True),
        sa.Column("creditor_name", sa.String(length=140), nullable=True),
        sa.Column("creditor_sort_code", sa.String(length=6), nullable=True),
        sa.Column("creditor_account_number", sa.String(length=8), nullable=True),
        sa.Column("reference", sa.String(length=140), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settlement_date", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "ACSC",
                "ACSP",
                "RJCT",
                "PDNG",
                name="scheme_transaction_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_transactions_amount_positive")),
        sa.PrimaryKeyConstraint("tx_id", name=op.f("pk_transactions")),
        schema=SCHEMA,
    )
    op.create_index("ix_transactions_received_at", "transactions", ["received_at"], schema=SCHEMA)
    op.create_table(
        "scheduled_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("deliver_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("definition", sa.String(length=35), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=35), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_messages")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_scheduled_messages_due",
        "scheduled_messages",
        ["deliver_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    faults = op.create_table(
        "faults",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("delay_min_ms", sa.Integer(), nullable=False),
        sa.Column("delay_max_ms", sa.Integer(), nullable=False),
        sa.Column("drop_rate", sa.Double(), nullable=False),
        sa.Column("duplicate_rate", sa.Double(), nullable=False),
        sa.Column("timeout_s", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_faults_single_row")),
        sa.CheckConstraint("0 <= delay_min_ms AND delay_min_ms <= delay_max_ms", name=op.f("ck_faults_delays")),
        sa.CheckConstraint(
            "drop_rate >= 0 AND drop_rate <= 1 AND duplicate_rate >= 0 AND duplicate_rate <= 1",
            name=op.f("ck_faults_rates"),
        ),
        sa.CheckConstraint("timeout_s > 0", name=op.f("ck_faults_timeout_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faults")),
        schema=SCHEMA,
    )
    # No faults until an operator injects some; a 10 s acceptance window.
    op.bulk_insert(
        faults,
        [{"id": 1, "delay_min_ms": 0, "delay_max_ms": 0, "drop_rate": 0.0, "duplicate_rate": 0.0, "timeout_s": 10.0}],
    )


def downgrade() -> None:
    op.drop_table("faults", schema=SCHEMA)
    op.drop_index("ix_scheduled_messages_due", table_name="scheduled_messages", schema=SCHEMA)
    op.drop_table("scheduled_messages", schema=SCHEMA)
    op.drop_index("ix_transactions_received_at", table_name="transactions", schema=SCHEMA)
    op.drop_table("transactions", schema=SCHEMA)
    op.drop_table("accounts", schema=SCHEMA)
