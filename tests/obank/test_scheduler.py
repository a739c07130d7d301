"""The durable scheduler in one process: each due time runs once, retries back off, runs can be asked for,
dead claims are taken over or given up, and finished runs are purged."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from audit.trail import platform_units
from obank.actor import Actor
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler import repository, service
from obank.scheduler.errors import UnknownJob
from obank.scheduler.jobs import purge_job_runs
from obank.scheduler.models import RunStatus, RunTrigger
from obank.scheduler.registry import Job, JobRegistry, RunResult
from obank.scheduler.scheduler import Scheduler, SchedulerConfig
from obank.scheduler.schedules import Every
from obank.scheduler.schemas import RunKey, RunRecord
from tests.obank.scheduler_jobs import calls, create_probe_table, probe

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
CONFIG = SchedulerConfig(heartbeat_s=0.2, stale_after_s=1.0, max_attempts=3, retry_backoff_s=60)
OPERATOR = Actor.system("tests.scheduler")


@pytest.fixture
async def probed(platform: Platform) -> Platform:
    await create_probe_table(platform)
    return platform


def probes(*jobs: Job) -> JobRegistry:
    return JobRegistry([Job("probe", Every(60), probe, "counts calls"), *jobs])


async def runs(platform: Platform, job: str | None = None) -> list[RunRecord]:
    async with unit_of_work(platform.sessions) as session:
        return list(reversed(await repository.history(session, job, limit=200)))


async def set_run(platform: Platform, key: RunKey, assignments: str) -> None:
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(f"UPDATE platform.job_runs SET {assignments} WHERE job = :job AND due_at = :due_at"),
            {"job": key.job, "due_at": key.due_at},
        )


async def test_each_due_time_runs_once_and_missed_ones_fold_into_the_latest(probed: Platform) -> None:
    scheduler = Scheduler(probed, probes(), CONFIG)

    first = await scheduler.tick(START + timedelta(seconds=30))
    again = await scheduler.tick(START + timedelta(seconds=59))
    later = await scheduler.tick(START + 10 * MINUTE + timedelta(seconds=5))  # nine due times were missed

    assert [run.due_at for run in first] == [START]
    assert again == []
    assert [run.due_at for run in later] == [START + 10 * MINUTE]
    assert [due_at for _, due_at, _ in await calls(probed)] == [START, START + 10 * MINUTE]
    (done, *_) = first
    assert (done.status, done.trigger, done.attempts, done.result) == (
        RunStatus.SUCCEEDED,
        RunTrigger.SCHEDULE,
        1,
        {"calls": 1},
    )
    assert done.claimed_by == scheduler.claimer and done.duration is not None


async def test_two_schedulers_sharing_a_database_run_each_due_time_once(probed: Platform) -> None:
    registry = probes()
    first, second = Scheduler(probed, registry, CONFIG), Scheduler(probed, registry, CONFIG)
    moments = [START + step * MINUTE for step in range(20)]

    await asyncio.gather(*(scheduler.tick(moment) for moment in moments for scheduler in (first, second)))
    await first.tick(moments[-1])  # whatever the last ticks left waiting behind a run

    assert [due_at for _, due_at, _ in await calls(probed)] == moments
    assert all(run.status is RunStatus.SUCCEEDED and run.attempts == 1 for run in await runs(probed))


async def test_a_failing_run_is_retried_after_a_doubling_delay_then_failed(probed: Platform) -> None:
    async def broken(platform: Platform, due_at: datetime) -> RunResult:
        await probe(platform, due_at)
        raise ValueError("a message quoting customer@example.com")

    scheduler = Scheduler(probed, JobRegistry([Job("broken", Every(3600), broken, "always fails")]), CONFIG)
    due = Every(3600).latest_due(START)

    (first,) = await scheduler.tick(START)
    assert (first.status, first.attempts, first.error) == (RunStatus.PENDING, 1, "ValueError")
    assert first.retry_at is not None and first.claimed_at is not None
    assert first.retry_at - first.claimed_at >= timedelta(seconds=60)
    assert await scheduler.tick(START) == []  # the retry is not due yet

    await set_run(probed, first.key, "retry_at = now() - interval '1 second'")  # a minute passes
    (second,) = await scheduler.tick(START)
    assert (second.status, second.attempts) == (RunStatus.PENDING, 2)
    assert second.retry_at is not None and second.claimed_at is not None
    assert second.retry_at - second.claimed_at >= timedelta(seconds=120)

    await set_run(probed, first.key, "retry_at = now() - interval '1 second'")
    (third,) = await scheduler.tick(START)
    assert (third.status, third.attempts, third.error, third.retry_at) == (RunStatus.FAILED, 3, "ValueError", None)
    assert third.finished_at is not None
    assert await scheduler.tick(START) == []
    assert [due_at for _, due_at, _ in await calls(probed)] == [due, due, due]


async def test_a_run_asked_for_is_audited_and_runs_once_here(probed: Platform) -> None:
    registry = probes()
    now = datetime.now(UTC)
    async with platform_units(probed).begin(OPERATOR) as uow:
        requested = await service.request_run(uow, registry, "probe", now)
    assert (requested.trigger, requested.status, requested.due_at) == (RunTrigger.MANUAL, RunStatus.PENDING, now)

    outcome = await Scheduler(probed, registry, CONFIG).run_requested(requested.key)

    assert (outcome.status, outcome.trigger, outcome.attempts) == (RunStatus.SUCCEEDED, RunTrigger.MANUAL, 1)
    assert [due_at for _, due_at, _ in await calls(probed)] == [now]
    async with unit_of_work(probed.sessions) as session:
        audited = (
            await session.execute(
                text("SELECT actor_id, entity_id FROM audit.audit_records WHERE action = 'job.run_requested'")
            )
        ).all()
    assert [tuple(row) for row in audited] == [(OPERATOR.id, f"probe@{now.isoformat()}")]


async def test_an_unknown_job_cannot_be_asked_for(platform: Platform) -> None:
    async with platform_units(platform).begin(OPERATOR) as uow:
        with pytest.raises(UnknownJob):
            await service.request_run(uow, probes(), "nonesuch", datetime.now(UTC))


async def test_a_live_claim_is_left_alone_and_a_stale_one_taken_over(probed: Platform) -> None:
    registry = probes()
    key = RunKey("probe", START)
    async with unit_of_work(probed.sessions) as session:
        await repository.insert_due(session, [key])
    await set_run(probed, key, "status = 'RUNNING', attempts = 1, claimed_by = 'elsewhere:1:x', heartbeat_at = now()")
    scheduler = Scheduler(probed, registry, CONFIG)

    assert await scheduler.claim() is None  # its process is alive

    await set_run(probed, key, "heartbeat_at = now() - interval '2 seconds'")  # ... and now it is not
    (outcome,) = await scheduler.tick(START)
    assert (outcome.status, outcome.attempts, outcome.claimed_by) == (RunStatus.SUCCEEDED, 2, scheduler.claimer)


async def test_a_run_whose_last_attempt_lost_its_process_is_given_up(probed: Platform) -> None:
    key = RunKey("probe", START)
    async with unit_of_work(probed.sessions) as session:
        await repository.insert_due(session, [key])
    await set_run(
        probed,
        key,
        "status = 'RUNNING', attempts = 3, claimed_by = 'gone:1:x', heartbeat_at = now() - interval '1 hour'",
    )

    assert await Scheduler(probed, probes(), CONFIG).tick(START) == []

    (run,) = await runs(probed)
    assert (run.status, run.attempts, run.error) == (RunStatus.FAILED, 3, "obank.scheduler.errors.RunAbandoned")
    assert await calls(probed) == []


async def test_an_attempt_whose_claim_was_taken_over_records_nothing(probed: Platform) -> None:
    async def overtaken(platform: Platform, due_at: datetime) -> RunResult:
        await set_run(platform, RunKey("overtaken", due_at), "claimed_by = 'newcomer:2:y', attempts = attempts + 1")
        return {"calls": 1}

    scheduler = Scheduler(probed, JobRegistry([Job("overtaken", Every(60), overtaken, "loses its claim")]), CONFIG)

    (outcome,) = await scheduler.tick(START)

    assert (outcome.status, outcome.claimed_by, outcome.attempts, outcome.result) == (
        RunStatus.RUNNING,
        "newcomer:2:y",
        2,
        None,
    )


async def test_the_loop_runs_due_jobs_wakes_for_requests_and_hands_back_what_runs_at_stop(probed: Platform) -> None:
    started = asyncio.Event()

    async def hangs(platform: Platform, due_at: datetime) -> RunResult:
        started.set()
        await asyncio.Event().wait()
        return {}

    registry = JobRegistry(
        [Job("probe", Every(3600), probe, "counts calls"), Job("hangs", Every(7 * 24 * 3600), hangs, "never ends")]
    )
    scheduler = Scheduler(probed, registry, replace(CONFIG, tick_max_s=300))
    stop = asyncio.Event()
    loop = asyncio.create_task(scheduler.run(stop))
    try:
        await asyncio.wait_for(started.wait(), 30)
        await _until(lambda: _count(probed), 1)
        await _until(lambda: _listening(probed), True)
        async with platform_units(probed).begin(OPERATOR) as uow:
            await service.request_run(uow, registry, "probe", datetime.now(UTC))
        await _until(lambda: _count(probed), 2)  # long before the next tick: the request's NOTIFY woke it
    finally:
        stop.set()
        await asyncio.wait_for(loop, 30)

    (hung,) = await runs(probed, "hangs")
    assert (hung.status, hung.attempts) == (RunStatus.PENDING, 0)  # handed back, uncounted


async def test_finished_runs_are_purged_after_the_retention_period(probed: Platform) -> None:
    scheduler = Scheduler(probed, probes(), CONFIG)
    for step in range(3):
        await scheduler.tick(START + step * MINUTE)
    async with unit_of_work(probed.sessions) as session:
        await repository.insert_due(session, [RunKey("probe", START + 3 * MINUTE)])  # unfinished: kept
    old, kept = RunKey("probe", START), RunKey("probe", START + MINUTE)
    await set_run(probed, old, "finished_at = now() - interval '31 days'")
    await set_run(probed, kept, "finished_at = now() - interval '29 days'")

    assert await purge_job_runs(probed, datetime.now(UTC)) == {"purged": 1}

    assert [run.due_at for run in await runs(probed)] == [START + step * MINUTE for step in (1, 2, 3)]


async def _count(platform: Platform) -> int:
    return len(await calls(platform))


async def _listening(platform: Platform) -> bool:
    return platform.listener.listening


async def _until(read: object, expected: object) -> None:
    """Wait (within a generous guard) until `read()` returns `expected`."""
    assert callable(read)
    for _ in range(600):
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still not {expected!r}")
