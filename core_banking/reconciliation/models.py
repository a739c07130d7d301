"""Reconciliation runs: when the book of record was checked and what, if anything, was wrong."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core_banking.db import Base


class ReconciliationRun(Base):
    """One run of every reconciliation check; `discrepancies` lists what failed (empty when clean)."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Who asked: the daily job or an operator at the command line.
    trigger: Mapped[str] = mapped_column(String(32), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    accounts_checked: Mapped[int] = mapped_column(Integer, nullable=False)
    entries_checked: Mapped[int] = mapped_column(Integer, nullable=False)
    holds_checked: Mapped[int] = mapped_column(Integer, nullable=False)
    discrepancy_count: Mapped[int] = mapped_column(Integer, nullable=False)
    discrepancies: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)

    __table_args__ = (
        CheckConstraint("discrepancy_count >= 0 AND finished_at >= started_at", name="sane"),
        Index("ix_reconciliation_runs_started_at", "started_at"),
    )
