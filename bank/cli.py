"""The `obank` command line: the composition root that wires every context into processes."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import signal
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from audit import cli as audit_cli
from auth_server import cli as users_cli
from auth_server.oauth.clients import cli as clients_cli
from auth_server.oauth.keys import cli as keys_cli
from bank import cli_errors, jobs_cli, mail_cli, secrets_cli
from core_banking.customers import cli as customers_cli
from core_banking.interest import cli as interest_cli
from core_banking.reconciliation import cli as reconciliation_cli
from faster_payments import cli as scheme_cli
from notifications.webhooks import cli as webhooks_cli
from obank.home import data_location
from obank.settings import INTERNAL_ROLES, ProcessKind, ProductionSettingsError, Settings, get_settings

# No locals in tracebacks (OBANK_DEBUG=1): they would print settings and keys.
app = typer.Typer(
    help="obank: a self-hostable FAPI 2.0 open-banking platform.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
certs_app = typer.Typer(help="Development certificates.", no_args_is_help=True)
app.add_typer(certs_app, name="certs")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(users_cli.app, name="users")
app.add_typer(clients_cli.app, name="clients")
app.add_typer(keys_cli.app, name="keys")
keys_cli.app.command("generate")(secrets_cli.generate)
keys_cli.app.command("verification-keys")(secrets_cli.verification_keys)
app.add_typer(customers_cli.app, name="customers")
app.add_typer(interest_cli.app, name="interest")
app.add_typer(reconciliation_cli.app)  # a single command: `obank reconcile`
app.add_typer(scheme_cli.app, name="scheme")
app.add_typer(jobs_cli.app, name="jobs")
app.add_typer(webhooks_cli.app, name="webhooks")
app.add_typer(mail_cli.app, name="mail")
console = Console(stderr=True)

if TYPE_CHECKING:
    from pathlib import Path

    import uvicorn
    from starlette.types import ASGIApp


def _version(shown: bool) -> None:
    if shown:
        try:
            version = importlib.metadata.version("obank")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown (not installed)"
        typer.echo(f"obank {version}")
        raise typer.Exit()


@app.callback()
def obank(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback on an unexpected error.")] = False,
) -> None:
    """obank: a self-hostable FAPI 2.0 open-banking platform."""
    if debug:
        os.environ[cli_errors.DEBUG_VARIABLE] = "1"


def _print_problems(lines: list[str]) -> None:
    for line in lines:
        console.print(line, style="red", markup=False, highlight=False, soft_wrap=True)


def _settings(process: ProcessKind = "serve", **overrides: Any) -> Settings:
    settings = get_settings()
    if overrides:
        settings = settings.model_copy(update=overrides)
    try:
        settings.check_production_ready(process)
    except ProductionSettingsError as exc:
        _print_problems(str(exc).splitlines())
        raise typer.Exit(2) from exc
    from obank.log import configure_logging

    configure_logging(settings.log_level)
    return settings


def _refuse(message: str) -> NoReturn:
    """One red line (printed as is: no markup) and exit 2, for a database a process cannot run on."""
    console.print(message, style="red", markup=False, soft_wrap=True)
    raise typer.Exit(2)


def _require_database(settings: Settings) -> None:
    """Refuse, before anything binds or starts, a process with no database: no URL and no embedded PostgreSQL."""
    from obank.embedded_db import EmbeddedDatabaseUnavailable, embedded_database_installed

    if settings.database_url is None and not embedded_database_installed():
        _refuse(str(EmbeddedDatabaseUnavailable()))


def _prepare_schema(settings: Settings, database_url: str) -> None:
    """Migrate at start where allowed (the embedded database, or OBANK_MIGRATE_ON_START), else require the head."""
    from obank.db_roles import ServiceRoleError
    from obank.migrate import SchemaNotAtHead, check_at_head, migrate_database, migrates_on_start

    try:
        if migrates_on_start(settings):
            with console.status("Migrating the database..."):
                migrate_database(settings.migration_database_url or database_url, settings.database_url)
        else:
            check_at_head(database_url)
    except (SchemaNotAtHead, ServiceRoleError) as exc:
        _refuse(str(exc))


@app.command()
def migrate() -> None:
    """Migrate as the owner role (OBANK_MIGRATION_DATABASE_URL); grant OBANK_DATABASE_URL's role rows, no DDL."""
    from obank.db_roles import ServiceRoleError
    from obank.migrate import migrate_database
    from obank.runtime import resolve_database_url

    settings = _settings("migrate")
    if settings.migration_database_url is None:
        _require_database(settings)
    try:
        with console.status("Migrating the database..."):
            owner_url = settings.migration_database_url or resolve_database_url(settings)
            granted = migrate_database(owner_url, settings.database_url)
    except ServiceRoleError as exc:
        _refuse(str(exc))
    console.print("[green]Database schema is at head.[/green]")
    if granted is not None:
        console.print(
            f"service role {granted.role}: read and write in {', '.join(granted.schemas)}; "
            f"read and insert only in {', '.join(granted.append_only) or 'no table'}; no DDL",
            markup=False,
            soft_wrap=True,
        )


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


