"""core_banking: scheduled payment and standing order consents as UK Open Banking's PISP creates them

Revision ID: 20261205_0017
Revises: 20261205_0016
Create Date: 2026-12-05

Consents gain the kinds DOMESTIC_SCHEDULED_PAYMENT and DOMESTIC_STANDING_ORDER (whose names need a wider
`kind`), with their schedule: the first (or only) payment's requested date-time, and a standing order's
frequency, final date-time, number of payments and later amounts. Like a domestic payment consent, each keeps
the TPP's `Initiation` and `Risk` as sent. The downgrade forgets these consents and their columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0017"
down_revision: str | Sequence[str] | None = "20261205_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "core_banking"
KINDS_BEFORE = ("ACCOUNT_ACCESS", "DOMESTIC_PAYMENT", "FUNDS_CONFIRMATION")
KINDS_AFTER = (*KINDS_BEFORE, "DOMESTIC_SCHEDULED_PAYMENT", "DOMESTIC_STANDING_ORDER")
FREQUENCIES = ("DAIL", "WEEK", "FRTN", "MNTH", "QURT", "MIAN", "YEAR")

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
    " AND (debtor_scheme IS NULL) = (debtor_identification IS NULL))"
)
_FUNDS_CONFIRMATION = (
    " OR (kind = 'FUNDS_CONFIRMATION' AND permissions IS NULL"
    " AND transactions_from IS NULL AND transactions_to IS NULL"
    " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL AND creditor_scheme IS NULL"
    " AND creditor_identification IS NULL AND reference IS NULL"
    " AND debtor_scheme IS NOT NULL AND debtor_identification IS NOT NULL)"
)
_ORDERS = (
    " OR (kind IN ('DOMESTIC_SCHEDULED_PAYMENT', 'DOMESTIC_STANDING_ORDER') AND permissions IS NULL"
    " AND expires_at IS NULL AND transactions_from IS NULL AND transactions_to IS NULL"
    " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
    " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL"
    " AND first_payment_at IS NOT NULL AND (debtor_scheme IS NULL) = (debtor_identification IS NULL))"
)
KIND_DETAILS_BEFORE = _ACCOUNT_ACCESS + _PAYMENT + _FUNDS_CONFIRMATION
KIND_DETAILS_AFTER = KIND_DETAILS_BEFORE + _ORDERS
PAYMENT_INITIATION_BEFORE = (
    "kind = 'DOMESTIC_PAYMENT'"
    " OR (instruction_id IS NULL AND end_to_end_id IS NULL AND initiation IS NULL AND risk IS NULL)"
)
PAYMENT_INITIATION_AFTER = (
    "kind IN ('DOMESTIC_PAYMENT', 'DOMESTIC_SCHEDULED_PAYMENT', 'DOMESTIC_STANDING_ORDER')"
    " OR (instruction_id IS NULL AND end_to_end_id IS NULL AND initiation IS NULL AND risk IS NULL)"
)
ORDER_SCHEDULE = (
    "(kind = 'DOMESTIC_STANDING_ORDER' AND frequency IS NOT NULL)"
    " OR (frequency IS NULL AND final_payment_at IS NULL AND payments_total IS NULL"
    " AND recurring_amount_minor IS NULL AND final_amount_minor IS NULL"
    " AND (kind = 'DOMESTIC_SCHEDULED_PAYMENT' OR first_payment_at IS NULL))"
)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _replace_check(name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), "consents", schema=SCHEMA, type_="check")
    op.create_check_constraint(op.f(name), "consents", condition, schema=SCHEMA)


def upgrade() -> None:
    op.alter_column("consents", "kind", type_=sa.String(length=32), existing_type=sa.String(length=24), schema=SCHEMA)
    op.add_column("consents", sa.Column("first_payment_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("final_payment_at", sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("frequency", sa.String(length=4), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("payments_total", sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("recurring_amount_minor", sa.BigInteger(), nullable=True), schema=SCHEMA)
    op.add_column("consents", sa.Column("final_amount_minor", sa.BigInteger(), nullable=True), schema=SCHEMA)
    _replace_check("consent_kind", _one_of("kind", KINDS_AFTER))
    _replace_check("ck_consents_kind_details", KIND_DETAILS_AFTER)
    _replace_check("ck_consents_payment_initiation", PAYMENT_INITIATION_AFTER)
    op.create_check_constraint(op.f("consent_frequency"), "consents", _one_of("frequency", FREQUENCIES), schema=SCHEMA)
    op.create_check_constraint(op.f("ck_consents_order_schedule"), "consents", ORDER_SCHEDULE, schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_consents_payments_total_positive"),
        "consents",
        "payments_total IS NULL OR payments_total > 0",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_consents_order_amounts_positive"),
        "consents",
        "coalesce(recurring_amount_minor, 1) > 0 AND coalesce(final_amount_minor, 1) > 0",
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM core_banking.consents WHERE kind IN ('DOMESTIC_SCHEDULED_PAYMENT', 'DOMESTIC_STANDING_ORDER')"
    )
    for name in (
        "ck_consents_order_amounts_positive",
        "ck_consents_payments_total_positive",
        "ck_consents_order_schedule",
        "consent_frequency",
    ):
        op.drop_constraint(op.f(name), "consents", schema=SCHEMA, type_="check")
    _replace_check("ck_consents_payment_initiation", PAYMENT_INITIATION_BEFORE)
    _replace_check("ck_consents_kind_details", KIND_DETAILS_BEFORE)
    _replace_check("consent_kind", _one_of("kind", KINDS_BEFORE))
    for column in (
        "final_amount_minor",
        "recurring_amount_minor",
        "payments_total",
        "frequency",
        "final_payment_at",
        "first_payment_at",
    ):
        op.drop_column("consents", column, schema=SCHEMA)
    op.alter_column("consents", "kind", type_=sa.String(length=24), existing_type=sa.String(length=32), schema=SCHEMA)
