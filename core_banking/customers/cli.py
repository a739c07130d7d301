"""`obank customers ...`: operators' one-off work on customers."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Customers.", no_args_is_help=True)
console = Console()


@app.callback()
def customers() -> None:
    """Customers."""


@app.command("backfill-name-hashes")
def backfill_name_hashes(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Customers per transaction")] = 500,
) -> None:
    """Give customers onboarded before staff search by name the keyed hash of their name (once, after migrating;
    a repeat finds none to do)."""

    async def run() -> int:
        from audit.trail import platform_units
        from core_banking.customers import service
        from obank.actor import Actor
        from obank.log import configure_logging
        from obank.runtime import build_platform
        from obank.settings import get_settings

        settings = get_settings()
        configure_logging(settings.log_level)
        platform = build_platform(settings)
        units, actor, total = platform_units(platform), Actor.system("customers.backfill_name_hashes"), 0
        try:
            while True:
                async with units.begin(actor) as uow:
                    done = await service.backfill_name_hashes(uow, batch_size=batch_size)
                if not done:
                    return total
                total += done
        finally:
            await platform.close()

    console.print(f"[green]name hashes written for {asyncio.run(run())} customer(s)[/green]")
