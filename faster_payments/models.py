"""The scheme's state: its directory of other banks' accounts, the transactions it has seen, the messages it
will deliver, and its fault injection."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from faster_payments.db import Base
from faster_payments.messages import TransactionStatus
from obank.database import enum_type


class AccountStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Direction(StrEnum):
    """Which way a transaction's pacs.008 went: from the bank out to another bank, or to the bank."""

    FROM_BANK = "FROM_BANK"
    TO_BANK = "TO_BANK"


class SchemeAccount(Base):
    """An account at another participant bank, as the scheme's directory knows it."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    bank_name: Mapped[str] = mapped_column(String(70), nullable=False)
    sort_code: Mapped[str] = mapped_column(String(6), nullable=False)
    account_number: Mapped[str] = mapped_column(String(8), nullable=False)
    holder_name: Mapped[str] = mapped_column(String(140), nullable=False)
    status: Mapped[AccountStatus] = mapped_column(enum_type(AccountStatus, "scheme_account_status"), nullable=False)

    __table_args__ = (UniqueConstraint("sort_code", "account_number"),)


class SchemeTransaction(Base):
    """One transaction (TxId) the scheme has seen, its parties and amount, and the status it stands at."""

    __tablename__ = "transactions"

    tx_id: Mapped[str] = mapped_column(String(35), primary_key=True)
    direction: Mapped[Direction] = mapped_column(enum_type(Direction, "transaction_direction"), nullable=False)
    message_id: Mapped[str] = mapped_column(String(35), nullable=False)
    end_to_end_id: Mapped[str] = mapped_column(String(35), nullable=False)
    # Unknown for a TxId first named by a status request (recorded rejected, its pacs.008 never seen).
    instruction_id: Mapped[str | None] = mapped_column(String(35))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_sort_code: Mapped[str | None] = mapped_column(String(6))
    debtor_account_number: Mapped[str | None] = mapped_column(String(8))
    creditor_name: Mapped[str | None] = mapped_column(String(140))
    creditor_sort_code: Mapped[str | None] = mapped_column(String(6))
    creditor_account_number: Mapped[str | None] = mapped_column(String(8))
    reference: Mapped[str | None] = mapped_column(String(140))
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the pacs.008's CreDtTm
    settlement_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[TransactionStatus] = mapped_column(
        enum_type(TransactionStatus, "scheme_transaction_status"), nullable=False
    )
    reason: Mapped[str | None] = mapped_column(String(4))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_transactions_received_at", "received_at"),
    )


class ScheduledMessage(Base):
    """A message the scheme delivers to the bank once `deliver_at` passes (a delayed or duplicated one too)."""

    __tablename__ = "scheduled_messages"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    deliver_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    definition: Mapped[str] = mapped_column(String(35), nullable=False)
    xml: Mapped[str] = mapped_column(Text, nullable=False)
    key: Mapped[str] = mapped_column(String(35), nullable=False)  # the transaction id
    # The id of the message that caused it (or of the operator's command), so one trace spans both parties.
    correlation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_scheduled_messages_due", "deliver_at", "id", postgresql_where=text("sent_at IS NULL")),)


class FaultSettings(Base):
    """The one row of fault injection: delays, losses and duplicates of the scheme's messages, and its window."""

    __tablename__ = "faults"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    delay_min_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    delay_max_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    drop_rate: Mapped[float] = mapped_column(Double, nullable=False)
    duplicate_rate: Mapped[float] = mapped_column(Double, nullable=False)
    timeout_s: Mapped[float] = mapped_column(Double, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("0 <= delay_min_ms AND delay_min_ms <= delay_max_ms", name="delays"),
        CheckConstraint(
            "drop_rate >= 0 AND drop_rate <= 1 AND duplicate_rate >= 0 AND duplicate_rate <= 1", name="rates"
        ),
        CheckConstraint("timeout_s > 0", name="timeout_positive"),
    )
