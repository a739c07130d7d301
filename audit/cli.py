"""`obank audit ...`: operator commands of the audit context."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from audit.schemas import VerificationReport

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
console = Console()


@app.callback()
def audit() -> None:
    """The tamper-evident audit trail."""


@app.command()
def verify() -> None:
    """Check every audit record's MAC and chain link; exit 1 naming the first broken record of each chain."""
    report = asyncio.run(_verify())
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("records verified", str(report.records_checked))
    summary.add_row("chains", str(len(report.head_sequences)))
    if report.intact:
        console.print("[green]Audit chain intact[/green]")
        console.print(summary)
        return
    console.print(summary)
    for problem in report.problems:
        console.print(
            f"[red]Audit chain {problem.chain} broken ({problem.kind.value}) at sequence {problem.sequence}[/red]"
        )
        details = Table.grid(padding=(0, 2))
        details.add_column(style="bold")
        details.add_column()
        details.add_row("problem", problem.kind.value)
        details.add_row("chain", str(problem.chain))
        details.add_row("sequence", str(problem.sequence))
        details.add_row("record", "none (missing)" if problem.record_id is None else str(problem.record_id))
        details.add_row("detail", problem.detail)
        console.print(details)
    raise typer.Exit(1)


async def _verify() -> VerificationReport:
    from audit.verify import verify_chain
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    platform = build_platform(settings)
    try:
        with Progress(
            TextColumn("Verifying the audit chain"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("verify", total=None)

            def advance(checked: int, total: int) -> None:
                bar.update(task, completed=checked, total=max(total, checked))

            async with platform.sessions() as session, session.begin():
                return await verify_chain(session, platform.keyring, progress=advance)
    finally:
        await platform.close()
