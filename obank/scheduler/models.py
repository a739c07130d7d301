"""The durable record of every job run (schema `platform`): one row per job and due time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from obank.database import enum_type
from obank.outbox.models import Base


class RunStatus(StrEnum):
    """PENDING (due, or waiting for a retry) → RUNNING (claimed) → SUCCEEDED, or FAILED after the last attempt."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class RunTrigger(StrEnum):
    """Why a run exists: its schedule fell due, or someone asked for it."""

    SCHEDULE = "schedule"
    MANUAL = "manual"


class JobRun(Base):
    """One due time of one job: its primary key is what makes it run once, whichever process claims it."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    trigger: Mapped[RunTrigger] = mapped_column(enum_type(RunTrigger, "job_run_trigger"), nullable=False)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus, "job_run_status"), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # host:pid:random of the process that claimed the latest attempt.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Refreshed while the attempt runs; older than the staleness limit means its process is gone.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the first attempt's start
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a failed attempt's next try
    # The last failure's exception class (and SQLSTATE), never its message: messages can quote request values.
    error: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # a few counts the job reported
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint(
            "status <> 'RUNNING' OR (claimed_by IS NOT NULL AND heartbeat_at IS NOT NULL)", name="running_is_claimed"
        ),
        CheckConstraint("(status IN ('SUCCEEDED', 'FAILED')) = (finished_at IS NOT NULL)", name="finished_when_final"),
        # What claims scan: each job's unfinished runs, oldest first.
        Index("ix_job_runs_unfinished", "job", "due_at", postgresql_where=text("status IN ('PENDING', 'RUNNING')")),
        Index("ix_job_runs_due_at", "due_at"),  # the history of every job, newest first
    )
