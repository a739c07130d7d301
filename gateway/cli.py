"""The `obank` command line: the composition root that wires every context into processes."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from audit import cli as audit_cli
from auth_server import cli as users_cli
from auth_server.oauth.clients import cli as clients_cli
from auth_server.oauth.keys import cli as keys_cli
from core_banking.interest import cli as interest_cli
from core_banking.reconciliation import cli as reconciliation_cli
from obank.settings import ProductionSettingsError, Settings, get_settings

app = typer.Typer(help="obank: a self-hostable FAPI 2.0 open-banking platform.", no_args_is_help=True)
certs_app = typer.Typer(help="Development certificates.", no_args_is_help=True)
app.add_typer(certs_app, name="certs")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(users_cli.app, name="users")
app.add_typer(clients_cli.app, name="clients")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(interest_cli.app, name="interest")
app.add_typer(reconciliation_cli.app)  # a single command: `obank reconcile`
console = Console(stderr=True)

if TYPE_CHECKING:
    from obank.outbox.consumers import ConsumerRegistry
    from obank.runtime import Platform


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


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: OBANK_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: OBANK_PORT or 8443)")] = None,
) -> None:
    """Run the platform over HTTPS (client certificates optional) with the embedded database and demo data."""
    from gateway.app import BackgroundJob, create_app
    from gateway.demo import seed_and_write_demo
    from gateway.scheduler import BankScheduler
    from obank.certs import init_development_certificates
    from obank.embedded_db import stop_embedded_database
    from obank.migrate import upgrade_to_head
    from obank.runtime import build_platform, resolve_database_url
    from obank.server import (
        StopRequested,
        StopSignals,
        TLSFiles,
        bind_socket,
        build_server,
        run_server,
        signals_ignored,
    )

    settings = _settings()
    host = host or settings.host
    try:
        sock = bind_socket(host, settings.port if port is None else port)
    except OSError as exc:
        console.print(f"[red]cannot listen on {host}:{port or settings.port}: {exc}[/red]")
        raise typer.Exit(1) from exc
    # The issuer follows the address actually bound (port 0 picks a free one) unless OBANK_ISSUER is set.
    settings = settings.model_copy(update={"host": host, "port": sock.getsockname()[1]})
    issuer = settings.public_base_url()
    embedded = settings.database_url is None
    with StopSignals() as stop:
        try:
            if not settings.is_production:
                with console.status("Creating development certificates..."):
                    for path in init_development_certificates(settings.certs_dir):
                        console.print(f"wrote {path}")
            files = TLSFiles.from_settings(settings)
            stop.check()
            status = "Starting the embedded PostgreSQL..." if embedded else "Connecting to the database..."
            with console.status(status):
                database_url = resolve_database_url(settings)
            stop.check()
            with console.status("Migrating the database..."):
                upgrade_to_head(database_url)
            stop.check()
            platform = build_platform(settings, database_url)
            background: list[BackgroundJob] = [BankScheduler(platform).run]
            if not settings.kafka_bootstrap_servers:
                background.append(_in_process_relay(platform))
            server = build_server(create_app(platform, background), files)

            async def seed() -> None:
                with console.status("Seeding demo data..."):
                    demo = await seed_and_write_demo(platform, issuer)
                stop.check()
                console.print(f"[green]obank is serving {issuer}[/green]", soft_wrap=True)
                console.print(f"demo: {demo}", soft_wrap=True)
                if files.client_ca_file is not None:
                    console.print(f"client certificates are verified against {files.client_ca_file}", soft_wrap=True)

            run_server(server, sock, before_serving=seed)
        except StopRequested:
            pass
        except Exception:
            # Ctrl-C reaches the whole foreground process group: a child such as initdb dies of it too.
            if stop.received is None:
                raise
        finally:
            with signals_ignored():
                sock.close()
                if embedded:
                    with console.status("Stopping the embedded PostgreSQL..."):
                        stop_embedded_database(settings.data_dir / "pgdata")
        console.print(f"stopped ({stop.received})" if stop.received else "stopped")


@app.command()
def demo() -> None:
    """Seed the demo bank (idempotently) and write var/demo.json."""
    from gateway.demo import seed_and_write_demo
    from obank.runtime import build_platform

    settings = _settings()
    platform = build_platform(settings)

    async def seed() -> None:
        try:
            with console.status("Seeding demo data..."):
                path = await seed_and_write_demo(platform, settings.public_base_url())
            console.print(f"[green]demo bank ready[/green]: {path}", soft_wrap=True)
        finally:
            await platform.close()

    asyncio.run(seed())


@app.command()
def worker() -> None:
    """Run the outbox relay, the scheduled bank jobs and, with Kafka, the event consumers, until a signal."""
    from obank.outbox.worker import run_worker
    from obank.runtime import build_platform

    settings = _settings()
    platform = build_platform(settings)

    async def work() -> None:
        from gateway.scheduler import BankScheduler

        stop = asyncio.Event()
        scheduler = asyncio.create_task(BankScheduler(platform).run(stop))
        try:
            await run_worker(platform, consumer_registry(), stop=stop)
        finally:
            stop.set()
            await scheduler
            await platform.close()

    asyncio.run(work())


def consumer_registry() -> ConsumerRegistry:
    """Every context's event consumers (none of the contexts consumes events yet)."""
    from obank.outbox.consumers import default_registry

    return default_registry()


def _in_process_relay(platform: Platform) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """The outbox relay dispatching to this process's consumers, for `obank serve` without Kafka."""
    from obank.outbox.worker import run_worker

    async def relay(stop: asyncio.Event) -> None:
        await run_worker(platform, consumer_registry(), stop=stop, handle_signals=False)

    return relay


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except ProductionSettingsError as exc:
        console.print(f"[red]{exc}[/red]")
        sys.exit(2)


if __name__ == "__main__":
    main()
