"""Feature tables: what the fraud decision reads, kept up to date from outbox events (never scanned from history).

Customers' habits (profiles, creditors they paid, payees, sign-ins and devices) and recent payment attempts are
derived state: `fraud.features.rebuild` can empty and replay them from the outbox. The mule list and the
allow-list are analysts' decisions and are never rebuilt.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, Integer, LargeBinary, Numeric, String
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from fraud.db import Base

# A UK creditor account: sort code (6 digits) and account number (8 digits).
CREDITOR_ACCOUNT_LENGTH = 14
# Sign-in sessions' ids and devices' keyed hashes (hex) as auth_server writes them.
SESSION_ID_LENGTH = 128
DEVICE_HASH_LENGTH = 128


class CustomerProfile(Base):
    """A customer's habits from settled payments, and the last times their password or TOTP changed.

    `recent_amounts` are the latest settled amounts (minor units), newest first, with when each payment was made
    in `recent_created_at`: kept by the payments' own times, so the same events give the same profile in any order.
    `hour_counts` counts settled payments by their Europe/London hour of the day (24 entries).
    """

    __tablename__ = "customer_profiles"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    settled_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    recent_amounts: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), nullable=False)
    recent_created_at: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)), nullable=False)
    hour_counts: Mapped[list[int]] = mapped_column(ARRAY(Integer), nullable=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("cardinality(hour_counts) = 24", name="hours_of_day"),
        CheckConstraint("cardinality(recent_amounts) = cardinality(recent_created_at)", name="recent_pairs"),
    )


class PaymentAttempt(Base):
    """A payment accepted for a customer (submitted or held), whatever became of it: velocity and bursts."""

    __tablename__ = "payment_attempts"

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_payment_attempts_customer", "customer_id", "created_at"),)


class KnownCreditor(Base):
    """A creditor account the customer has paid (a settled payment or a transfer): not a new payee."""

    __tablename__ = "known_creditors"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    creditor_account: Mapped[str] = mapped_column(String(CREDITOR_ACCOUNT_LENGTH), primary_key=True)
    first_paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    paid_count: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_sum_minor: Mapped[int] = mapped_column(Numeric(38, 0), nullable=False)  # with paid_count: the mean paid


class SavedPayee(Base):
    """A payee the customer saved, with when and until when it is in its cooling-off."""

    __tablename__ = "saved_payees"

    payee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cooling_off_until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_saved_payees_customer", "customer_id", "added_at"),)


class SignIn(Base):
    """A customer's successful sign-in: its session, the country its address is in, its device and whether that
    device was new to the customer then."""

    __tablename__ = "sign_ins"

    session_id: Mapped[str] = mapped_column(String(SESSION_ID_LENGTH), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    country: Mapped[str | None] = mapped_column(String(2))
    device_hash: Mapped[str | None] = mapped_column(String(DEVICE_HASH_LENGTH))
    new_device: Mapped[bool] = mapped_column(Boolean, nullable=False)
    signed_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_sign_ins_customer", "customer_id", "signed_in_at"),)


class KnownDevice(Base):
    """A device (auth_server's keyed hash of its fingerprint) a customer has signed in from."""

    __tablename__ = "known_devices"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    device_hash: Mapped[str] = mapped_column(String(DEVICE_HASH_LENGTH), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class MuleAccount(Base):
    """A creditor account analysts found receiving fraud's proceeds: paying it is blocked.

    The reason is an analyst's free text, sealed to the account (`fraud.features.service.mule_owner`).
    """

    __tablename__ = "mule_accounts"

    creditor_account: Mapped[str] = mapped_column(String(CREDITOR_ACCOUNT_LENGTH), primary_key=True)
    reason_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class AllowedCreditor(Base):
    """An analyst's word that a customer's payments to a creditor are genuine (a false positive), until `until`
    (for ever when None): the payee and amount rules stay quiet for it."""

    __tablename__ = "allowed_creditors"

    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    creditor_account: Mapped[str] = mapped_column(String(CREDITOR_ACCOUNT_LENGTH), primary_key=True)
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    allowed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
