"""Webhooks' periodic work, run by the scheduler (`bank/jobs.py` registers it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from notifications.webhooks import repository
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler.registry import RunResult


async def purge_webhooks(platform: Platform, due_at: datetime) -> RunResult:
    """Forget messages (and their attempts) finished more than `OBANK_WEBHOOKS_RETENTION_DAYS` ago, and secrets
    whose overlap has ended."""
    before = due_at - timedelta(days=platform.settings.webhooks_retention_days)
    async with unit_of_work(platform.sessions) as session:
        messages = await repository.purge_finished(session, before)
        secrets = await repository.purge_expired_secrets(session, due_at)
    return {"messages": messages, "secrets": secrets}
