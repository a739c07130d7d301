"""`obank clients ...`: register, inspect and disable OAuth clients; issue initial access tokens."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from auth_server.oauth.clients.schemas import ClientRecord

if TYPE_CHECKING:
    from obank.unit_of_work import UnitOfWork

app = typer.Typer(help="OAuth clients of the authorization server.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")


@app.callback()
def clients() -> None:
    """OAuth clients of the authorization server."""


def _run(command: str, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `work(uow)` in one unit of work acting as `obank clients <command>`; OAuth errors exit 1."""
    from audit.trail import platform_units
    from auth_server.oauth.errors import OAuthError
    from obank.actor import Actor
    from obank.runtime import build_platform
    from obank.settings import get_settings

    async def main() -> T:
        platform = build_platform(get_settings())
        try:
            async with platform_units(platform).begin(Actor.system(f"obank clients {command}")) as uow:
                return await work(uow)
        finally:
            await platform.close()

    try:
        return asyncio.run(main())
    except OAuthError as exc:
        errors.print(f"[red]{exc.error}[/red]: {exc.description}")
        raise typer.Exit(1) from exc


@app.command("list")
def list_clients() -> None:
    """Every registered client."""
    from auth_server.oauth.clients import service

    async def work(uow: UnitOfWork) -> list[ClientRecord]:
        return await service.list_clients(uow.session)

    table = Table("client_id", "name", "auth method", "grants", "status", "first party")
    for client in _run("list", work):
        table.add_row(
            client.client_id,
            client.client_name,
            client.token_endpoint_auth_method,
            " ".join(client.grant_types),
            client.status.value,
            "yes" if client.first_party else "no",
        )
    console.print(table)


@app.command()
def show(client_id: str) -> None:
    """One client's registered metadata, as JSON."""
    from auth_server.oauth.clients import service

    async def work(uow: UnitOfWork) -> ClientRecord:
        return await service.get_client(uow.session, client_id)

    record = _run("show", work)
    console.print_json(json.dumps({**record.metadata(), "status": record.status.value}))


@app.command()
def register(
    metadata_file: Annotated[Path, typer.Argument(help="JSON client metadata (RFC 7591 names).", exists=True)],
    client_id: Annotated[str | None, typer.Option(help="Choose the client id (default: random).")] = None,
    first_party: Annotated[bool, typer.Option(help="The bank's own app (may be a public client).")] = False,
) -> None:
    """Register a client from a metadata file; prints its client id."""
    from auth_server.oauth.clients import service
    from auth_server.oauth.clients.schemas import ClientMetadata

    try:
        metadata = ClientMetadata.model_validate(json.loads(metadata_file.read_text()))
    except (ValueError, ValidationError) as exc:
        errors.print(f"[red]invalid client metadata[/red]: {exc}")
        raise typer.Exit(1) from exc

    async def work(uow: UnitOfWork) -> ClientRecord:
        return await service.register_client(uow, metadata, client_id=client_id, first_party=first_party)

    record = _run("register", work)
    console.print(record.client_id)


@app.command()
def disable(client_id: str) -> None:
    """Disable a client: it can no longer authenticate."""
    from auth_server.oauth.clients import service
    from auth_server.oauth.clients.models import ClientStatus

    async def work(uow: UnitOfWork) -> ClientRecord:
        return await service.set_client_status(uow, client_id, ClientStatus.DISABLED)

    _run("disable", work)
    console.print(f"[yellow]{client_id} disabled[/yellow]")


@app.command("initial-token")
def initial_token() -> None:
    """A single-use initial access token for dynamic client registration (RFC 7591 s3)."""
    from auth_server.oauth.registration import service

    async def work(uow: UnitOfWork) -> tuple[str, Any]:
        return await service.create_initial_access_token(uow)

    token, expires_at = _run("initial-token", work)
    console.print(token)
    errors.print(f"expires at {expires_at.isoformat(timespec='seconds')}; shown once")
