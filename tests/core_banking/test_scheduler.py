"""The bank's jobs under the durable scheduler: each due time once, calendar jobs at London times, sweeps
every interval, and the loop stops when asked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from bank.demo import seed_and_write_demo
from bank.jobs import job_registry
from core_banking.ledger.periods import BANK_TIMEZONE
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler import repository
from obank.scheduler.models import RunStatus
from obank.scheduler.scheduler import Scheduler
from obank.scheduler.schemas import RunRecord


async def _reconciliations(platform: Platform) -> int:
    async with platform.sessions() as session:
        return int(await session.scalar(text("SELECT count(*) FROM core_banking.reconciliation_runs")) or 0)


async def _runs(platform: Platform, job: str) -> list[RunRecord]:
    async with unit_of_work(platform.sessions) as session:
        return list(reversed(await repository.history(session, job, limit=100)))


def _london(moment: datetime) -> str:
    return moment.astimezone(BANK_TIMEZONE).strftime("%m-%d %H:%M")


async def test_daily_jobs_run_once_per_due_time_at_london_times(platform: Platform) -> None:
    await seed_and_write_demo(platform, "https://127.0.0.1:9443")
    scheduler = Scheduler(platform, job_registry(platform.settings))
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)

    first = await scheduler.tick(monday)
    await scheduler.tick(monday.replace(hour=10))
    assert await _reconciliations(platform) == 1
    await scheduler.tick(monday + timedelta(days=1))
    assert await _reconciliations(platform) == 2

    assert {run.job for run in first} == set(job_registry(platform.settings).names)
    assert all(run.status is RunStatus.SUCCEEDED for run in first), [(run.job, run.error) for run in first]
    assert [_london(run.due_at) for run in await _runs(platform, "reconcile")] == ["11-23 02:00", "11-24 02:00"]
    accrued, _ = await _runs(platform, "accrue-interest")
    assert _london(accrued.due_at) == "11-23 00:15"
    assert accrued.result is not None and accrued.result["days"] == 22  # 1-22 November, each accrued once
    assert [_london(run.due_at) for run in await _runs(platform, "post-interest")] == ["11-01 01:00"]
    assert [_london(run.due_at) for run in await _runs(platform, "issue-statements")] == ["11-01 03:00"]
    async with platform.sessions() as session:
        clean = await session.scalar(
            text("SELECT bool_and(discrepancy_count = 0) FROM core_banking.reconciliation_runs")
        )
    assert clean is True


async def test_sweeps_run_every_interval(platform: Platform) -> None:
    scheduler = Scheduler(platform, job_registry(platform.settings))
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for minute in range(3):
        await scheduler.tick(start + timedelta(minutes=minute, seconds=10))

    for sweep in ("expire-holds", "lapse-consents", "purge-revocations", "payment-orders"):
        runs = await _runs(platform, sweep)
        assert [(run.due_at.minute, run.due_at.second) for run in runs] == [(0, 0), (1, 0), (2, 0)], sweep
        assert all(run.status is RunStatus.SUCCEEDED for run in runs)


async def test_run_stops_when_asked(platform: Platform) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(Scheduler(platform, job_registry(platform.settings)).run(stop))
    for _ in range(600):
        if await _reconciliations(platform):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert await _reconciliations(platform) == 1
