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
    """Check every audit record's MAC and chain link; exit 1 naming the first broken record."""
    report = asyncio.run(_verify())
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("records verified", str(report.records_checked))
    summary.add_row("chain head", "missing" if report.head_sequence is None else f"sequence {report.head_sequence}")
    problem = report.problem
    if problem is None:
        console.print("[green]Audit chain intact[/green]")
        console.print(summary)
        return
    summary.add_row("problem", problem.kind.value)
    summary.add_row("sequence", str(problem.sequence))
    summary.add_row("record", "none (missing)" if problem.record_id is None else str(problem.record_id))
    summary.add_row("detail", problem.detail)
    console.print(f"[red]Audit chain broken ({problem.kind.value}) at sequence {problem.sequence}[/red]")
    console.print(summary)
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
