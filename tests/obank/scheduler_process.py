"""A scheduler process for the multi-process tests: races another over the same due times, or hangs mid-run."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from obank.log import configure_logging
from obank.runtime import build_platform
from obank.scheduler.registry import Job, JobRegistry
from obank.scheduler.scheduler import Scheduler
from obank.scheduler.schedules import Every
from obank.settings import Settings
from tests.obank.scheduler_jobs import probe, slow_then_hang

INTERVAL = Every(60)


async def race(settings: Settings, start: datetime, count: int) -> None:
    """Tick at each of `count` due times once the test says go, like a process whose clock passes them."""
    platform = build_platform(settings)
    scheduler = Scheduler(platform, JobRegistry([Job("probe", INTERVAL, probe, "counts calls")]))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for step in range(count):
        await scheduler.tick(start + step * INTERVAL.period)
    print("done", flush=True)
    await platform.close()


async def hang(settings: Settings, start: datetime) -> None:
    """Claim the due run of `slow` and hang in it, heartbeating, until killed."""
    platform = build_platform(settings)
    scheduler = Scheduler(platform, JobRegistry([Job("slow", INTERVAL, slow_then_hang, "hangs")]))
    await scheduler.tick(start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["race", "hang"])
    parser.add_argument("--settings", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--count", type=int, default=1)
    arguments = parser.parse_args(sys.argv[1:])
    configure_logging("WARNING")  # on stderr: stdout is what the test reads
    settings = Settings.model_validate_json(arguments.settings)
    start = datetime.fromisoformat(arguments.start)
    if arguments.mode == "race":
        asyncio.run(race(settings, start, arguments.count))
    else:
        asyncio.run(hang(settings, start))
