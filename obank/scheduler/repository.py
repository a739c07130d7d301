"""All SQL of the scheduler: due runs inserted once, claimed with SKIP LOCKED, fenced by their claim.

Times that decide liveness (claims, heartbeats, retries, finishes) are the database's `now()`, one clock for
every process and host; only due times come from the scheduler's own clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from obank.scheduler.models import JobRun, RunStatus, RunTrigger
from obank.scheduler.schemas import RunKey, RunRecord

# NOTIFYed (at commit) when a run is requested or finishes, so idle schedulers look at once.
NOTIFY_CHANNEL = "obank_job_runs"

_RUNS = JobRun.__table__
_FINAL = (RunStatus.SUCCEEDED, RunStatus.FAILED)
_UNFINISHED = (RunStatus.PENDING, RunStatus.RUNNING)


def _record(row: Row[Any]) -> RunRecord:
    return RunRecord(
        job=row.job,
        due_at=row.due_at,
        trigger=row.trigger,
        status=row.status,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        heartbeat_at=row.heartbeat_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        retry_at=row.retry_at,
        error=row.error,
        result=row.result,
    )


def _is(key: RunKey) -> Any:
    return and_(JobRun.job == key.job, JobRun.due_at == key.due_at)


def _claimed(key: RunKey, claimer: str, attempt: int) -> Any:
    """The run, still RUNNING under this very claim (a reclaimed run belongs to its new claimer)."""
    return and_(_is(key), JobRun.status == RunStatus.RUNNING, JobRun.claimed_by == claimer, JobRun.attempts == attempt)


async def notify(session: AsyncSession) -> None:
    """Wake every listening scheduler when this transaction commits."""
    await session.execute(select(func.pg_notify(NOTIFY_CHANNEL, "")))


async def insert_due(session: AsyncSession, keys: Sequence[RunKey]) -> int:
    """Insert scheduled runs as PENDING; a due time already present (from any process) is left as it is."""
    if not keys:
        return 0
    statement = (
        insert(JobRun)
        .values(
            [
                {"job": key.job, "due_at": key.due_at, "trigger": RunTrigger.SCHEDULE, "status": RunStatus.PENDING}
                for key in keys
            ]
        )
        .on_conflict_do_nothing(index_elements=[JobRun.job, JobRun.due_at])
        .returning(JobRun.job)
    )
    return len((await session.execute(statement)).all())


async def insert_manual(session: AsyncSession, key: RunKey) -> tuple[RunRecord, bool]:
    """Insert a requested run as PENDING; (the run, whether this call created it)."""
    statement = (
        insert(JobRun)
        .values(job=key.job, due_at=key.due_at, trigger=RunTrigger.MANUAL, status=RunStatus.PENDING)
        .on_conflict_do_nothing(index_elements=[JobRun.job, JobRun.due_at])
        .returning(*_RUNS.columns)
    )
    row = (await session.execute(statement)).first()
    if row is not None:
        return _record(row), True
    existing = await get(session, key)
    assert existing is not None, "a conflicting run exists"
    return existing, False


async def get(session: AsyncSession, key: RunKey) -> RunRecord | None:
    row = (await session.execute(select(*_RUNS.columns).where(_is(key)))).first()
    return _record(row) if row is not None else None


async def lock_next_runnable(session: AsyncSession, jobs: Sequence[str], stale_after: timedelta) -> RunRecord | None:
    """Lock the runnable run due longest ago, skipping runs another transaction is claiming.

    Only each job's oldest unfinished run can be runnable, so a job runs one due time at a time, in order: it
    is PENDING and not waiting for a retry, or RUNNING under a claim whose heartbeat is older than
    `stale_after` (its process is gone). Two claimers racing for a job meet on that one row; the loser skips it.
    """
    oldest = (
        select(JobRun.job, func.min(JobRun.due_at).label("due_at"))
        .where(JobRun.job.in_(jobs), JobRun.status.in_(_UNFINISHED))
        .group_by(JobRun.job)
        .subquery()
    )
    runnable = or_(
        and_(JobRun.status == RunStatus.PENDING, or_(JobRun.retry_at.is_(None), JobRun.retry_at <= func.now())),
        and_(JobRun.status == RunStatus.RUNNING, JobRun.heartbeat_at < func.now() - stale_after),
    )
    statement = (
        select(*_RUNS.columns)
        .join(oldest, and_(JobRun.job == oldest.c.job, JobRun.due_at == oldest.c.due_at))
        .where(runnable)
        .order_by(JobRun.due_at, JobRun.job)
        .limit(1)
        .with_for_update(skip_locked=True, of=JobRun)
    )
    row = (await session.execute(statement)).first()
    return _record(row) if row is not None else None


async def mark_running(session: AsyncSession, key: RunKey, claimer: str) -> RunRecord:
    """Claim a locked run for `claimer`: its next attempt starts now."""
    statement = (
        update(JobRun)
        .where(_is(key))
        .values(
            status=RunStatus.RUNNING,
            claimed_by=claimer,
            claimed_at=func.now(),
            heartbeat_at=func.now(),
            started_at=func.coalesce(JobRun.started_at, func.now()),
            attempts=JobRun.attempts + 1,
            retry_at=None,
        )
        .returning(*_RUNS.columns)
    )
    return _record((await session.execute(statement)).one())


async def mark_abandoned(session: AsyncSession, key: RunKey, error: str) -> None:
    """End a locked run whose last allowed attempt lost its process."""
    await session.execute(
        update(JobRun).where(_is(key)).values(status=RunStatus.FAILED, finished_at=func.now(), error=error)
    )


async def heartbeat(session: AsyncSession, key: RunKey, claimer: str, attempt: int) -> bool:
    """Refresh the claim's heartbeat; False when the claim is no longer this attempt's."""
    statement = update(JobRun).where(_claimed(key, claimer, attempt)).values(heartbeat_at=func.now())
    result = await session.execute(statement.returning(JobRun.job))
    return result.first() is not None


async def finish(
    session: AsyncSession,
    key: RunKey,
    claimer: str,
    attempt: int,
    *,
    error: str | None,
    result: dict[str, int] | None,
    retry_in: timedelta | None,
) -> RunRecord | None:
    """Record how an attempt ended: SUCCEEDED, PENDING again until `retry_in` has passed, or FAILED.

    None when the claim is no longer this attempt's (it went stale and another process took the run over).
    """
    values: dict[str, Any] = {"error": error, "result": result}
    if error is None:
        values |= {"status": RunStatus.SUCCEEDED, "finished_at": func.now()}
    elif retry_in is not None:
        values |= {"status": RunStatus.PENDING, "retry_at": func.now() + retry_in}
    else:
        values |= {"status": RunStatus.FAILED, "finished_at": func.now()}
    statement = update(JobRun).where(_claimed(key, claimer, attempt)).values(**values).returning(*_RUNS.columns)
    row = (await session.execute(statement)).first()
    return _record(row) if row is not None else None


async def release(session: AsyncSession, key: RunKey, claimer: str, attempt: int) -> bool:
    """Hand an interrupted attempt back, uncounted, for any process to run again at once."""
    statement = (
        update(JobRun)
        .where(_claimed(key, claimer, attempt))
        .values(status=RunStatus.PENDING, attempts=JobRun.attempts - 1)
        .returning(JobRun.job)
    )
    return (await session.execute(statement)).first() is not None


async def history(
    session: AsyncSession, job: str | None, *, limit: int, before: datetime | None = None
) -> list[RunRecord]:
    """Runs newest due time first, of one job or all, due before `before` when given (the next page)."""
    statement = select(*_RUNS.columns).order_by(JobRun.due_at.desc(), JobRun.job).limit(limit)
    if job is not None:
        statement = statement.where(JobRun.job == job)
    if before is not None:
        statement = statement.where(JobRun.due_at < before)
    return [_record(row) for row in (await session.execute(statement)).all()]


async def latest_runs(session: AsyncSession, jobs: Sequence[str]) -> dict[str, RunRecord]:
    """Each job's run with the latest due time."""
    latest = (
        select(JobRun.job, func.max(JobRun.due_at).label("due_at"))
        .where(JobRun.job.in_(jobs))
        .group_by(JobRun.job)
        .subquery()
    )
    statement = select(*_RUNS.columns).join(latest, and_(JobRun.job == latest.c.job, JobRun.due_at == latest.c.due_at))
    return {row.job: _record(row) for row in (await session.execute(statement)).all()}


async def purge_finished(session: AsyncSession, finished_before: datetime) -> int:
    """Delete runs that ended before `finished_before`; unfinished runs stay whatever their age."""
    statement = delete(JobRun).where(JobRun.status.in_(_FINAL), JobRun.finished_at < finished_before)
    result = await session.execute(statement)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
