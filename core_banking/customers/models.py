"""Customer table: personal data sealed per column (AES-256-GCM envelopes), email and name findable by keyed hash."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, LargeBinary
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base
from obank.database import enum_type


class KycStatus(StrEnum):
    """Outcome of know-your-customer checks."""

    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


class Customer(Base):
    """A customer of the bank; every personal field is an envelope bound to the customer id and field name."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    email_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    # Staff search by name (`pii.name_hash`); NULL on rows older than it until `obank customers backfill-name-hashes`.
    full_name_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    full_name_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    email_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    date_of_birth_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    address_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    national_id_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    kyc_status: Mapped[KycStatus] = mapped_column(enum_type(KycStatus, "kyc_status"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_customers_full_name_hash", "full_name_hash"),)
