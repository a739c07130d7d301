"""Transfers a customer made: the request as booked and the journal entry that moved the money."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from obank.database import enum_type


class TransferStatus(StrEnum):
    """A transfer between accounts of this bank is booked at once, or refused and never stored."""

    COMPLETED = "COMPLETED"


class Transfer(Base):
    """One customer-initiated transfer; its money moved in `entry_id`."""

    __tablename__ = "transfers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    source_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    destination_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    description: Mapped[str] = mapped_column(String(140), nullable=False)
    status: Mapped[TransferStatus] = mapped_column(
        enum_type(TransferStatus, "transfer_status"),
        nullable=False,
    )
    entry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id"), unique=True, nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["source_account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_transfers_source_account_currency_accounts",
        ),
        ForeignKeyConstraint(
            ["destination_account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_transfers_destination_account_currency_accounts",
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("source_account_id <> destination_account_id", name="distinct_accounts"),
        Index("ix_transfers_customer_created", "customer_id", "created_at"),
    )
