"""Job runs as the scheduler, the CLI and the staff API see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel

from obank.scheduler.models import RunStatus, RunTrigger
from obank.scheduler.registry import Job


@dataclass(frozen=True, slots=True)
class RunKey:
    """A run's identity: the job and the due time it does the work of."""

    job: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One job run, read from its row."""

    job: str
    due_at: datetime
    trigger: RunTrigger
    status: RunStatus
    attempts: int
    claimed_by: str | None
    claimed_at: datetime | None
    heartbeat_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    retry_at: datetime | None
    error: str | None
    result: dict[str, Any] | None

    @property
    def key(self) -> RunKey:
        return RunKey(self.job, self.due_at)

    @property
    def duration(self) -> timedelta | None:
        """How long the last attempt took, once the run is final."""
        if self.finished_at is None or self.claimed_at is None:
            return None
        return self.finished_at - self.claimed_at


@dataclass(frozen=True, slots=True)
class JobOverview:
    """A job, when it next falls due and how its latest run went."""

    job: Job
    next_due_at: datetime
    last_run: RunRecord | None


class JobRunRead(BaseModel):
    """A job run: its due time, how it was triggered, who claimed it, how each attempt ended."""

    job: str
    due_at: datetime
    trigger: RunTrigger
    status: RunStatus
    attempts: int
    claimed_by: str | None
    claimed_at: datetime | None
    heartbeat_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    retry_at: datetime | None
    error: str | None
    result: dict[str, Any] | None

    @classmethod
    def from_record(cls, record: RunRecord) -> Self:
        return cls(
            job=record.job,
            due_at=record.due_at,
            trigger=record.trigger,
            status=record.status,
            attempts=record.attempts,
            claimed_by=record.claimed_by,
            claimed_at=record.claimed_at,
            heartbeat_at=record.heartbeat_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            retry_at=record.retry_at,
            error=record.error,
            result=record.result,
        )


class JobRead(BaseModel):
    """A scheduled job: its schedule, its next due time and its latest run."""

    name: str
    description: str
    schedule: str
    next_due_at: datetime
    last_run: JobRunRead | None

    @classmethod
    def from_overview(cls, overview: JobOverview) -> Self:
        last = overview.last_run
        return cls(
            name=overview.job.name,
            description=overview.job.description,
            schedule=overview.job.schedule.describe(),
            next_due_at=overview.next_due_at,
            last_run=JobRunRead.from_record(last) if last is not None else None,
        )
