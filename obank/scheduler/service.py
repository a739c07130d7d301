"""What operators ask of the scheduler: the jobs and their runs, and a run now (audited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from obank.scheduler import repository
from obank.scheduler.errors import UnknownJob
from obank.scheduler.registry import Job, JobRegistry
from obank.scheduler.schemas import JobOverview, RunKey, RunRecord
from obank.unit_of_work import UnitOfWork

HISTORY_LIMIT = 20
HISTORY_MAX = 200


def known_job(registry: JobRegistry, name: str) -> Job:
    job = registry.get(name)
    if job is None:
        raise UnknownJob(name)
    return job


async def request_run(uow: UnitOfWork, registry: JobRegistry, name: str, now: datetime) -> RunRecord:
    """Queue a run of `name` due `now` (trigger manual) for the next scheduler that looks; audited.

    It is a run like any other: claimed once, after the job's earlier unfinished runs.
    """
    known_job(registry, name)
    record, _created = await repository.insert_manual(uow.session, RunKey(name, now))
    uow.audit(
        action="job.run_requested",
        entity_type="job_run",
        entity_id=f"{name}@{record.due_at.isoformat()}",
        after={"job": name, "due_at": record.due_at.isoformat(), "trigger": record.trigger.value},
    )
    await repository.notify(uow.session)
    return record


async def job_overviews(session: AsyncSession, registry: JobRegistry, now: datetime) -> list[JobOverview]:
    """Every job with its next due time after `now` and its latest run."""
    latest = await repository.latest_runs(session, registry.names)
    return [JobOverview(job, job.schedule.next_due(now), latest.get(job.name)) for job in registry]


async def run_history(
    session: AsyncSession,
    registry: JobRegistry,
    name: str | None = None,
    *,
    limit: int = HISTORY_LIMIT,
    before: datetime | None = None,
) -> list[RunRecord]:
    """Runs newest first, of job `name` or of all; `before` (a due time) pages back."""
    if name is not None:
        known_job(registry, name)
    return await repository.history(session, name, limit=min(limit, HISTORY_MAX), before=before)


async def get_run(session: AsyncSession, key: RunKey) -> RunRecord | None:
    return await repository.get(session, key)
