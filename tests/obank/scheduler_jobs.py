"""Test jobs for the scheduler: each call leaves a row in `scheduler_probe`, so tests count side effects."""

from __future__ import annotations

import asyncio
import os
import random
from datetime import datetime

from sqlalchemy import text

from obank.database import unit_of_work
from obank.runtime import Platform
from obank.scheduler.registry import RunResult

PROBE_TABLE = """
CREATE TABLE IF NOT EXISTS public.scheduler_probe (
    job text NOT NULL,
    due_at timestamptz NOT NULL,
    phase text NOT NULL,
    pid integer NOT NULL,
    called_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""
# The side effect an idempotent job makes once per due time, however often it runs.
COMPLETIONS = (
    "CREATE UNIQUE INDEX IF NOT EXISTS scheduler_probe_once ON public.scheduler_probe (job, due_at)"
    " WHERE phase = 'completed'"
)


async def create_probe_table(platform: Platform) -> None:
    async with unit_of_work(platform.sessions) as session:
        await session.execute(text(PROBE_TABLE))
        await session.execute(text(COMPLETIONS))


async def note(platform: Platform, job: str, due_at: datetime, phase: str) -> None:
    statement = text(
        "INSERT INTO public.scheduler_probe (job, due_at, phase, pid) VALUES (:job, :due_at, :phase, :pid)"
        " ON CONFLICT (job, due_at) WHERE phase = 'completed' DO NOTHING"
    )
    async with unit_of_work(platform.sessions) as session:
        await session.execute(statement, {"job": job, "due_at": due_at, "phase": phase, "pid": os.getpid()})


async def probe(platform: Platform, due_at: datetime) -> RunResult:
    """Counts each call (no idempotency of its own: a second call for a due time shows as a second row)."""
    await asyncio.sleep(random.uniform(0, 0.01))  # let racing processes interleave
    await note(platform, "probe", due_at, "called")
    return {"calls": 1}


async def slow_then_complete(platform: Platform, due_at: datetime) -> RunResult:
    """Starts, then completes once per due time (a repeat completes nothing new)."""
    await note(platform, "slow", due_at, "started")
    await note(platform, "slow", due_at, "completed")
    return {"completed": 1}


async def slow_then_hang(platform: Platform, due_at: datetime) -> RunResult:
    """Starts, says so on stdout, then never ends: the process running it is killed in the middle."""
    await note(platform, "slow", due_at, "started")
    print("started", flush=True)
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def calls(platform: Platform, phase: str = "called") -> list[tuple[str, datetime, int]]:
    """(job, due_at, pid) of every noted call in `phase`, by due time."""
    async with unit_of_work(platform.sessions) as session:
        rows = await session.execute(
            text("SELECT job, due_at, pid FROM public.scheduler_probe WHERE phase = :phase ORDER BY due_at, called_at"),
            {"phase": phase},
        )
        return [(row.job, row.due_at, row.pid) for row in rows]
