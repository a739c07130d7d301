"""Grant table: one row per approved authorization (a consent session)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ARRAY, DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from obank.database import enum_type


class GrantStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REVOKED = "REVOKED"


class OAuthGrant(Base):
    """What a customer allowed a client: scopes, authorization details, accounts, until when."""

    __tablename__ = "oauth_grants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    subject: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    client_id: Mapped[str] = mapped_column(String(64), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)), nullable=False)
    authorization_details: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))
    consent_id: Mapped[str | None] = mapped_column(String(128), index=True)  # the consent-end consumer looks up by it
    account_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False)
    status: Mapped[GrantStatus] = mapped_column(enum_type(GrantStatus, "grant_status"), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The sign-in session a first-party client's grant was approved in: it ends with that session. A TPP's grant
    # names none (a customer's consent to a TPP outlives their sign-in).
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_oauth_grants_subject", "subject"),
        Index("ix_oauth_grants_session_id", "session_id"),
    )
