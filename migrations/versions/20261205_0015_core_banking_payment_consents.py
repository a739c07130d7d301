"""core_banking: domestic payment consents as UK Open Banking's PISP creates them

Revision ID: 20261205_0015
Revises: 20261205_0014
Create Date: 2026-12-05

A domestic payment consent keeps the TPP's InstructionIdentification and EndToEndIdentification, its whole
`Initiation` and `Risk` as sent (JSONB: reads echo them, the payment's Initiation is compared with them),
and the DebtorAccount it may name (in `debtor_*`, as funds confirmation consents do). The downgrade forgets
these details; the consents themselves stay.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0015"
down_revision: str | Sequence[str] | None = "20261205_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "core_banking"

_ACCOUNT_ACCESS = (
    "(kind = 'ACCOUNT_ACCESS' AND permissions IS NOT NULL AND cardinality(permissions) > 0"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL"
    " AND debtor_scheme IS NULL AND debtor_identification IS NULL AND debtor_name IS NULL)"
)
_PAYMENT = (
    " OR (kind = 'DOMESTIC_PAYMENT' AND permissions IS NULL AND expires_at IS NULL"
    " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
    " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL"
)
_FUNDS_CONFIRMATION = (
    " OR (kind = 'FUNDS_CONFIRMATION' AND permissions IS NULL"
    " AND transactions_from IS NULL AND transactions_to IS NULL"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL AND creditor_scheme IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL"
    " AND debtor_scheme IS NOT NULL AND debtor_identification IS NOT NULL)"
)
KIND_DETAILS_BEFORE = (
    _ACCOUNT_ACCESS
    + _PAYMENT
    + " AND debtor_scheme IS NULL AND debtor_identification IS NULL AND debtor_name IS NULL)"
    + _FUNDS_CONFIRMATION
)
KIND_DETAILS_AFTER = (
    _ACCOUNT_ACCESS + _PAYMENT + " AND (debtor_scheme IS NULL) = (debtor_identification IS NULL))" + _FUNDS_CONFIRMATION
)
PAYMENT_INITIATION = (
    "kind = 'DOMESTIC_PAYMENT'"
    " OR (instruction_id IS NULL AND end_to_end_id IS NULL AND initiation IS NULL AND risk IS NULL)"
)


def _replace_check(name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), "consents", schema=SCHEMA, type_="check")
    op.create_check_constraint(op.f(name), "consents", condition, schema=SCHEMA)


def upgrade() -> None:
    op.add_column("consents", sa.Column("instruction_id", sa.String(length=35), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("end_to_end_id", sa.String(length=35), nullable=True), schema=SCHEMA)
    op.add_column(
        "consents", sa.Column("initiation", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema=SCHEMA
    )
    op.add_column("consents", sa.Column("risk", postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema=SCHEMA)
    _replace_check("ck_consents_kind_details", KIND_DETAILS_AFTER)
    op.create_check_constraint(op.f("ck_consents_payment_initiation"), "consents", PAYMENT_INITIATION, schema=SCHEMA)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_consents_payment_initiation"), "consents", schema=SCHEMA, type_="check")
    op.execute(
        "UPDATE core_banking.consents SET debtor_scheme = NULL, debtor_identification = NULL, debtor_name = NULL"
        " WHERE kind = 'DOMESTIC_PAYMENT'"
    )
    _replace_check("ck_consents_kind_details", KIND_DETAILS_BEFORE)
    op.drop_column("consents", "risk", schema=SCHEMA)
    op.drop_column("consents", "initiation", schema=SCHEMA)
    op.drop_column("consents", "end_to_end_id", schema=SCHEMA)
    op.drop_column("consents", "instruction_id", schema=SCHEMA)
