"""The scheduler's own job: forgetting finished runs after the retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler import repository
from obank.scheduler.registry import RunResult


async def purge_job_runs(platform: Platform, due_at: datetime) -> RunResult:
    """Delete runs that finished more than `OBANK_SCHEDULER_RETENTION_DAYS` before `due_at`."""
    cutoff = due_at - timedelta(days=platform.settings.scheduler_retention_days)
    async with unit_of_work(platform.sessions) as session:
        purged = await repository.purge_finished(session, cutoff)
    return {"purged": purged}
