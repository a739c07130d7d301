"""Payment tables: each payment's state in its saga, its status history, and payments received from the scheme."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from core_banking.payments.schemas import PaymentOrigin, PaymentStatus, Route
from obank.database import enum_type


class Payment(Base):
    """A payment out of a customer's account, from acceptance (funds held) to settled or rejected.

    `step` counts the saga's completed steps (0 held for the customer's confirmation, 1 accepted, 2 screened,
    3 sent or settled, 4 answered; 5 held for a fraud review, between accepted and screened), so a redelivered
    or late event finds its step already done and changes nothing.
    """

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    origin: Mapped[PaymentOrigin] = mapped_column(enum_type(PaymentOrigin, "payment_origin"), nullable=False)
    route: Mapped[Route] = mapped_column(enum_type(Route, "payment_route"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False)
    debtor_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # The payee's name is personal data: sealed to this row and column, never stored in the clear.
    creditor_name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    creditor_scheme: Mapped[str] = mapped_column(String(40), nullable=False)
    creditor_identification: Mapped[str] = mapped_column(String(34), nullable=False)
    creditor_sort_code: Mapped[str | None] = mapped_column(String(6))
    creditor_account_number: Mapped[str | None] = mapped_column(String(8))
    # An account of this bank when the payee banks here (route INTERNAL).
    creditor_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reference: Mapped[str | None] = mapped_column(String(35))
    end_to_end_id: Mapped[str] = mapped_column(String(35), nullable=False)
    instruction_id: Mapped[str] = mapped_column(String(35), nullable=False)
    # The scheme's transaction id (pacs.008 TxId): unique across the scheme.
    scheme_transaction_id: Mapped[str] = mapped_column(String(35), unique=True, nullable=False)
    consent_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    client_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus, "payment_status"), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(4))
    reason_text: Mapped[str | None] = mapped_column(String(140))
    step: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    hold_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("holds.id"), nullable=False)
    settlement_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id"), unique=True
    )
    fraud_score: Mapped[int | None] = mapped_column(SmallInteger)
    fraud_recommendation: Mapped[str | None] = mapped_column(String(16))
    # When the scheme is chased next (a status request), and how many times it has been already.
    # When the scheme's answer is due (ACSP), or by when the customer must confirm a held payment (step HELD),
    # or by when a payment held for a fraud review must be released (step IN_REVIEW).
    answer_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The customer's saved payee it pays, when paid as one.
    payee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The customer's sign-in session behind the request (the fraud engine's device and place of the payment).
    session_id: Mapped[str | None] = mapped_column(String(64))
    status_requests: Mapped[int] = mapped_column(Integer, nullable=False)
    # When the scheme first contradicted the payment's final status (reconciliation, raised once).
    contradicted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status_updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["debtor_account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_payments_debtor_account_currency_accounts",
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("step BETWEEN 0 AND 5", name="step_range"),
        CheckConstraint("(route = 'INTERNAL') = (creditor_account_id IS NOT NULL)", name="internal_has_account"),
        CheckConstraint("(status = 'ACSC') = (settlement_entry_id IS NOT NULL)", name="settled_has_entry"),
        CheckConstraint("(status = 'RJCT') = (reason IS NOT NULL)", name="rejected_has_reason"),
        CheckConstraint("(origin = 'OPEN_BANKING') = (client_id IS NOT NULL)", name="open_banking_has_client"),
        Index("ix_payments_customer_created", "customer_id", "created_at"),
        Index("ix_payments_debtor_account_created", "debtor_account_id", "created_at"),
        Index("ix_payments_answer_due", "answer_due_at", postgresql_where=text("status = 'ACSP'")),
        Index("ix_payments_confirmation_due", "answer_due_at", postgresql_where=text("step = 0 AND status = 'PDNG'")),
        Index("ix_payments_review_due", "answer_due_at", postgresql_where=text("step = 5 AND status = 'PDNG'")),
    )


class PaymentStatusChange(Base):
    """One status a payment took, with its reason: what `payment-details` lists."""

    __tablename__ = "payment_status_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("payments.id"), nullable=False)
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus, "payment_status"), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(4))
    reason_text: Mapped[str | None] = mapped_column(String(140))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_payment_status_changes_payment", "payment_id", "id"),)


class ReceivedPayment(Base):
    """A payment another bank sent us through the scheme: credited once per scheme transaction id."""

    __tablename__ = "received_payments"

    scheme_transaction_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(35), nullable=False)
    end_to_end_id: Mapped[str] = mapped_column(String(35), nullable=False)
    creditor_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Accepted and credited (ACSC) or refused (RJCT, with the reason the scheme was given).
    status: Mapped[PaymentStatus] = mapped_column(enum_type(PaymentStatus, "payment_status"), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(4))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("journal_entries.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("(status = 'ACSC') = (entry_id IS NOT NULL)", name="credited_has_entry"),
    )
