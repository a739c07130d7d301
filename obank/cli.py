"""The `obank` command line; the composition root that wires the contexts into processes."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console

from audit import cli as audit_cli
from obank.settings import ProductionSettingsError, Settings, get_settings

app = typer.Typer(help="obank: a self-hostable FAPI 2.0 open-banking platform.", no_args_is_help=True)
certs_app = typer.Typer(help="Development certificates.", no_args_is_help=True)
app.add_typer(certs_app, name="certs")
app.add_typer(audit_cli.app, name="audit")
console = Console(stderr=True)


def _settings() -> Settings:
    settings = get_settings()
    try:
        settings.check_production_ready()
    except ProductionSettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    from obank.log import configure_logging

    configure_logging(settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from obank.migrate import upgrade_to_head
    from obank.runtime import resolve_database_url

    settings = _settings()
    with console.status("Migrating the database..."):
        upgrade_to_head(resolve_database_url(settings))
    console.print("[green]Database schema is at head.[/green]")


@certs_app.command("init")
def certs_init(
    force: Annotated[bool, typer.Option(help="Replace existing certificates.")] = False,
) -> None:
    """Write a development CA, a server certificate and demo TPP client certificates into certs/."""
    from obank.certs import init_development_certificates

    settings = _settings()
    written = init_development_certificates(settings.certs_dir, force=force)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print("certificates already present (use --force to replace)")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except ProductionSettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(2)


def run_async(coro: object) -> None:
    """Run a coroutine to completion for a CLI command."""
    asyncio.run(coro)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
