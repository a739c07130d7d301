"""Ledger tables: immutable journal entries and postings, and holds on available funds."""

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
    ForeignKeyConstraint,
    Identity,
    Index,
    String,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from obank.database import enum_type


class EntryKind(StrEnum):
    """Why an entry was booked."""

    DEPOSIT = "DEPOSIT"
    WITHDRAWAL = "WITHDRAWAL"
    TRANSFER = "TRANSFER"
    HOLD_CAPTURE = "HOLD_CAPTURE"
    REVERSAL = "REVERSAL"
    INTEREST = "INTEREST"


class HoldStatus(StrEnum):
    OPEN = "OPEN"
    CAPTURED = "CAPTURED"
    VOIDED = "VOIDED"
    EXPIRED = "EXPIRED"


class JournalEntry(Base):
    """A booked financial event; its postings sum to zero per currency. Never updated nor deleted."""

    __tablename__ = "journal_entries"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Free text rather than a database enum: new kinds (fees, payments...) need no migration.
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(String(140), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(64))
    # A reversal names the entry it compensates; unique, so an entry is reversed at most once.
    reverses_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id"), unique=True
    )
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Posting(Base):
    """One leg of an entry: a signed amount on one account (positive credits it) and its balance after."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("journal_entries.id"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # The account's booked balance just after this posting: postings of one account are written under its
    # row lock, so ordering them by id gives the running balance without summing.
    balance_after_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    booked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        # A posting's currency is its account's currency, checked by the database.
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_postings_account_currency_accounts",
        ),
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        Index("ix_postings_entry_id", "entry_id"),
        Index("ix_postings_account_booked", "account_id", "booked_at", "id"),
    )


class Hold(Base):
    """Funds reserved on an account until captured (posted), voided or expired."""

    __tablename__ = "holds"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    captured_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[HoldStatus] = mapped_column(enum_type(HoldStatus, "hold_status"), nullable=False)
    description: Mapped[str] = mapped_column(String(140), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(64))
    # The bank day whose outgoing limits the hold counted against (NULL when it did not count).
    limit_day: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    capture_entry_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("journal_entries.id"))

    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_holds_account_currency_accounts",
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(
            "(status = 'CAPTURED') = (captured_minor IS NOT NULL AND capture_entry_id IS NOT NULL)"
            " AND (captured_minor IS NULL OR captured_minor BETWEEN 1 AND amount_minor)",
            name="capture",
        ),
        CheckConstraint("(status = 'OPEN') = (closed_at IS NULL)", name="closed_when_settled"),
        Index("ix_holds_account_open", "account_id", postgresql_where=text("status = 'OPEN'")),
        Index("ix_holds_expiry_open", "expires_at", postgresql_where=text("status = 'OPEN'")),
    )
