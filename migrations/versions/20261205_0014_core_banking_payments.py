"""core_banking: payments (their saga state and status history) and payments received from the scheme

Revision ID: 20261205_0014
Revises: 20261205_0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0014"
down_revision: str | Sequence[str] | None = "20261205_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "received_payments",
        sa.Column("scheme_transaction_id", sa.String(length=35), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("creditor_account_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PDNG",
                "ACSP",
                "ACSC",
                "RJCT",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.Column("entry_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'ACSC') = (entry_id IS NOT NULL)", name=op.f("ck_received_payments_credited_has_entry")
        ),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_received_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["core_banking.journal_entries.id"],
            name=op.f("fk_received_payments_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("scheme_transaction_id", name=op.f("pk_received_payments")),
        schema="core_banking",
    )
    op.create_table(
        "payments",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "CUSTOMER",
                "OPEN_BANKING",
                name="payment_origin",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column(
            "route",
            sa.Enum(
                "INTERNAL",
                "FASTER_PAYMENTS",
                name="payment_route",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("customer_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("debtor_account_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("creditor_name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("creditor_scheme", sa.String(length=40), nullable=False),
        sa.Column("creditor_identification", sa.String(length=34), nullable=False),
        sa.Column("creditor_sort_code", sa.String(length=6), nullable=True),
        sa.Column("creditor_account_number", sa.String(length=8), nullable=True),
        sa.Column("creditor_account_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("reference", sa.String(length=35), nullable=True),
        sa.Column("end_to_end_id", sa.String(length=35), nullable=False),
        sa.Column("instruction_id", sa.String(length=35), nullable=False),
        sa.Column("scheme_transaction_id", sa.String(length=35), nullable=False),
        sa.Column("consent_id", sa.String(length=128), nullable=True),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PDNG",
                "ACSP",
                "ACSC",
                "RJCT",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.Column("reason_text", sa.String(length=140), nullable=True),
        sa.Column("step", sa.SmallInteger(), nullable=False),
        sa.Column("hold_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("settlement_entry_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("fraud_score", sa.SmallInteger(), nullable=True),
        sa.Column("fraud_recommendation", sa.String(length=16), nullable=True),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_requests", sa.Integer(), nullable=False),
        sa.Column("contradicted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(origin = 'OPEN_BANKING') = (client_id IS NOT NULL)", name=op.f("ck_payments_open_banking_has_client")
        ),
        sa.CheckConstraint(
            "(route = 'INTERNAL') = (creditor_account_id IS NOT NULL)", name=op.f("ck_payments_internal_has_account")
        ),
        sa.CheckConstraint(
            "(status = 'ACSC') = (settlement_entry_id IS NOT NULL)", name=op.f("ck_payments_settled_has_entry")
        ),
        sa.CheckConstraint("(status = 'RJCT') = (reason IS NOT NULL)", name=op.f("ck_payments_rejected_has_reason")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("step BETWEEN 1 AND 4", name=op.f("ck_payments_step_range")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["core_banking.customers.id"], name=op.f("fk_payments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["debtor_account_id", "currency"],
            ["core_banking.accounts.id", "core_banking.accounts.currency"],
            name="fk_payments_debtor_account_currency_accounts",
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["core_banking.holds.id"], name=op.f("fk_payments_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["settlement_entry_id"],
            ["core_banking.journal_entries.id"],
            name=op.f("fk_payments_settlement_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("consent_id", name=op.f("uq_payments_consent_id")),
        sa.UniqueConstraint("scheme_transaction_id", name=op.f("uq_payments_scheme_transaction_id")),
        sa.UniqueConstraint("settlement_entry_id", name=op.f("uq_payments_settlement_entry_id")),
        schema="core_banking",
    )
    op.create_index(
        "ix_payments_answer_due",
        "payments",
        ["answer_due_at"],
        unique=False,
        schema="core_banking",
        postgresql_where=sa.text("status = 'ACSP'"),
    )
    op.create_index(
        "ix_payments_customer_created", "payments", ["customer_id", "created_at"], unique=False, schema="core_banking"
    )
    op.create_index(
        "ix_payments_debtor_account_created",
        "payments",
        ["debtor_account_id", "created_at"],
        unique=False,
        schema="core_banking",
    )
    op.create_table(
        "payment_status_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("payment_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PDNG",
                "ACSP",
                "ACSC",
                "RJCT",
                name="payment_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="core_banking",
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.Column("reason_text", sa.String(length=140), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["core_banking.payments.id"], name=op.f("fk_payment_status_changes_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_status_changes")),
        schema="core_banking",
    )
    op.create_index(
        "ix_payment_status_changes_payment",
        "payment_status_changes",
        ["payment_id", "id"],
        unique=False,
        schema="core_banking",
    )


def downgrade() -> None:
    op.drop_table("payment_status_changes", schema="core_banking")
    op.drop_table("payments", schema="core_banking")
    op.drop_table("received_payments", schema="core_banking")
