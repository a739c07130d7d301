"""`obank jobs` as an operator runs it: list the jobs, read their history, run one now in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol

import pytest
import structlog
from sqlalchemy import text
from typer.testing import CliRunner, Result

from bank.cli import app
from bank.jobs import job_registry
from core_banking.ledger.periods import BANK_TIMEZONE
from obank.database import unit_of_work
from obank.runtime import build_platform
from obank.scheduler import repository
from obank.scheduler.scheduler import Scheduler
from obank.scheduler.schemas import RunRecord
from obank.settings import Settings, get_settings


class Invoke(Protocol):
    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put logging back as it was: the CLI binds it to a stream closed after the test."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def run(settings: Settings, monkeypatch: pytest.MonkeyPatch, restore_logging: None) -> Iterator[Invoke]:
    for name, value in {
        "OBANK_ENV": "test",
        "OBANK_DATA_DIR": str(settings.data_dir),
        "OBANK_DATABASE_URL": settings.database_url or "",
        "OBANK_ENCRYPTION_KEYS": settings.encryption_keys or "",
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": settings.active_encryption_key_id or "",
        "COLUMNS": "200",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["jobs", *args])

    yield invoke
    get_settings.cache_clear()


def _history(settings: Settings, job: str) -> list[RunRecord]:
    async def read() -> list[RunRecord]:
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                return await repository.history(session, job, limit=50)
        finally:
            await platform.close()

    return asyncio.run(read())


def _tick(settings: Settings, now: datetime) -> None:
    async def tick() -> None:
        platform = build_platform(settings)
        try:
            await Scheduler(platform, job_registry(settings)).tick(now)
        finally:
            await platform.close()

    asyncio.run(tick())


def _audited(settings: Settings) -> list[str]:
    async def read() -> list[str]:
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                rows = await session.execute(
                    text("SELECT actor_id FROM audit.audit_records WHERE action = 'job.run_requested'")
                )
                return [row.actor_id for row in rows]
        finally:
            await platform.close()

    return asyncio.run(read())


def test_list_shows_every_job_its_schedule_and_its_last_run(run: Invoke, settings: Settings) -> None:
    before = run("list")
    assert before.exit_code == 0, before.output
    for job in job_registry(settings):
        assert job.name in before.output
    assert "0 2 * * * (Europe/London)" in before.output and "every 60 s" in before.output
    assert "never run" in before.output

    _tick(settings, datetime(2026, 11, 23, 9, tzinfo=UTC))
    after = run("list")
    assert after.exit_code == 0, after.output
    (reconcile,) = [line for line in after.output.splitlines() if " reconcile " in line]
    assert "2026-11-23 02:00:00 GMT" in reconcile and "SUCCEEDED" in reconcile


def test_run_runs_a_job_here_now_and_prints_how_it_went(run: Invoke, settings: Settings) -> None:
    result = run("run", "reconcile")

    assert result.exit_code == 0, result.output
    assert "manual" in result.output and "SUCCEEDED" in result.output
    assert "discrepancies: 0" in result.output
    (ran,) = _history(settings, "reconcile")
    assert (ran.trigger.value, ran.status.value, ran.attempts) == ("manual", "SUCCEEDED", 1)
    assert ran.claimed_by is not None and ran.claimed_by in result.output
    (operator,) = _audited(settings)
    assert operator.startswith("obank jobs run (")


def test_history_lists_runs_newest_first(run: Invoke, settings: Settings) -> None:
    for _ in range(3):
        assert run("run", "purge-job-runs").exit_code == 0

    shown = run("history", "--job", "purge-job-runs", "--limit", "2")

    assert shown.exit_code == 0, shown.output
    dues = [run.due_at for run in _history(settings, "purge-job-runs")]
    lines = [line for line in shown.output.splitlines() if "purge-job-runs" in line]
    assert len(lines) == 2
    shown_dues = [due.astimezone(BANK_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S") for due in dues[:2]]
    assert all(due in line for due, line in zip(shown_dues, lines, strict=True))
    assert run("history").exit_code == 0


def test_an_unknown_job_is_refused_with_exit_code_2(run: Invoke) -> None:
    for args in (("run", "nonesuch"), ("history", "--job", "nonesuch")):
        result = run(*args)
        assert result.exit_code == 2
        assert "no job is named 'nonesuch'" in result.output
        assert "reconcile" in result.output  # the jobs there are
