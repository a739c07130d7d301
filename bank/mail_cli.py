"""`obank mail ...`: the emails the development mail sink kept (no SMTP server configured, outside production)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from core_banking.ledger.periods import BANK_TIMEZONE

if TYPE_CHECKING:
    from obank.runtime import Platform

app = typer.Typer(help="The development mail sink: emails sent to customers.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@app.callback()
def mail() -> None:
    """The development mail sink: emails sent to customers."""


def _with_platform(work: Callable[[Platform], Awaitable[T]]) -> T:
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    if settings.is_production:
        errors.print("[red]the mail sink exists only in development[/red]")
        raise typer.Exit(2)
    configure_logging(settings.log_level)

    async def run() -> T:
        platform = build_platform(settings)
        try:
            return await work(platform)
        finally:
            await platform.close()

    return asyncio.run(run())


@app.command("list")
def list_mail(limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first")] = 50) -> None:
    """The emails the sink kept, newest first."""
    from notifications.customers.sink import kept_mails

    mails = _with_platform(lambda platform: kept_mails(platform.sessions, platform.keyring, limit))
    table = Table("id", "received (London)", "to", "subject")
    for kept in mails:
        received = kept.received_at.astimezone(BANK_TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(kept.id), received, ", ".join(kept.recipients), kept.subject)
    console.print(table)


@app.command("show")
def show_mail(mail_id: Annotated[uuid.UUID, typer.Argument(help="The email's id (from `obank mail list`)")]) -> None:
    """One email: its recipients, subject and plain text part."""
    from notifications.customers.sink import kept_mail

    kept = _with_platform(lambda platform: kept_mail(platform.sessions, platform.keyring, mail_id))
    if kept is None:
        errors.print(f"[red]no email {mail_id}[/red]")
        raise typer.Exit(1)
    console.print(f"To: {', '.join(kept.recipients)}", markup=False, soft_wrap=True)
    console.print(f"Subject: {kept.subject}", markup=False, soft_wrap=True)
    console.print()
    console.print(kept.part("plain") or "", markup=False, soft_wrap=True)
