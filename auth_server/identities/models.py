"""Login identities: customers and staff, argon2id password hashes, lockout counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from auth_server.identities.schemas import IdentityKind, IdentityStatus
from obank.database import enum_type


class Identity(Base):
    """One person's login; a customer's is linked to core banking's customer id, a staff member's has roles."""

    __tablename__ = "identities"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[IdentityKind] = mapped_column(
        enum_type(IdentityKind, "identity_kind"),
        nullable=False,
    )
    # A username is personal data (often an email address), never stored in clear: a keyed hash of its
    # normalised form (under the key active at creation) finds it, the sealed copy is what is shown.
    username_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    username_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), unique=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[IdentityStatus] = mapped_column(
        enum_type(IdentityStatus, "identity_status"),
        nullable=False,
    )
    failed_login_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("kind", "username_hash"),
        CheckConstraint(
            "(kind = 'customer' AND customer_id IS NOT NULL AND cardinality(roles) = 0)"
            " OR (kind = 'staff' AND customer_id IS NULL AND cardinality(roles) > 0)",
            name="kind_fields",
        ),
        CheckConstraint("failed_login_attempts >= 0", name="failed_login_attempts_not_negative"),
    )
