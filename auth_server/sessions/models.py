"""Browser sessions: only a keyed hash of each token is stored."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base
from auth_server.sessions.schemas import SessionStage
from obank.database import enum_type


class BrowserSession(Base):
    """One signed-in (or signing-in) browser; the cookie token's keyed hash finds it."""

    __tablename__ = "browser_sessions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True, nullable=False)
    identity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_server.identities.id", ondelete="CASCADE"), nullable=False
    )
    stage: Mapped[SessionStage] = mapped_column(
        enum_type(SessionStage, "session_stage", length=24),
        nullable=False,
    )
    amr: Mapped[list[str]] = mapped_column(ARRAY(String(16)), nullable=False)
    acr: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    return_to: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    absolute_expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_browser_sessions_live_identity", "identity_id", postgresql_where=text("ended_at IS NULL")),
    )
