"""Core banking's periodic jobs (hold expiry, consent lapses, interest, reconciliation), run by `obank serve` or
`obank worker`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from core_banking import jobs
from core_banking.ledger.periods import Month, bank_day
from obank.log import get_logger
from obank.outbox.relay import sleep_unless_stopped
from obank.runtime import Platform

_log = get_logger("core_banking.scheduler")
TICK_SECONDS = 60.0


@dataclass
class BankScheduler:
    """Runs each job when it falls due; every job is idempotent, so a restart or a second instance is harmless."""

    platform: Platform
    tick_seconds: float = TICK_SECONDS
    _days_done: set[date] = field(default_factory=set)
    _months_done: set[Month] = field(default_factory=set)

    async def tick(self, now: datetime | None = None) -> None:
        """One round: expire holds and lapsed consents; daily interest and reconciliation; monthly posting."""
        now = now or datetime.now(UTC)
        await jobs.expire_holds(self.platform, now=now)
        await jobs.lapse_consents(self.platform, now=now)
        today = bank_day(now)
        if today not in self._days_done:
            await jobs.accrue_interest_for_day(self.platform, now=now)
            await jobs.run_daily_reconciliation(self.platform)
            self._days_done = {today}
        last_month = Month.of(today).previous()
        if last_month not in self._months_done:
            await jobs.post_monthly_interest(self.platform, last_month, now=now)
            self._months_done = {last_month}

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop`; a failing job is logged and retried at the next tick, never fatal."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                _log.exception("scheduled_job_failed")
            await sleep_unless_stopped(stop, self.tick_seconds)
