"""The scheduler loop every `obank serve` and `obank worker` process runs: each due time of each job, once.

A tick inserts, for each job, the row of its latest due time at or before now (`ON CONFLICT DO NOTHING`, so
every process may insert it and one row results), then claims runnable rows one transaction each with
`FOR UPDATE SKIP LOCKED` and commits them as RUNNING under this process's name before running them, outside
that transaction, while a heartbeat refreshes the claim. A claim whose heartbeat is older than the staleness
limit belongs to a dead process: the next claimer takes the run over, and the old claimer, should it still be
alive after all, finds its claim gone (every write is fenced by claimer and attempt) and stops. A failed
attempt is retried after a doubling delay until the last allowed one, which leaves the run FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from obank import metrics
from obank.database import unit_of_work
from obank.log import describe_error, get_logger
from obank.runtime import Platform
from obank.scheduler import repository
from obank.scheduler.errors import RunAbandoned
from obank.scheduler.models import RunStatus
from obank.scheduler.registry import JobRegistry, RunResult
from obank.scheduler.schemas import RunKey, RunRecord
from obank.settings import Settings

MAX_BACKOFF = timedelta(hours=1)
MIN_SLEEP_S = 0.05
SUMMARY_ENTRIES = 16

_log = get_logger("obank.scheduler")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """How often a process looks for work and how long a silent claim is trusted (`OBANK_SCHEDULER_*`)."""

    tick_max_s: float = 15.0
    heartbeat_s: float = 10.0
    stale_after_s: float = 60.0
    max_attempts: int = 3
    retry_backoff_s: float = 30.0
    concurrency: int = 4

    def __post_init__(self) -> None:
        # A claim must survive a late heartbeat or two, or live runs would be taken over.
        if self.stale_after_s < 3 * self.heartbeat_s:
            raise ValueError("the scheduler's stale-after limit must be at least three heartbeat intervals")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            tick_max_s=settings.scheduler_tick_max_s,
            heartbeat_s=settings.scheduler_heartbeat_s,
            stale_after_s=settings.scheduler_stale_after_s,
            max_attempts=settings.scheduler_max_attempts,
            retry_backoff_s=settings.scheduler_retry_backoff_s,
            concurrency=settings.scheduler_concurrency,
        )

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_s)

    def backoff(self, attempt: int) -> timedelta:
        """The wait before the attempt after `attempt`: the base delay, doubled for each earlier failure."""
        return min(timedelta(seconds=self.retry_backoff_s * 2 ** (attempt - 1)), MAX_BACKOFF)


def process_identity() -> str:
    """host:pid:random, naming one scheduler in one process for as long as it lives."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _summary(result: RunResult | None) -> dict[str, int] | None:
    if result is None:
        return None
    return {str(key)[:40]: int(value) for key, value in list(result.items())[:SUMMARY_ENTRIES]}


