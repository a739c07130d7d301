"""Account table: identifiers, status, limits, and the cached balances the ledger keeps in step."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from obank.database import enum_type


class AccountKind(StrEnum):
    """A customer's account, or one of the bank's own (settlement, interest...) accounts."""

    CUSTOMER = "CUSTOMER"
    INTERNAL = "INTERNAL"


class AccountType(StrEnum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"
    BUSINESS = "BUSINESS"


class AccountStatus(StrEnum):
    """ACTIVE accepts everything; FROZEN accepts credits only; CLOSED accepts nothing."""

    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"


class InternalPurpose(StrEnum):
    """What one of the bank's own accounts is for; one account per purpose and currency."""

    SETTLEMENT = "SETTLEMENT"
    INTEREST_EXPENSE = "INTEREST_EXPENSE"
    # What the bank owes the Faster Payments scheme (payments sent) less what it is owed (payments received).
    FASTER_PAYMENTS = "FASTER_PAYMENTS"


# Serials behind account numbers; a sequence, so concurrent openings never collide.
account_serial = Sequence("account_serial_seq", start=1, maxvalue=9_999_999, metadata=Base.metadata)


class Account(Base):
    """An account; `booked_balance_minor` is the sum of its postings, `held_minor` the sum of its open holds."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(enum_type(AccountKind, "account_kind"), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"))
    account_type: Mapped[AccountType | None] = mapped_column(enum_type(AccountType, "account_type"))
    internal_purpose: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(70), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    sort_code: Mapped[str] = mapped_column(String(6), nullable=False)
    account_number: Mapped[str] = mapped_column(String(8), unique=True, nullable=False)
    iban: Mapped[str] = mapped_column(String(34), unique=True, nullable=False)
    status: Mapped[AccountStatus] = mapped_column(
        enum_type(AccountStatus, "account_status"),
        nullable=False,
    )
    overdraft_limit_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    daily_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    monthly_limit_minor: Mapped[int | None] = mapped_column(BigInteger)
    interest_rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    booked_balance_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    held_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Outgoing usage counters, kept on the (locked) account row: the bank day and month they count.
    day_outgoing_date: Mapped[date | None] = mapped_column(Date)
    day_outgoing_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    month_outgoing_start: Mapped[date | None] = mapped_column(Date)
    month_outgoing_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # The target of the postings' and holds' (account_id, currency) foreign keys.
        UniqueConstraint("id", "currency"),
        UniqueConstraint("internal_purpose", "currency"),
        Index("ix_accounts_customer_id", "customer_id"),
        CheckConstraint(
            "(kind = 'CUSTOMER' AND customer_id IS NOT NULL AND account_type IS NOT NULL"
            " AND internal_purpose IS NULL AND daily_limit_minor IS NOT NULL AND monthly_limit_minor IS NOT NULL)"
            " OR (kind = 'INTERNAL' AND customer_id IS NULL AND account_type IS NULL AND internal_purpose IS NOT NULL)",
            name="owner",
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_code"),
        CheckConstraint("overdraft_limit_minor >= 0", name="overdraft_limit_not_negative"),
        CheckConstraint(
            "(daily_limit_minor IS NULL OR daily_limit_minor > 0)"
            " AND (monthly_limit_minor IS NULL OR monthly_limit_minor > 0)",
            name="outgoing_limits_positive",
        ),
        CheckConstraint(
            "interest_rate_bps >= 0 AND (interest_rate_bps = 0 OR account_type = 'SAVINGS')", name="interest"
        ),
        CheckConstraint("held_minor >= 0", name="held_not_negative"),
        CheckConstraint("day_outgoing_minor >= 0 AND month_outgoing_minor >= 0", name="outgoing_usage_not_negative"),
        # A customer's account never has less available than zero: the last line behind the service checks.
        CheckConstraint(
            "kind = 'INTERNAL' OR booked_balance_minor + overdraft_limit_minor - held_minor >= 0",
            name="within_overdraft",
        ),
        CheckConstraint("status <> 'CLOSED' OR (booked_balance_minor = 0 AND held_minor = 0)", name="closed_is_empty"),
    )
