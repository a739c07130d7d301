"""`obank interest ...`: accrue savings interest for a day, pay it for a month."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from core_banking.errors import DomainError
from core_banking.interest.schemas import AccrualRun, InterestPostingRecord
from core_banking.ledger.periods import Month
from obank.runtime import Platform

app = typer.Typer(help="Interest on savings accounts.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _in_platform(job: Callable[[Platform], Awaitable[T]]) -> T:
    async def run() -> T:
        from obank.log import configure_logging
        from obank.runtime import build_platform
        from obank.settings import get_settings

        settings = get_settings()
        configure_logging(settings.log_level)
        platform = build_platform(settings)
        try:
            return await job(platform)
        finally:
            await platform.close()

    try:
        return asyncio.run(run())
    except DomainError as error:
        console.print(f"[red]{error.title}: {error.detail}[/red]")
        raise typer.Exit(2) from error


def _month(value: str | None) -> Month | None:
    if value is None:
        return None
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.callback()
def interest() -> None:
    """Interest on savings accounts."""


@app.command()
def accrue(
    day: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Bank day to accrue (default: yesterday)")
    ] = None,
) -> None:
    """Accrue a finished day's interest on every savings account (a repeat accrues nothing)."""
    from core_banking.jobs import accrue_interest_for_day

    accrual_day: date | None = None if day is None else day.date()
    run: AccrualRun = _in_platform(lambda platform: accrue_interest_for_day(platform, accrual_day))
    console.print(f"[green]{run.day}: accrued interest on {run.accounts} account(s)[/green]")


@app.command()
def post(
    month: Annotated[str | None, typer.Option(help="Month to pay, YYYY-MM (default: last month)")] = None,
) -> None:
    """Pay a finished month's accrued interest, one journal entry per account (never twice)."""
    from core_banking.jobs import post_monthly_interest

    chosen = _month(month)
    posted: list[InterestPostingRecord] = _in_platform(lambda platform: post_monthly_interest(platform, chosen))
    table = Table("account", "month", "paid (minor units)", "currency", "carried (1/3 650 000 minor unit)")
    for record in posted:
        table.add_row(
            str(record.account_id),
            str(record.month),
            str(record.paid_minor),
            record.currency,
            str(record.carried_out_units),
        )
    console.print(table)
    console.print(f"[green]paid interest to {len(posted)} account(s)[/green]")


if __name__ == "__main__":
    app()
