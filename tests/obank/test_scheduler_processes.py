"""Separate OS processes sharing the schedule: racing over the same due times, and one killed in the middle."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler import repository
from obank.scheduler.models import RunStatus
from obank.scheduler.registry import Job, JobRegistry
from obank.scheduler.scheduler import Scheduler, SchedulerConfig
from obank.scheduler.schedules import Every
from obank.scheduler.schemas import RunKey, RunRecord
from obank.settings import Settings
from tests.obank.scheduler_jobs import calls, create_probe_table, probe, slow_then_complete

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DUE_TIMES = 40
# The killed process heartbeats every 0.2 s; a claim silent for a second is stale.
FAST = {"scheduler_heartbeat_s": 0.2, "scheduler_stale_after_s": 1.0}


async def start_process(settings: Settings, mode: str, *, count: int = 1) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.obank.scheduler_process",
        mode,
        "--settings",
        settings.model_copy(update=FAST).model_dump_json(),
        "--start",
        START.isoformat(),
        "--count",
        str(count),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )


async def said(process: asyncio.subprocess.Process, line: bytes) -> None:
    assert process.stdout is not None
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == line


async def run_of(platform: Platform, key: RunKey) -> RunRecord | None:
    async with unit_of_work(platform.sessions) as session:
        return await repository.get(session, key)


async def test_two_processes_racing_over_the_same_due_times_run_each_once(
    platform: Platform, settings: Settings
) -> None:
    await create_probe_table(platform)
    racers = [await start_process(settings, "race", count=DUE_TIMES) for _ in range(2)]
    try:
        for racer in racers:
            await said(racer, b"ready")
        for racer in racers:  # both start together
            assert racer.stdin is not None
            racer.stdin.write(b"go\n")
            await racer.stdin.drain()
        for racer in racers:
            await said(racer, b"done")
            assert await asyncio.wait_for(racer.wait(), 60) == 0
    finally:
        for racer in racers:
            if racer.returncode is None:
                racer.kill()
                await racer.wait()
    # A due time inserted while the other process ran the one before may still wait: any scheduler runs it.
    last = START + (DUE_TIMES - 1) * Every(60).period
    await Scheduler(platform, JobRegistry([Job("probe", Every(60), probe, "counts calls")])).tick(last)

    made = await calls(platform)
    per_due_time = Counter(due_at for _, due_at, _ in made)
    assert sorted(per_due_time) == [START + step * Every(60).period for step in range(DUE_TIMES)]
    assert set(per_due_time.values()) == {1}
    async with unit_of_work(platform.sessions) as session:
        history = await repository.history(session, "probe", limit=200)
    assert len(history) == DUE_TIMES
    assert all(run.status is RunStatus.SUCCEEDED and run.attempts == 1 for run in history)


async def test_a_run_whose_process_was_killed_is_taken_over_once_stale_and_completes_once(
    platform: Platform, settings: Settings
) -> None:
    await create_probe_table(platform)
    key = RunKey("slow", START)
    registry = JobRegistry([Job("slow", Every(60), slow_then_complete, "completes")])
    process = await start_process(settings, "hang")
    try:
        await said(process, b"started")  # it claimed the run and is inside the job, heartbeating
        patient = Scheduler(platform, registry, SchedulerConfig(heartbeat_s=0.2, stale_after_s=3600))
        assert await patient.tick(START) == []  # a claim held by a live process is never taken
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    killed = await run_of(platform, key)
    assert killed is not None and (killed.status, killed.attempts) == (RunStatus.RUNNING, 1)

    heir = Scheduler(platform, registry, SchedulerConfig(heartbeat_s=0.2, stale_after_s=1.0))
    for _ in range(300):  # until its heartbeat is a second old
        if await heir.tick(START):
            break
        await asyncio.sleep(0.1)

    finished = await run_of(platform, key)
    assert finished is not None
    assert (finished.status, finished.attempts, finished.claimed_by) == (RunStatus.SUCCEEDED, 2, heir.claimer)
    assert killed.claimed_by is not None and killed.claimed_by != heir.claimer
    assert [due_at for _, due_at, _ in await calls(platform, "completed")] == [START]
    started = await calls(platform, "started")
    assert len(started) == 2 and started[0][2] == process.pid and started[1][2] != process.pid
