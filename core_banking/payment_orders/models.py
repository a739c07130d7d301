"""Payment orders (a payment scheduled for a date, or a standing order) and each occurrence they ran."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from core_banking.payment_orders.schedule import Frequency
from core_banking.payments.schemas import PaymentOrigin
from obank.database import enum_type


class OrderKind(StrEnum):
    SCHEDULED = "SCHEDULED"  # one payment on a future date
    STANDING_ORDER = "STANDING_ORDER"  # payments at a frequency


class OrderStatus(StrEnum):
    ACTIVE = "ACTIVE"  # has an occurrence to come
    PAUSED = "PAUSED"  # stopped by the customer for a while; the dates passed meanwhile are skipped
    COMPLETED = "COMPLETED"  # every occurrence ran
    CANCELLED = "CANCELLED"  # stopped before its end


class RunOutcome(StrEnum):
    PAID = "PAID"  # a payment was accepted (and then runs its own saga)
    FAILED = "FAILED"  # refused (funds, limits, account) after its last attempt
    SKIPPED = "SKIPPED"  # its date passed while the order was paused


class PaymentOrder(Base):
    """What to pay, to whom, when; `next_due_at` is when the next occurrence runs (NULL once it ended)."""

    __tablename__ = "payment_orders"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[OrderKind] = mapped_column(enum_type(OrderKind, "payment_order_kind"), nullable=False)
    origin: Mapped[PaymentOrigin] = mapped_column(enum_type(PaymentOrigin, "payment_order_origin"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False)
    debtor_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("accounts.id"), nullable=False)
    client_id: Mapped[str | None] = mapped_column(String(128))
    consent_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    creditor_name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    creditor_scheme: Mapped[str] = mapped_column(String(40), nullable=False)
    creditor_identification: Mapped[str] = mapped_column(String(34), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(35))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    instruction_id: Mapped[str | None] = mapped_column(String(35))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    first_amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recurring_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    final_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    frequency: Mapped[Frequency | None] = mapped_column(enum_type(Frequency, "payment_order_frequency"))
    # Monthly frequencies only: every occurrence on the last day of its month.
    on_month_end: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=false())
    # The customer's saved payee it pays, if it was set up to one (the payee's details are copied above).
    payee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    first_date: Mapped[date] = mapped_column(Date, nullable=False)
    final_date: Mapped[date | None] = mapped_column(Date)
    payments_total: Mapped[int | None] = mapped_column(Integer)
    next_sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    next_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[OrderStatus] = mapped_column(enum_type(OrderStatus, "payment_order_status"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint(
            "first_amount_minor > 0"
            " AND coalesce(recurring_amount_minor, 1) > 0 AND coalesce(final_amount_minor, 1) > 0",
            name="amounts_positive",
        ),
        CheckConstraint(
            "(kind = 'SCHEDULED' AND frequency IS NULL AND payments_total = 1)"
            " OR (kind = 'STANDING_ORDER' AND frequency IS NOT NULL)",
            name="kind_schedule",
        ),
        CheckConstraint("payments_total IS NULL OR payments_total > 0", name="payments_total_positive"),
        CheckConstraint(
            "NOT on_month_end OR frequency IN ('MNTH', 'QURT', 'MIAN', 'YEAR')", name="month_end_is_monthly"
        ),
        CheckConstraint("final_date IS NULL OR final_date >= first_date", name="final_after_first"),
        CheckConstraint("(status = 'ACTIVE') = (next_due_at IS NOT NULL)", name="active_has_next"),
        CheckConstraint("(origin = 'OPEN_BANKING') = (client_id IS NOT NULL)", name="open_banking_has_client"),
        Index("ix_payment_orders_due", "next_due_at", postgresql_where=text("status = 'ACTIVE'")),
        Index("ix_payment_orders_customer", "customer_id", "created_at"),
        Index("ix_payment_orders_debtor_account", "debtor_account_id"),
    )


class PaymentOrderRun(Base):
    """One occurrence of an order: at most one per (order, sequence), so it runs once however many race."""

    __tablename__ = "payment_order_runs"

    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("payment_orders.id"), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    outcome: Mapped[RunOutcome] = mapped_column(enum_type(RunOutcome, "payment_order_run_outcome"), nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("payments.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (CheckConstraint("(outcome = 'PAID') = (payment_id IS NOT NULL)", name="paid_has_payment"),)
