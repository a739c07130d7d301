"""`obank jobs ...`: the scheduled jobs, their runs, and a run now in this process."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from core_banking.ledger.periods import BANK_TIMEZONE

if TYPE_CHECKING:
    from obank.runtime import Platform
    from obank.scheduler.registry import JobRegistry
    from obank.scheduler.schemas import JobOverview, RunRecord

app = typer.Typer(help="Scheduled jobs: what runs when, what ran, and a run now.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@app.callback()
def jobs() -> None:
    """Scheduled jobs: what runs when, what ran, and a run now."""


def _at(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(BANK_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(duration: timedelta | None) -> str:
    return "" if duration is None else f"{duration.total_seconds():.3f} s"


def _registry() -> JobRegistry:
    from bank.jobs import job_registry
    from obank.settings import get_settings

    return job_registry(get_settings())


def _known(registry: JobRegistry, name: str) -> None:
    if name not in registry:
        errors.print(f"[red]no job is named {name!r}[/red]; the jobs are: {', '.join(registry.names)}", soft_wrap=True)
        raise typer.Exit(2)


def _with_platform(work: Callable[[Platform], Awaitable[T]]) -> T:
    """Run `work` on the platform the settings describe, then close it."""
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)

    async def run() -> T:
        platform = build_platform(settings)
        try:
            return await work(platform)
        finally:
            await platform.close()

    return asyncio.run(run())


def _runs_table(runs: list[RunRecord]) -> Table:
    table = Table("due (London)", "job", "trigger", "status", "attempts", "claimed by", "duration", "error")
    for run in runs:
        table.add_row(
            _at(run.due_at),
            run.job,
            run.trigger.value,
            run.status.value if run.retry_at is None else f"{run.status.value} (retry {_at(run.retry_at)})",
            str(run.attempts),
            run.claimed_by or "",
            _duration(run.duration),
            run.error or "",
        )
    return table


@app.command("list")
def list_jobs() -> None:
    """Each job: its schedule, its next due time and how its latest run went (times in London)."""
    from obank.database import unit_of_work
    from obank.scheduler import service

    registry = _registry()

    async def read(platform: Platform) -> list[JobOverview]:
        async with unit_of_work(platform.sessions) as session:
            return await service.job_overviews(session, registry, datetime.now(UTC))

    table = Table("job", "schedule", "next due (London)", "last due (London)", "last status", "attempts", "error")
    for overview in _with_platform(read):
        last = overview.last_run
        table.add_row(
            overview.job.name,
            overview.job.schedule.describe(),
            _at(overview.next_due_at),
            _at(last.due_at) if last else "",
            last.status.value if last else "never run",
            str(last.attempts) if last else "",
            (last.error or "") if last else "",
        )
    console.print(table)


@app.command()
def history(
    job: Annotated[str | None, typer.Option("--job", help="Only this job's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=200, help="How many runs, newest first.")] = 20,
) -> None:
    """Runs, newest due time first: status, attempts, who claimed them, how long, how they failed."""
    from obank.database import unit_of_work
    from obank.scheduler import service

    registry = _registry()
    if job is not None:
        _known(registry, job)

    async def read(platform: Platform) -> list[RunRecord]:
        async with unit_of_work(platform.sessions) as session:
            return await service.run_history(session, registry, job, limit=limit)

    console.print(_runs_table(_with_platform(read)))


@app.command("run")
def run_now(name: Annotated[str, typer.Argument(help="The job (see `obank jobs list`).")]) -> None:
    """Run a job now, in this process, after any earlier due runs of it; exit 1 unless the run succeeded."""
    from audit.trail import platform_units
    from obank.actor import Actor
    from obank.scheduler import service
    from obank.scheduler.models import RunStatus
    from obank.scheduler.scheduler import Scheduler

    registry = _registry()
    _known(registry, name)
    operator = Actor.system(f"obank jobs run ({getpass.getuser()})")  # an operator at the machine, audited

    async def work(platform: Platform) -> RunRecord:
        async with platform_units(platform).begin(operator) as uow:
            requested = await service.request_run(uow, registry, name, datetime.now(UTC))
        return await Scheduler(platform, registry).run_requested(requested.key)

    outcome = _with_platform(work)
    console.print(_runs_table([outcome]))
    if outcome.result:
        console.print(", ".join(f"{key}: {value}" for key, value in outcome.result.items()), soft_wrap=True)
    if outcome.status is not RunStatus.SUCCEEDED:
        raise typer.Exit(1)
