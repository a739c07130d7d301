"""`obank reconcile`: check the book of record, print the report, exit 1 on any discrepancy.

`app` holds the one command `reconcile`: `add_typer(app)` without a name puts it at the top level.
"""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from core_banking.reconciliation.schemas import ReconciliationReport

app = typer.Typer(help="Reconcile the book of record.")
console = Console()


@app.command()
def reconcile() -> None:
    """Check every balance, entry, hold and counter against the postings; exit 1 on any discrepancy."""
    report = asyncio.run(_reconcile())
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("run", str(report.id))
    summary.add_row("accounts checked", str(report.accounts_checked))
    summary.add_row("journal entries checked", str(report.entries_checked))
    summary.add_row("holds checked", str(report.holds_checked))
    summary.add_row("discrepancies", str(len(report.discrepancies)))
    if report.clean:
        console.print("[green]Ledger reconciled: no discrepancies[/green]")
        console.print(summary)
        return
    console.print(f"[red]Ledger NOT reconciled: {len(report.discrepancies)} discrepancies[/red]")
    console.print(summary)
    table = Table("check", "subject", "detail", title="Discrepancies")
    for discrepancy in report.discrepancies:
        table.add_row(discrepancy.check, discrepancy.subject, discrepancy.detail)
    console.print(table)
    raise typer.Exit(1)


async def _reconcile() -> ReconciliationReport:
    from core_banking.jobs import run_daily_reconciliation
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    platform = build_platform(settings)
    try:
        return await run_daily_reconciliation(platform, trigger="cli")
    finally:
        await platform.close()


if __name__ == "__main__":
    app()
