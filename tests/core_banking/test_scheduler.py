"""The scheduler runs the bank's periodic jobs once per period, and a failure does not stop it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from bank.demo import seed_and_write_demo
from core_banking.scheduler import BankScheduler
from obank.runtime import Platform


async def _runs(platform: Platform) -> int:
    async with platform.sessions() as session:
        return int(await session.scalar(text("SELECT count(*) FROM core_banking.reconciliation_runs")) or 0)


async def test_daily_jobs_run_once_per_bank_day(platform: Platform) -> None:
    await seed_and_write_demo(platform, "https://127.0.0.1:9443")
    scheduler = BankScheduler(platform)
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    await scheduler.tick(monday)
    await scheduler.tick(monday.replace(hour=10))
    assert await _runs(platform) == 1
    await scheduler.tick(monday.replace(day=24))
    assert await _runs(platform) == 2
    async with platform.sessions() as session:
        clean = await session.scalar(
            text("SELECT bool_and(discrepancy_count = 0) FROM core_banking.reconciliation_runs")
        )
    assert clean is True


async def test_run_stops_when_asked(platform: Platform) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(BankScheduler(platform, tick_seconds=0.05).run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert await _runs(platform) == 1
