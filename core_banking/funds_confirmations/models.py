"""Funds confirmations: every check a TPP made under a funds confirmation consent, and its answer."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base


class FundsConfirmation(Base):
    """One answer: whether `account_id` had `amount` available when asked; the balance itself is not kept."""

    __tablename__ = "funds_confirmations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(128), ForeignKey("consents.id"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reference: Mapped[str] = mapped_column(String(35), nullable=False)
    available: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        ForeignKeyConstraint(
            ["account_id", "currency"],
            ["accounts.id", "accounts.currency"],
            name="fk_funds_confirmations_account_currency_accounts",
        ),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_funds_confirmations_consent_id", "consent_id"),
    )
