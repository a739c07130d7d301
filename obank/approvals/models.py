"""Four-eyes approvals of high-risk staff actions (schema `platform`): one row per request of a second pair of eyes."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from obank.database import enum_type
from obank.outbox.models import Base

STAFF_ID_MAX = 128
KIND_MAX = 120
TARGET_MAX = 200
PATH_MAX = 500
REASON_MAX = 500


class ApprovalStatus(StrEnum):
    """PENDING until a second staff member approves or rejects it, its maker withdraws it, or 24 h pass (EXPIRED)."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"


class StaffApproval(Base):
    """A staff action held until another staff member repeats it: what (kind, target, request) and who decided."""

    __tablename__ = "staff_approvals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX), nullable=False)  # e.g. core_banking.account.close
    target: Mapped[str] = mapped_column(String(TARGET_MAX), nullable=False)  # what it acts on, e.g. an account id
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    path: Mapped[str] = mapped_column(String(PATH_MAX), nullable=False)
    # The request body the maker sent (never personal data) and its SHA-256, which the checker's must equal.
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    params_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(STAFF_ID_MAX), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[ApprovalStatus] = mapped_column(enum_type(ApprovalStatus, "staff_approval_status"), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(String(STAFF_ID_MAX))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(String(REASON_MAX))  # why it was rejected or withdrawn

    __table_args__ = (
        CheckConstraint("expires_at > requested_at", name="expires_after_request"),
        CheckConstraint(
            "(status IN ('APPROVED', 'REJECTED', 'WITHDRAWN')) = (decided_by IS NOT NULL AND decided_at IS NOT NULL)",
            name="decided_when_final",
        ),
        Index("ix_staff_approvals_requested_at", "requested_at"),  # every approval, newest first
        Index("ix_staff_approvals_status_requested_at", "status", "requested_at"),  # the queue of pending ones
    )
