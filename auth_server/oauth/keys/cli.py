"""`obank keys ...`: the authorization server's signing keys."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.table import Table

from auth_server.oauth.keys.service import KeyInfo

HELP = "Signing keys of the authorization server (list, rotate); a deployment's secrets (generate)."
app = typer.Typer(help=HELP, no_args_is_help=True)
console = Console()


@app.callback()
def keys() -> None:
    """Signing keys of the authorization server (list, rotate); a deployment's secrets (generate)."""


def _table(rows: list[KeyInfo]) -> Table:
    table = Table("kid", "purpose", "alg", "status", "created", "published until")
    for key in rows:
        until = "while active" if key.publish_until is None else key.publish_until.isoformat(timespec="seconds")
        table.add_row(
            key.kid, key.purpose.value, key.alg, key.status.value, key.created_at.isoformat(timespec="seconds"), until
        )
    return table


@app.command("list")
def list_keys() -> None:
    """Every signing key, with its status and how long it stays published."""
    console.print(_table(asyncio.run(_list())))


@app.command()
def rotate() -> None:
    """Activate new token (ES256, PS256) and message (PS256) keys; the old ones stay published a while."""
    created = asyncio.run(_rotate())
    console.print(f"[green]Signing keys rotated[/green]: new kids {', '.join(created)}")


async def _list() -> list[KeyInfo]:
    from auth_server.oauth.keys import service
    from obank.runtime import build_platform
    from obank.settings import get_settings

    platform = build_platform(get_settings())
    try:
        async with platform.sessions() as session, session.begin():
            return await service.list_keys(session)
    finally:
        await platform.close()


async def _rotate() -> list[str]:
    from audit.trail import platform_units
    from auth_server.oauth.config import OAuthConfig
    from auth_server.oauth.keys import service
    from obank.actor import Actor
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    platform = build_platform(settings)
    try:
        async with platform_units(platform).begin(Actor.system("obank keys rotate")) as uow:
            return await service.rotate_signing_keys(uow, OAuthConfig.from_settings(settings))
    finally:
        await platform.close()
