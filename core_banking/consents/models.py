"""Consent table: one row per Open Banking consent, its kind's details in kind-checked columns."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, BigInteger, CheckConstraint, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from core_banking.payment_orders.schedule import Frequency
from obank.database import enum_type


class ConsentKind(StrEnum):
    ACCOUNT_ACCESS = "ACCOUNT_ACCESS"
    DOMESTIC_PAYMENT = "DOMESTIC_PAYMENT"
    FUNDS_CONFIRMATION = "FUNDS_CONFIRMATION"
    DOMESTIC_SCHEDULED_PAYMENT = "DOMESTIC_SCHEDULED_PAYMENT"
    DOMESTIC_STANDING_ORDER = "DOMESTIC_STANDING_ORDER"


# Consents that authorise paying someone: each makes one payment, or one payment order, and is consumed by it.
PAYMENT_KINDS = frozenset(
    {ConsentKind.DOMESTIC_PAYMENT, ConsentKind.DOMESTIC_SCHEDULED_PAYMENT, ConsentKind.DOMESTIC_STANDING_ORDER}
)
# Consents that set up a payment order (core_banking.payment_orders) rather than pay at once.
ORDER_KINDS = frozenset({ConsentKind.DOMESTIC_SCHEDULED_PAYMENT, ConsentKind.DOMESTIC_STANDING_ORDER})


class ConsentStatus(StrEnum):
    """The life of a consent; UK Open Banking v4.0 codes: AWAU, AUTH, RJCT, COND (consumed), CANC (revoked), EXPD."""

    AWAITING_AUTHORISATION = "AwaitingAuthorisation"
    AUTHORISED = "Authorised"
    REJECTED = "Rejected"
    CONSUMED = "Consumed"
    REVOKED = "Revoked"
    EXPIRED = "Expired"


class RevokedBy(StrEnum):
    """Who ended a consent before its time: the TPP (its DELETE) or the customer (the bank's grants page)."""

    CLIENT = "client"
    CUSTOMER = "customer"


class Consent(Base):
    """A consent a TPP client asked for; the customer and accounts are set when the customer authorises it."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[ConsentKind] = mapped_column(enum_type(ConsentKind, "consent_kind", length=32), nullable=False)
    client_id: Mapped[str] = mapped_column(String(128), nullable=False)
    status: Mapped[ConsentStatus] = mapped_column(
        enum_type(ConsentStatus, "consent_status", length=24),
        nullable=False,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_by: Mapped[RevokedBy | None] = mapped_column(enum_type(RevokedBy, "consent_revoked_by"))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    account_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    # Account access and funds confirmation: ExpirationDateTime.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Account access: OB permissions and the transaction window.
    permissions: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    transactions_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transactions_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Domestic payment: instructed amount, creditor account and the reference the payee sees.
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    creditor_name: Mapped[str | None] = mapped_column(String(140))
    creditor_scheme: Mapped[str | None] = mapped_column(String(40))
    creditor_identification: Mapped[str | None] = mapped_column(String(256))
    reference: Mapped[str | None] = mapped_column(String(35))
    # Domestic payment made through Open Banking: the TPP's identifications of the instruction, and its whole
    # `Initiation` and `Risk` as it sent them (echoed on reads; the payment's Initiation must match it).
    instruction_id: Mapped[str | None] = mapped_column(String(35))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    initiation: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    risk: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Scheduled payment and standing order: when the first (or only) payment is asked for, and a standing
    # order's frequency, end (a final date and/or a number of payments) and its later payments' amounts.
    first_payment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    final_payment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    frequency: Mapped[Frequency | None] = mapped_column(enum_type(Frequency, "consent_frequency", length=4))
    payments_total: Mapped[int | None] = mapped_column(Integer)
    recurring_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    final_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    # Funds confirmation: the DebtorAccount whose funds the TPP may check, as the TPP named it. Domestic
    # payment: the DebtorAccount the TPP named, if any (the customer must pay from it).
    debtor_scheme: Mapped[str | None] = mapped_column(String(40))
    debtor_identification: Mapped[str | None] = mapped_column(String(256))
    debtor_name: Mapped[str | None] = mapped_column(String(350))

    __table_args__ = (
        Index("ix_consents_client_id", "client_id"),
        Index("ix_consents_customer_id", "customer_id"),
        # What the lapse job looks for: live consents past their expiry, unanswered ones past their window.
        Index(
            "ix_consents_live_expires_at",
            "expires_at",
            postgresql_where=text("status IN ('AwaitingAuthorisation', 'Authorised')"),
        ),
        Index(
            "ix_consents_awaiting_created_at", "created_at", postgresql_where=text("status = 'AwaitingAuthorisation'")
        ),
        CheckConstraint(
            "(kind = 'ACCOUNT_ACCESS' AND permissions IS NOT NULL AND cardinality(permissions) > 0"
            " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL"
            " AND creditor_identification IS NULL AND reference IS NULL"
            " AND debtor_scheme IS NULL AND debtor_identification IS NULL AND debtor_name IS NULL)"
            " OR (kind = 'DOMESTIC_PAYMENT' AND permissions IS NULL AND expires_at IS NULL"
            " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
            " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL"
            " AND (debtor_scheme IS NULL) = (debtor_identification IS NULL))"
            " OR (kind = 'FUNDS_CONFIRMATION' AND permissions IS NULL"
            " AND transactions_from IS NULL AND transactions_to IS NULL"
            " AND amount_minor IS NULL AND currency IS NULL AND creditor_name IS NULL AND creditor_scheme IS NULL"
            " AND creditor_identification IS NULL AND reference IS NULL"
            " AND debtor_scheme IS NOT NULL AND debtor_identification IS NOT NULL)"
            " OR (kind IN ('DOMESTIC_SCHEDULED_PAYMENT', 'DOMESTIC_STANDING_ORDER') AND permissions IS NULL"
            " AND expires_at IS NULL AND transactions_from IS NULL AND transactions_to IS NULL"
            " AND amount_minor IS NOT NULL AND currency IS NOT NULL AND creditor_name IS NOT NULL"
            " AND creditor_scheme IS NOT NULL AND creditor_identification IS NOT NULL"
            " AND first_payment_at IS NOT NULL AND (debtor_scheme IS NULL) = (debtor_identification IS NULL))",
            name="kind_details",
        ),
        CheckConstraint(
            "kind IN ('DOMESTIC_PAYMENT', 'DOMESTIC_SCHEDULED_PAYMENT', 'DOMESTIC_STANDING_ORDER')"
            " OR (instruction_id IS NULL AND end_to_end_id IS NULL AND initiation IS NULL AND risk IS NULL)",
            name="payment_initiation",
        ),
        # A scheduled payment is one payment on a date; a standing order pays at a frequency.
        CheckConstraint(
            "(kind = 'DOMESTIC_STANDING_ORDER' AND frequency IS NOT NULL)"
            " OR (frequency IS NULL AND final_payment_at IS NULL AND payments_total IS NULL"
            " AND recurring_amount_minor IS NULL AND final_amount_minor IS NULL"
            " AND (kind = 'DOMESTIC_SCHEDULED_PAYMENT' OR first_payment_at IS NULL))",
            name="order_schedule",
        ),
        CheckConstraint("payments_total IS NULL OR payments_total > 0", name="payments_total_positive"),
        CheckConstraint(
            "coalesce(recurring_amount_minor, 1) > 0 AND coalesce(final_amount_minor, 1) > 0",
            name="order_amounts_positive",
        ),
        CheckConstraint("amount_minor IS NULL OR amount_minor > 0", name="amount_positive"),
        CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency_code"),
        # Authorised and consumed consents name their customer and at least one account.
        CheckConstraint(
            "status NOT IN ('Authorised', 'Consumed') OR (customer_id IS NOT NULL AND cardinality(account_ids) > 0)",
            name="authorised_has_accounts",
        ),
        # A payment is made from, and funds are confirmed on, exactly one account.
        CheckConstraint("kind = 'ACCOUNT_ACCESS' OR cardinality(account_ids) <= 1", name="one_debtor_account"),
        CheckConstraint("(status = 'Revoked') = (revoked_by IS NOT NULL)", name="revoked_by_whom"),
    )