class Scheduler:
    """Runs the registry's jobs on `platform`; any number of processes may run one each."""

    def __init__(
        self,
        platform: Platform,
        registry: JobRegistry,
        config: SchedulerConfig | None = None,
        *,
        claimer: str | None = None,
    ) -> None:
        self.platform = platform
        self.registry = registry
        self.config = config or SchedulerConfig.from_settings(platform.settings)
        self.claimer = claimer or process_identity()

    async def schedule_due(self, now: datetime) -> int:
        """Insert each job's latest due time at or before `now`; returns how many were new.

        Earlier due times nobody inserted (every process was stopped) are folded into this one: jobs do
        everything outstanding up to their due time.
        """
        keys = [RunKey(job.name, job.schedule.latest_due(now)) for job in self.registry]
        async with unit_of_work(self.platform.sessions) as session:
            return await repository.insert_due(session, keys)

    async def claim(self, jobs: Sequence[str] | None = None) -> RunRecord | None:
        """Claim the runnable run due longest ago (of `jobs`, default all) for this process, committed."""
        names = list(jobs if jobs is not None else self.registry.names)
        while True:
            async with unit_of_work(self.platform.sessions) as session:
                run = await repository.lock_next_runnable(session, names, self.config.stale_after)
                if run is None:
                    return None
                if run.status is not RunStatus.RUNNING:
                    return await repository.mark_running(session, run.key, self.claimer)
                if run.attempts < self.config.max_attempts:
                    _log.warning("job_run_reclaimed", job=run.job, due_at=run.due_at, claimed_by=run.claimed_by)
                    return await repository.mark_running(session, run.key, self.claimer)
                await repository.mark_abandoned(session, run.key, describe_error(RunAbandoned()))
                await repository.notify(session)
            _log.error("job_run_abandoned", job=run.job, due_at=run.due_at, claimed_by=run.claimed_by)
            metrics.job_finished(run.job, "abandoned")

    async def execute(self, run: RunRecord) -> RunRecord:
        """Run a claimed run's job while heartbeating, and record how the attempt ended.

        Cancelled (the process stops), the attempt is handed back uncounted for another process.
        """
        job = self.registry.get(run.job)
        assert job is not None, "claims name only registered jobs"
        work = asyncio.create_task(job.run(self.platform, run.due_at), name=f"job:{run.job}")
        lost = asyncio.Event()
        beat = asyncio.create_task(self._heartbeat(run, work, lost))
        error: BaseException | None = None
        result: RunResult | None = None
        try:
            result = await work
        except asyncio.CancelledError as cancelled:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # this process is stopping
                await asyncio.shield(self._release(run))
                raise
            if not lost.is_set():  # the job cancelled itself: a failure like any other
                error = cancelled
        except Exception as failure:
            error = failure
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        if lost.is_set():
            _log.warning("job_run_claim_lost", job=run.job, due_at=run.due_at)
            return await self._read(run.key)
        return await self._record_outcome(run, result, error)

    async def _record_outcome(self, run: RunRecord, result: RunResult | None, error: BaseException | None) -> RunRecord:
        retry_in = None
        if error is not None and run.attempts < self.config.max_attempts:
            retry_in = self.config.backoff(run.attempts)
        async with unit_of_work(self.platform.sessions) as session:
            record = await repository.finish(
                session,
                run.key,
                self.claimer,
                run.attempts,
                error=describe_error(error)[:300] if error is not None else None,
                result=_summary(result),
                retry_in=retry_in,
            )
            await repository.notify(session)
        if record is None:
            _log.warning("job_run_claim_lost", job=run.job, due_at=run.due_at)
            return await self._read(run.key)
        metrics.job_finished(run.job, "succeeded" if error is None else "retry" if retry_in is not None else "failed")
        if error is None:
            _log.info("job_run_succeeded", job=run.job, due_at=run.due_at, attempts=run.attempts)
        elif retry_in is not None:
            _log.warning("job_run_retry", job=run.job, due_at=run.due_at, attempts=run.attempts, exc_info=error)
        else:
            _log.error("job_run_failed", job=run.job, due_at=run.due_at, attempts=run.attempts, exc_info=error)
        return record

    async def _heartbeat(self, run: RunRecord, work: asyncio.Task[Any], lost: asyncio.Event) -> None:
        """Keep the claim alive while `work` runs; stop `work` if the claim was taken over."""
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                async with unit_of_work(self.platform.sessions) as session:
                    alive = await repository.heartbeat(session, run.key, self.claimer, run.attempts)
            except Exception:
                _log.exception("job_run_heartbeat_failed", job=run.job)
                continue
            if not alive:
                lost.set()
                work.cancel()
                return

    async def _release(self, run: RunRecord) -> None:
        try:
            async with unit_of_work(self.platform.sessions) as session:
                if await repository.release(session, run.key, self.claimer, run.attempts):
                    await repository.notify(session)
        except Exception:
            _log.exception("job_run_release_failed", job=run.job)  # it goes stale, and is taken over

    async def _read(self, key: RunKey) -> RunRecord:
        async with unit_of_work(self.platform.sessions) as session:
            record = await repository.get(session, key)
        assert record is not None, "a claimed run is never deleted"
        return record

    async def tick(self, now: datetime | None = None) -> list[RunRecord]:
        """One round: insert due runs at `now`, then claim and run runnable ones (`concurrency` at a time)
        until none is left; returns each attempt's outcome."""
        await self.schedule_due(now or datetime.now(UTC))
        outcomes: list[RunRecord] = []
        while True:
            claimed: list[RunRecord] = []
            while len(claimed) < self.config.concurrency and (run := await self.claim()) is not None:
                claimed.append(run)
            if not claimed:
                return outcomes
            outcomes += await asyncio.gather(*(self.execute(run) for run in claimed))

    async def run_requested(self, key: RunKey, *, poll_s: float = 0.5) -> RunRecord:
        """Run a requested run in this process, with any earlier due runs of its job first; returns it final,
        or waiting for a retry. If another process claims it first, waits for that process's outcome."""
        while True:
            run = await self.claim([key.job])
            if run is not None:
                outcome = await self.execute(run)
                if outcome.key != key:
                    continue
            current = await self._read(key)
            if current.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) or current.retry_at is not None:
                return current
            if run is None:
                await asyncio.sleep(poll_s)

    def seconds_until_due(self, now: datetime) -> float:
        """How long to sleep after a tick at `now`: until the next due time, capped so requests are seen."""
        following = min((job.schedule.next_due(now) for job in self.registry), default=None)
        wait = self.config.tick_max_s
        if following is not None:
            wait = min(wait, (following - datetime.now(UTC)).total_seconds())
        return max(wait, MIN_SLEEP_S)

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop`: at each due time, when a run is requested or finishes anywhere, and at least
        every `tick_max_s`; up to `concurrency` runs at once. Runs still going at `stop` are handed back."""
        listener = self.platform.listener
        wake = asyncio.Event()
        subscription = listener.subscribe(repository.NOTIFY_CHANNEL, lambda _payload: wake.set())
        listener.start_in_background()
        running: set[asyncio.Task[RunRecord]] = set()
        _log.info("scheduler_started", count=len(self.registry))
        try:
            while not stop.is_set():
                wake.clear()
                now = datetime.now(UTC)
                try:
                    await self.schedule_due(now)
                    while len(running) < self.config.concurrency and (run := await self.claim()) is not None:
                        running.add(asyncio.create_task(self.execute(run)))
                except Exception:
                    _log.exception("scheduler_tick_failed")
                await _first_of(stop, wake, running, self.seconds_until_due(now))
                for task in [task for task in running if task.done()]:
                    running.discard(task)
                    if not task.cancelled() and (failure := task.exception()) is not None:
                        _log.error("job_run_outcome_not_recorded", exc_info=failure)  # it goes stale, and is retried
        finally:
            listener.unsubscribe(subscription)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            _log.info("scheduler_stopped")


async def _first_of(
    stop: asyncio.Event, wake: asyncio.Event, running: set[asyncio.Task[RunRecord]], seconds: float
) -> None:
    """Wait until `stop` or `wake` is set, a run finishes, or `seconds` pass."""
    waiters = {asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())}
    try:
        await asyncio.wait({*waiters, *running}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