class Role(StrEnum):
    """What one `obank serve` process runs."""

    ALL = "all"  # the gateway with every app in-process, and the bank's background jobs
    GATEWAY = "gateway"  # the gateway, core_banking reached over HTTP at OBANK_UPSTREAM_CORE_BANKING_URL
    CORE_BANKING = "core_banking"  # core_banking alone, for gateways to reach over HTTP
    OPEN_BANKING = "open_banking"  # open_banking alone, for gateways to reach at OBANK_UPSTREAM_OPEN_BANKING_URL


def _check_role(settings: Settings, role: Role) -> None:
    """Refuse a role its settings cannot support, before anything starts."""
    problem = None
    if role is Role.ALL and settings.upstream_core_banking_url:
        problem = "--role all serves core_banking in-process; use --role gateway with OBANK_UPSTREAM_CORE_BANKING_URL"
    elif role is Role.ALL and settings.upstream_open_banking_url:
        problem = "--role all serves open_banking in-process; use --role gateway with OBANK_UPSTREAM_OPEN_BANKING_URL"
    elif role is Role.GATEWAY and not settings.upstream_core_banking_url:
        problem = "--role gateway needs OBANK_UPSTREAM_CORE_BANKING_URL (where core_banking is served)"
    elif role is not Role.ALL and not settings.database_url:
        problem = f"--role {role} needs OBANK_DATABASE_URL: processes of one deployment share a database server"
    if problem:
        console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: OBANK_HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default: OBANK_PORT or 8443)")] = None,
    role: Annotated[Role | None, typer.Option(help="What this process runs (default: OBANK_ROLE or all)")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the listening socket (jobs run in the first)")
    ] = 1,
) -> None:
    """Run the platform over HTTPS with the embedded database and demo data, or with `--role` one part of it."""
    settings = _settings(role=role.value) if role is not None else _settings()
    role = Role(settings.role)
    _check_role(settings, role)
    from obank.telemetry import configure_observability

    configure_observability(settings, role.value)  # logs name the role; traces when OBANK_OTLP_ENDPOINT is set
    _require_database(settings)
    from bank.app import create_app
    from bank.demo import seed_and_write_demo
    from bank.health import BackgroundJob
    from bank.jobs import in_process_relay, scheduled_jobs
    from bank.upstreams import core_banking_service_app, open_banking_service_app
    from obank.certs import init_development_certificates
    from obank.embedded_db import stop_embedded_database
    from obank.runtime import build_platform, resolve_database_url
    from obank.server import (
        StopRequested,
        StopSignals,
        TLSFiles,
        bind_socket,
        build_server,
        run_server,
        run_workers,
        signals_ignored,
    )

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
    console.print(
        data_location(settings.home, settings.data_dir, settings.certs_dir, embedded_database=embedded),
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    with StopSignals() as stop:
        try:
            files: TLSFiles | None = None
            if role not in INTERNAL_ROLES:
                if not settings.is_production:
                    with console.status("Creating development certificates..."):
                        for path in init_development_certificates(settings.certs_dir):
                            console.print(f"wrote {path}")
                # Behind the trusted TLS-terminating proxy and given no certificate files: plain HTTP to the proxy.
                if not settings.trusted_proxy_networks or (settings.tls_cert_file and settings.tls_key_file):
                    files = TLSFiles.from_settings(settings)
            elif settings.tls_cert_file and settings.tls_key_file:
                files = TLSFiles(settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file)
            stop.check()
            status = "Starting the embedded PostgreSQL..." if embedded else "Connecting to the database..."
            with console.status(status):
                database_url = resolve_database_url(settings)
            stop.check()
            _prepare_schema(settings, database_url)
            stop.check()
            # Demo logins have published passwords: never in production.
            seed = role not in INTERNAL_ROLES and not settings.is_production

            def serve_here(first: bool = True, seed_here: bool = seed) -> None:
                """One server process: its platform and app; the background jobs only in the first of several."""
                platform = build_platform(settings, database_url)
                background: list[BackgroundJob] = []
                if role in (Role.ALL, Role.CORE_BANKING) and first:
                    background += scheduled_jobs(platform)
                if not settings.kafka_bootstrap_servers and first:
                    background.append(in_process_relay(platform))
                if role in INTERNAL_ROLES:
                    service_app = core_banking_service_app if role is Role.CORE_BANKING else open_banking_service_app
                    served_app = service_app(platform, background)
                    served = f"{role} is serving {'https' if files else 'http'}://{host}:{settings.port}"
                else:
                    served_app = create_app(platform, background)
                    served = f"obank is serving {issuer}"
                    if files is None:
                        served += f" through its proxy, from http://{host}:{settings.port}"
                # Only internal services (and a gateway behind its trusted proxy) go without TLS files: plain HTTP on
                # the internal network, where each request's signed internal assertion, not the connection, is what
                # the service trusts (and the gateway trusts the client certificate only from the proxy's addresses).
                server = _plain_http_server(served_app) if files is None else build_server(served_app, files)

                async def before_serving() -> None:
                    demo = None
                    if seed_here:
                        with console.status("Seeding demo data..."):
                            demo = await seed_and_write_demo(platform, issuer)
                        stop.check()
                    if first:
                        console.print(f"[green]{served}[/green]", soft_wrap=True)
                    if demo is not None:
                        console.print(f"demo: {demo}", soft_wrap=True)
                    if first and files is not None and files.client_ca_file is not None:
                        console.print(
                            f"client certificates are verified against {files.client_ca_file}", soft_wrap=True
                        )

                run_server(server, sock, before_serving=before_serving)

            if workers == 1:
                serve_here()
            else:
                if seed:  # once, before any worker serves
                    with console.status("Seeding demo data..."):
                        demo_path = asyncio.run(_seed_demo(settings, database_url, issuer))
                    console.print(f"demo: {demo_path}", soft_wrap=True)
                stop.check()
                console.print(f"{workers} server processes", soft_wrap=True)
                stop.received = run_workers(workers, lambda index: serve_here(index == 0, seed_here=False))
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


async def _seed_demo(settings: Settings, database_url: str, issuer: str) -> Path:
    """Seed the demo bank on a platform of its own, closed before `obank serve --workers` forks its workers."""
    from bank.demo import seed_and_write_demo
    from obank.runtime import build_platform

    platform = build_platform(settings, database_url)
    try:
        return await seed_and_write_demo(platform, issuer)
    finally:
        await platform.close()


def _plain_http_server(app: ASGIApp) -> uvicorn.Server:
    """uvicorn over plain HTTP, otherwise configured as `obank.server.build_server`."""
    import uvicorn

    config = uvicorn.Config(
        app,
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    return uvicorn.Server(config)


@app.command()
def demo() -> None:
    """Seed the demo bank (idempotently) and write var/demo.json."""
    from bank.demo import seed_and_write_demo
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
    from obank.metrics import metrics_listeners
    from obank.outbox.worker import run_worker
    from obank.runtime import build_platform, resolve_database_url
    from obank.telemetry import configure_observability

    settings = _settings("worker")
    configure_observability(settings, "worker")
    _require_database(settings)
    database_url = resolve_database_url(settings)
    _prepare_schema(settings, database_url)
    platform = build_platform(settings, database_url)

    async def work() -> None:
        from bank.jobs import consumer_registry, scheduled_jobs

        stop = asyncio.Event()
        jobs = [asyncio.create_task(job(stop)) for job in [*scheduled_jobs(platform), *metrics_listeners(platform)]]
        try:
            await run_worker(platform, consumer_registry(platform), stop=stop)
        finally:
            stop.set()
            await asyncio.gather(*jobs, return_exceptions=True)
            await platform.close()

    asyncio.run(work())


@scheme_cli.app.command("run")
def scheme_run() -> None:
    """Run the simulated Faster Payments scheme as a process of its own: its Kafka consumer group and the
    delivery of its messages to the bank. Give the bank's processes OBANK_SCHEME_EMBEDDED=false."""
    from faster_payments.dispatcher import run_dispatcher
    from faster_payments.registry import ensure_registry
    from obank.database import unit_of_work
    from obank.metrics import metrics_listeners
    from obank.outbox.kafka import KafkaConsumerRunner
    from obank.runtime import build_platform
    from obank.telemetry import configure_observability

    settings = _settings("scheme")
    configure_observability(settings, "scheme")
    if not settings.kafka_bootstrap_servers:
        console.print("[red]`obank scheme run` talks to the bank over Kafka: set OBANK_KAFKA_BOOTSTRAP_SERVERS.[/red]")
        raise typer.Exit(2)
    platform = build_platform(settings)

    async def work() -> None:
        from bank.jobs import scheme_registry

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            async with unit_of_work(platform.sessions) as session:
                await ensure_registry(session)
            registry = scheme_registry(platform)
            platform.metrics.watch_consumers(registry)  # their lag on /metrics
            runner = KafkaConsumerRunner(
                settings.kafka_bootstrap_servers or "",
                settings.kafka_topic_prefix,
                registry,
                platform.sessions,
                partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            listeners = [job(stop) for job in metrics_listeners(platform)]
            await asyncio.gather(runner.run(stop), run_dispatcher(platform.sessions, stop), *listeners)
        finally:
            await platform.close()

    asyncio.run(work())


def main() -> None:
    """Console-script entry point: a bad setting prints one line each and exits 2, an expected failure one line
    and exits 1; an unexpected error shows its traceback only when debugging (OBANK_DEBUG=1 or --debug)."""
    try:
        app()
    except Exception as exc:
        problems = cli_errors.settings_problems(exc)
        if problems is not None:
            _print_problems(problems)
            sys.exit(2)
        problem = cli_errors.operational_problem(exc)
        if problem is not None and not cli_errors.debugging():
            _print_problems([problem])
            sys.exit(1)
        if cli_errors.debugging():
            raise
        _print_problems(cli_errors.unexpected_problem(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
