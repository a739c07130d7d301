"""Signing key table: the public JWK in clear, the private JWK sealed with the platform key ring."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from obank.database import enum_type


class SigningKeyStatus(StrEnum):
    """ACTIVE signs new tokens; RETIRED only verifies, published until `publish_until`."""

    ACTIVE = "ACTIVE"
    RETIRED = "RETIRED"


class SigningKeyPurpose(StrEnum):
    """What a key signs: TOKENS (access and ID tokens) or MESSAGES (Open Banking response bodies, PS256 only).

    Kept apart so that a key never signs both: a verifier of one kind never accepts the other's key.
    """

    TOKENS = "TOKENS"
    MESSAGES = "MESSAGES"


class SigningKey(Base):
    """One signing key of one purpose and algorithm; at most one ACTIVE key per purpose and algorithm."""

    __tablename__ = "signing_keys"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    alg: Mapped[str] = mapped_column(String(8), nullable=False)
    purpose: Mapped[SigningKeyPurpose] = mapped_column(
        enum_type(SigningKeyPurpose, "signing_key_purpose"), nullable=False
    )
    status: Mapped[SigningKeyStatus] = mapped_column(
        enum_type(SigningKeyStatus, "signing_key_status"),
        nullable=False,
    )
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    private_jwk_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    publish_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "uq_signing_keys_active_purpose_alg",
            "purpose",
            "alg",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        CheckConstraint("alg IN ('ES256', 'PS256')", name="alg"),
        # R/W API Profile, "Message Signing": messages are signed with PS256 only.
        CheckConstraint("purpose = 'TOKENS' OR alg = 'PS256'", name="message_alg"),
        CheckConstraint(
            "(status = 'ACTIVE' AND retired_at IS NULL AND publish_until IS NULL)"
            " OR (status = 'RETIRED' AND retired_at IS NOT NULL AND publish_until IS NOT NULL)",
            name="retirement",
        ),
    )
