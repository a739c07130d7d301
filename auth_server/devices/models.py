"""Known devices: a keyed hash of a browser's user agent and network, per identity; nothing readable."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from auth_server.db import Base


class KnownDevice(Base):
    """A device an identity has signed in from (`device_hash`: HMAC of its user agent and address prefix)."""

    __tablename__ = "known_devices"

    identity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("auth_server.identities.id", ondelete="CASCADE"), primary_key=True
    )
    device_hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
