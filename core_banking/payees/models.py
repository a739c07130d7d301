"""Payee tables: a customer's saved payees, and the confirmation-of-payee checks made before adding one."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from obank.database import enum_type


class CopResult(StrEnum):
    """What a confirmation of payee answers about the name given for an account (Pay.UK CoP)."""

    MATCH = "MATCH"  # the holder's name, as given
    CLOSE_MATCH = "CLOSE_MATCH"  # nearly the holder's name, which is shown (reason MBAM)
    NO_MATCH = "NO_MATCH"  # not the holder's name (ANNM), or no such account (AC01)
    UNAVAILABLE = "UNAVAILABLE"  # the payee's bank does not answer confirmation of payee


class PayeeConfirmation(Base):
    """One check of a name against an account, good for adding that payee until `expires_at`.

    Both names are personal data, sealed to this row: the one the customer gave, and the holder's actual
    name when it was a close match (the only case it is shown).
    """

    __tablename__ = "payee_confirmations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False)
    sort_code: Mapped[str] = mapped_column(String(6), nullable=False)
    account_number: Mapped[str] = mapped_column(String(8), nullable=False)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    actual_name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    result: Mapped[CopResult] = mapped_column(enum_type(CopResult, "payee_confirmation_result"), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("(result = 'CLOSE_MATCH') = (actual_name_sealed IS NOT NULL)", name="close_match_names"),
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        Index("ix_payee_confirmations_customer", "customer_id", "created_at"),
    )


class Payee(Base):
    """A customer's saved payee: a UK account (by sort code and number, or a GB IBAN) with its holder's name.

    The name and the nickname are personal data, sealed to this row. The account never changes (a new
    account is a new payee); a deleted payee keeps its row (`deleted_at`), so payments and orders that
    named it keep their history, and the customer may add the same account again.
    """

    __tablename__ = "payees"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id"), nullable=False)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    nickname_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # As the customer named the account (`UK.OBIE.SortCodeAccountNumber` or `UK.OBIE.IBAN`), and the sort
    # code and account number it comes to, by which one account is one payee however it was written.
    scheme: Mapped[str] = mapped_column(String(40), nullable=False)
    identification: Mapped[str] = mapped_column(String(34), nullable=False)
    sort_code: Mapped[str] = mapped_column(String(6), nullable=False)
    account_number: Mapped[str] = mapped_column(String(8), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(18))
    confirmation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payee_confirmations.id"), nullable=False
    )
    cop_result: Mapped[CopResult] = mapped_column(enum_type(CopResult, "payee_cop_result"), nullable=False)
    cop_reason: Mapped[str | None] = mapped_column(String(4))
    cooling_off_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("cooling_off_until >= created_at", name="cooling_off_after_created"),
        CheckConstraint("deleted_at IS NULL OR deleted_at >= created_at", name="deleted_after_created"),
        # One active payee per account and customer: the backstop of the service's check under concurrency.
        Index(
            "uq_payees_active_account",
            "customer_id",
            "sort_code",
            "account_number",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_payees_customer", "customer_id", "created_at"),
    )
