"""Interest on savings: exact daily accruals and the monthly postings that pay them.

Interest is actual/365: a day earns balance x rate_bps / (10 000 x 365) minor units. An accrual keeps
that amount exactly, as `balance_minor x rate_bps` in units of 1/3 650 000 of a minor unit, so nothing
is rounded until a posting pays whole minor units and carries the remainder into the next month.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from core_banking.ledger.models import JournalEntry

# Units of an accrual per minor unit: 10 000 basis points x 365 days.
UNITS_PER_MINOR = 3_650_000
# Exact integers beyond BIGINT: a balance of 10^15 minor units at 100% is 10^19 units a day.
InterestUnits = Numeric(38, 0)


class InterestAccrual(Base):
    """Interest one savings account earned on one bank day, on that day's closing balance."""

    __tablename__ = "interest_accruals"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("accounts.id"), primary_key=True)
    # The primary key makes a day's accrual unique per account: a second run inserts nothing.
    accrual_date: Mapped[date] = mapped_column(Date, primary_key=True)
    balance_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rate_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    interest_units: Mapped[Decimal] = mapped_column(InterestUnits, nullable=False)
    accrued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("balance_minor > 0 AND rate_bps > 0", name="earning"),
        CheckConstraint("interest_units = balance_minor::numeric * rate_bps", name="exact"),
    )


class InterestPosting(Base):
    """A month's accruals of one account paid as one journal entry; the remainder is carried forward."""

    __tablename__ = "interest_postings"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("accounts.id"), primary_key=True)
    # The first day of the month paid; the primary key makes a month payable once per account.
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    accrued_units: Mapped[Decimal] = mapped_column(InterestUnits, nullable=False)
    carried_in_units: Mapped[Decimal] = mapped_column(InterestUnits, nullable=False)
    paid_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    carried_out_units: Mapped[Decimal] = mapped_column(InterestUnits, nullable=False)
    # Set in the transaction that claimed the month, once the entry is booked (NULL when nothing was due).
    entry_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id"), unique=True
    )
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("extract(day FROM month) = 1", name="month_start"),
        CheckConstraint(
            f"accrued_units >= 0 AND paid_minor >= 0 AND carried_in_units >= 0 AND carried_in_units < {UNITS_PER_MINOR}"
            f" AND carried_out_units >= 0 AND carried_out_units < {UNITS_PER_MINOR}",
            name="units_in_range",
        ),
        CheckConstraint(
            f"accrued_units + carried_in_units = paid_minor::numeric * {UNITS_PER_MINOR} + carried_out_units",
            name="nothing_lost",
        ),
        CheckConstraint("paid_minor > 0 OR entry_id IS NULL", name="entry_only_when_paid"),
    )


# A backstop in the book of record itself: one interest entry per reference (account and month).
Index(
    "uq_journal_entries_interest_reference",
    JournalEntry.reference,
    unique=True,
    postgresql_where=text("kind = 'INTEREST'"),
)
